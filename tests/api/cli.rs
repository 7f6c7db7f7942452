//! The command line, run as the real binary against the test's database.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    command, corridor, run, spawn_app, spawn_unmigrated_app, Backend, MailSink, Served, PASSWORD,
};

async fn serve_creates_the_first_admin_once_and_shows_its_password_once(backend: Backend) {
    let app = spawn_unmigrated_app(backend).await;
    let first = Served::start(&app, &[]);
    // Standard output is a pipe here, not a terminal: the password goes to
    // an owner-only file in the data folder, and only its path is printed.
    let file = app.config.server.data_dir.join("first-admin-password");
    first
        .wait_for("the path of the password file", async || {
            first
                .output()
                .contains("first-admin-password")
                .then_some(())
        })
        .await;
    let absolute = std::fs::canonicalize(&file).unwrap();
    assert!(
        first.output().contains(&absolute.display().to_string()),
        "{}",
        first.output()
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }
    let written = std::fs::read_to_string(&file).unwrap();
    let password = written
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_string();
    assert_eq!(password.len(), 20, "{password}");
    first.wait_until_up(&app).await;
    let email = "admin@corridor.local";
    assert_eq!(first.login(&app, email, &password).await, 200);
    assert!(
        !first.output().contains(&password),
        "never in the log: {}",
        first.output()
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
    let (_, code) = app.case_overdue_by_the_real_clock().await;
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

/// Signs in on `served` and reads back what the backup should hold: case
/// `kept` with its sealed name, and not case `later`.
async fn assert_restored(
    app: &crate::helpers::TestApp,
    served: &Served,
    kept: &Value,
    later: &Value,
) {
    served.wait_until_up(app).await;
    let token = served.token(app, crate::helpers::ADMIN_EMAIL).await;
    let get = async |path: String| {
        let mut reply = app
            .client
            .get(served.url(&path))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .unwrap();
        let body: Value = reply.json().await.unwrap_or(Value::Null);
        (reply.status().as_u16(), body)
    };
    let (status, list) = get("cases".into()).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(codes.contains(&kept["code"].as_str().unwrap()), "{codes:?}");
    assert!(
        !codes.contains(&later["code"].as_str().unwrap()),
        "{codes:?}"
    );
    let (status, personal) = get(format!("cases/{}/personal", kept["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{personal}");
    assert_eq!(
        personal["legal_name"], "Ada Restore-Test",
        "the same master key opens it"
    );
}

async fn backup_copies_the_database_while_it_serves_and_restores(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let kept = app.create_case(&admin, json!({})).await;
    let path = format!("cases/{}/personal", kept["id"].as_str().unwrap());
    let reply = app
        .put(&path)
        .token(&admin)
        .json(json!({ "legal_name": "Ada Restore-Test" }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let dir = app.config.server.data_dir.parent().unwrap().to_path_buf();
    let file = dir.join("backup.db");
    let file_arg = file.to_str().unwrap();
    let (ok, out) = corridor(&app, "", &["backup", file_arg]);
    match backend {
        Backend::Sqlite => {
            // The server runs all along; the copy is one consistent snapshot.
            assert!(ok, "{out}");
            assert!(out.contains("master key"), "{out}");
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "owner-only");
            let (again, refused) = corridor(&app, "", &["backup", file_arg]);
            assert!(!again && refused.contains("exists already"), "{refused}");
            let later = app.create_case(&admin, json!({})).await;
            // Restore: the copy becomes the database of a service with the
            // same data folder (its master key).
            let restored = dir.join("restored.db");
            std::fs::copy(&file, &restored).unwrap();
            let url = format!("sqlite://{}", restored.display());
            let served = Served::start(&app, &[("CORRIDOR_DATABASE_URL", &url)]);
            assert_restored(&app, &served, &kept, &later).await;
        }
        Backend::Postgres => {
            assert!(!ok && out.contains("pg_dump"), "{out}");
            assert!(!file.exists(), "nothing written");
            // The way the README and the command say: pg_dump, pg_restore.
            let dump = dir.join("corridor.dump");
            let status = std::process::Command::new("pg_dump")
                .args(["--format=custom", "--file", dump.to_str().unwrap()])
                .args(["--dbname", &app.db.url])
                .status()
                .expect("pg_dump is installed with PostgreSQL");
            assert!(status.success());
            let later = app.create_case(&admin, json!({})).await;
            let target = crate::helpers::TestDb::create(Backend::Postgres, &dir);
            let status = std::process::Command::new("pg_restore")
                .args([
                    "--no-owner",
                    "--dbname",
                    &target.url,
                    dump.to_str().unwrap(),
                ])
                .status()
                .expect("pg_restore");
            assert!(status.success());
            let served = Served::start(&app, &[("CORRIDOR_DATABASE_URL", &target.url)]);
            assert_restored(&app, &served, &kept, &later).await;
            drop(served);
        }
    }
}

backend_tests!(
    backup_copies_the_database_while_it_serves_and_restores,
    serve_creates_the_first_admin_once_and_shows_its_password_once,
    serve_runs_the_stall_scan_and_the_email_sender_in_the_background,
    users_create_makes_an_account_that_signs_in,
    stalls_scan_raises_and_sends_the_alerts_of_stalled_cases,
    digest_send_sends_this_weeks_email_once,
);
