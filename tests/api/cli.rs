//! The command line, run as the real binary against the test's database.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration as Wait, Instant};

use chrono::{Duration, Utc};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_unmigrated_app, Backend, MailSink, TestApp, PASSWORD};

/// `corridor` with the test's database and data folder, and `smtp_url`.
fn command(app: &TestApp, smtp_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corridor"));
    command
        .args(args)
        .env("CORRIDOR_DATABASE_URL", &app.db.url)
        .env("CORRIDOR_SERVER_DATA_DIR", &app.config.server.data_dir)
        .env("CORRIDOR_SMTP_URL", smtp_url)
        .env("RUST_LOG", "warn");
    command
}

fn corridor(app: &TestApp, smtp_url: &str, args: &[&str]) -> (bool, String) {
    corridor_with_input(app, smtp_url, args, "")
}

fn corridor_with_input(
    app: &TestApp,
    smtp_url: &str,
    args: &[&str],
    input: &str,
) -> (bool, String) {
    let mut child = command(app, smtp_url, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run corridor");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("corridor finishes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `corridor serve` running as its own process; killed when dropped.
struct Served {
    child: Child,
    address: String,
    output: Arc<Mutex<String>>,
}

impl Served {
    fn start(app: &TestApp, envs: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bind = format!("127.0.0.1:{port}");
        let mut child = command(app, "", &["serve"])
            .env("CORRIDOR_BIND", &bind)
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start corridor serve");
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut text = output.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            });
        }
        Self {
            child,
            address: format!("http://{bind}"),
            output,
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (up to 20 s, polling) until `ready` holds.
    async fn wait_for<T>(&self, what: &str, mut ready: impl AsyncFnMut() -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(value) = ready().await {
                return value;
            }
            assert!(
                started.elapsed() < Wait::from_secs(20),
                "gave up waiting for {what}; output:\n{}",
                self.output()
            );
            actix_web::rt::time::sleep(Wait::from_millis(100)).await;
        }
    }

    /// Waits until the server answers `/healthz`.
    async fn wait_until_up(&self, app: &TestApp) {
        let url = format!("{}/healthz", self.address);
        self.wait_for("the server to answer", async || {
            let reply = app.client.get(&url).send().await.ok()?;
            (reply.status() == 200).then_some(())
        })
        .await
    }

    async fn login(&self, app: &TestApp, email: &str, password: &str) -> u16 {
        let url = format!("{}/api/v1/auth/login", self.address);
        let body = json!({ "email": email, "password": password });
        app.client
            .post(url)
            .send_json(&body)
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let (ok, out) = corridor_with_input(&app, "", &args, &format!("{PASSWORD}\n"));
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
    let (ok, again) = corridor_with_input(&app, "", &args, PASSWORD);
    assert!(
        !ok && again.contains("a user with this email exists already"),
        "{again}"
    );
    let mut bad_role = args;
    bad_role[7] = "superuser";
    let (ok, refused) = corridor_with_input(&app, "", &bad_role, PASSWORD);
    assert!(
        !ok && refused.contains("--role must be one of admin, coordinator, observer"),
        "{refused}"
    );
    let (ok, short) = corridor_with_input(&app, "", &args, "short\n");
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
