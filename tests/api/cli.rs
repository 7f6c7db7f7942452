//! The command line, run as the real binary against the test's database.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{
    command, corridor, run, spawn_app, spawn_unmigrated_app, Backend, MailSink, Served, PASSWORD,
};

async fn serve_creates_the_first_admin_once_and_shows_its_password_once(backend: Backend) {
    let app = spawn_unmigrated_app(backend).await;
    let first = Served::start(&app, &[]);
    let password = first
        .wait_for("the one-time password", async || {
            let output = first.output();
            let line = output.lines().find(|l| l.trim().starts_with("password:"))?;
            Some(
                line.trim()
                    .trim_start_matches("password:")
                    .trim()
                    .to_string(),
            )
        })
        .await;
    assert_eq!(password.len(), 20, "{password}");
    first.wait_until_up(&app).await;
    let email = "admin@corridor.local";
    assert_eq!(first.login(&app, email, &password).await, 200);
    assert_eq!(
        first.output().matches(&password).count(),
        1,
        "shown once, never logged"
    );
    drop(first);
    let second = Served::start(&app, &[]);
    second.wait_until_up(&app).await;
    assert_eq!(second.login(&app, email, &password).await, 200);
    assert!(
        !second.output().contains("First start"),
        "{}",
        second.output()
    );
}

async fn serve_runs_the_stall_scan_and_the_email_sender_in_the_background(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    // The binary runs on the real clock: make the case four days old by it.
    app.clock.set(Utc::now() - Duration::days(4));
    let admin = app.admin_token().await;
    let code = app.create_case(&admin, json!({})).await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let served = Served::start(
        &app,
        &[
            ("CORRIDOR_SMTP_URL", &sink.url),
            ("CORRIDOR_STALL_SCAN_EVERY", "1s"),
            ("CORRIDOR_EMAIL_SEND_EVERY", "1s"),
        ],
    );
    let subject = format!("[Corridor] {code} needs attention: stage overdue");
    let mail = served
        .wait_for("the alert email", async || {
            sink.mails().into_iter().find(|m| m.subject() == subject)
        })
        .await;
    assert_eq!(
        mail.to,
        [crate::helpers::ADMIN_EMAIL],
        "no coordinator: the admins"
    );
}

async fn users_create_makes_an_account_that_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let args = [
        "users",
        "create",
        "--email",
        "Zelim@Example.org",
        "--name",
        "Zelim",
        "--role",
        "coordinator",
        "--password-stdin",
    ];
    let (ok, out) = run(command(&app, "", &args), &format!("{PASSWORD}\n"));
    assert!(ok, "{out}");
    assert!(
        out.starts_with("created coordinator zelim@example.org ("),
        "{out}"
    );
    assert!(!out.contains(PASSWORD), "the password is never printed");
    let token = app.token_for("zelim@example.org").await;
    let me = app.get("me").token(&token).send().await;
    assert_eq!(
        (me.body["display_name"].as_str(), me.body["role"].as_str()),
        (Some("Zelim"), Some("coordinator"))
    );
    let (ok, again) = run(command(&app, "", &args), PASSWORD);
    assert!(
        !ok && again.contains("a user with this email exists already"),
        "{again}"
    );
    let mut bad_role = args;
    bad_role[7] = "superuser";
    let (ok, refused) = run(command(&app, "", &bad_role), PASSWORD);
    assert!(
        !ok && refused.contains("--role must be one of admin, coordinator, observer"),
        "{refused}"
    );
    let (ok, short) = run(command(&app, "", &args), "short\n");
    assert!(!ok && short.contains("at least 12 characters"), "{short}");
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
        out.contains(&format!("raised stage_overdue on {code} (intake): ")),
        "{out}"
    );
    assert!(out.contains("1 alert(s) raised, 0 escalated"), "{out}");
    assert!(out.contains("emails: 1 sent, 0 failed"), "{out}");
    let (ok, again) = corridor(&app, &sink.url, &["stalls", "scan"]);
    assert!(
        ok && again.contains("0 alert(s) raised, 0 escalated"),
        "{again}"
    );
    assert_eq!(sink.mails().len(), 1);
    app.assert_outbox_drained().await;
}

async fn digest_send_sends_this_weeks_email_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let (ok, out) = corridor(&app, &sink.url, &["digest", "send"]);
    assert!(ok && out.contains("queued for 1 recipient(s)"), "{out}");
    let (ok, again) = corridor(&app, &sink.url, &["digest", "send"]);
    assert!(
        ok && again.contains("was sent already; nothing new"),
        "{again}"
    );
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(sink.mails()[0].to, [crate::helpers::ADMIN_EMAIL]);
    app.assert_outbox_drained().await;
}

backend_tests!(
    serve_creates_the_first_admin_once_and_shows_its_password_once,
    serve_runs_the_stall_scan_and_the_email_sender_in_the_background,
    users_create_makes_an_account_that_signs_in,
    stalls_scan_raises_and_sends_the_alerts_of_stalled_cases,
    digest_send_sends_this_weeks_email_once,
);
