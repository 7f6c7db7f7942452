//! The command line, run as the real binary against the test's database.

use std::process::Command;

use chrono::{Duration, Utc};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, MailSink, TestApp};

fn corridor(app: &TestApp, smtp_url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(args)
        .env("CORRIDOR_DATABASE_URL", &app.db.url)
        .env("CORRIDOR_SERVER_DATA_DIR", &app.config.server.data_dir)
        .env("CORRIDOR_SMTP_URL", smtp_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run corridor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn stalls_scan_raises_and_sends_the_alerts_of_stalled_cases(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    // The binary runs on the real clock: make the case four days old by it.
    app.clock.set(Utc::now() - Duration::days(4));
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let code = case["code"].as_str().unwrap();
    let (ok, out) = corridor(&app, &sink.url, &["stalls", "scan"]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("raised stage_overdue on {code}")),
        "{out}"
    );
    assert!(out.contains("1 sent"), "{out}");
    let (ok, again) = corridor(&app, &sink.url, &["stalls", "scan"]);
    assert!(ok && again.contains("0 alert(s) raised"), "{again}");
    assert_eq!(sink.mails().len(), 1);
}

async fn digest_send_sends_this_weeks_email_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let (ok, out) = corridor(&app, &sink.url, &["digest", "send"]);
    assert!(ok && out.contains("queued for 1 recipient"), "{out}");
    let (ok, again) = corridor(&app, &sink.url, &["digest", "send"]);
    assert!(ok && again.contains("nothing new"), "{again}");
    assert_eq!(sink.mails().len(), 1);
}

backend_tests!(
    stalls_scan_raises_and_sends_the_alerts_of_stalled_cases,
    digest_send_sends_this_weeks_email_once
);
