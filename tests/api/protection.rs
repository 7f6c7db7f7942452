//! The master key: a wrong one refused at start, rotation to a new one,
//! the one-time sealing of notes stored in clear before notes were sealed;
//! and a canary sweep that looks for personal data everywhere it must not
//! be.

use base64::Engine;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    command, corridor, run, spawn_app, spawn_unmigrated_app, Backend, MailSink, Served, TestApp,
    ADMIN_EMAIL, PASSWORD,
};

fn other_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

async fn a_master_key_that_did_not_seal_the_data_is_refused_at_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(&format!("cases/{case}/personal"))
        .token(&admin)
        .json(json!({ "alias": "A" }))
        .await;
    for args in [&["migrate"][..], &["serve"][..]] {
        let mut wrong = command(&app, "", args);
        wrong
            .env("CORRIDOR_MASTER_KEY", other_key())
            .env("CORRIDOR_BIND", "127.0.0.1:0");
        let (ok, out) = run(wrong, "");
        assert!(!ok, "{args:?}: {out}");
        assert!(
            out.contains("the master key does not open this database's personal data"),
            "{args:?}: {out}"
        );
    }
    let mut malformed = command(&app, "", &["migrate"]);
    malformed.env("CORRIDOR_MASTER_KEY", "not a key");
    let (ok, out) = run(malformed, "");
    assert!(
        !ok && out.contains("CORRIDOR_MASTER_KEY: a master key is base64 of 32 bytes"),
        "{out}"
    );
    let (ok, out) = corridor(&app, "", &["migrate"]);
    assert!(ok, "the right key still opens it: {out}");
}

async fn after_a_rotation_only_the_new_key_opens_the_data(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let personal = format!("cases/{case}/personal");
    app.put(&personal)
        .token(&admin)
        .json(json!({ "legal_name": "Rotated Person" }))
        .await;
    app.post(&format!("cases/{case}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "phone", "note": "still fine" }))
        .await;
    let old_key = std::fs::read_to_string(app.config.server.data_dir.join("master.key")).unwrap();
    let new_file = app.config.server.data_dir.join("next.key");
    let new_path = new_file.to_str().unwrap();
    let (ok, out) = corridor(&app, "", &["keys", "generate", new_path]);
    assert!(ok, "{out}");
    let (ok, out) = corridor(&app, "", &["keys", "rotate", "--new-key-file", new_path]);
    assert!(ok, "{out}");
    assert!(out.contains("re-wrapped 1 case key(s)"), "{out}");
    let new_key = std::fs::read_to_string(&new_file).unwrap();
    let in_place = std::fs::read_to_string(app.config.server.data_dir.join("master.key")).unwrap();
    assert_eq!(
        in_place, new_key,
        "data_dir/master.key now holds the new key"
    );
    app.reopen().await;
    let read = app.get(&personal).token(&admin).send().await;
    assert_eq!(read.body["legal_name"], "Rotated Person", "{}", read.text);
    let events = app
        .get(&format!("cases/{case}/events"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(events.body["items"][1]["detail"]["note"], "still fine");
    let mut old = command(&app, "", &["migrate"]);
    old.env("CORRIDOR_MASTER_KEY", old_key.trim());
    let (ok, out) = run(old, "");
    assert!(
        !ok && out.contains("does not open"),
        "the old key opens nothing: {out}"
    );
}

/// Migrations 1 to 3 only: a database as Corridor left it before notes
/// were sealed.
async fn migrate_to_before_sealing(app: &TestApp) {
    let pool = app.pool().await;
    corridor::db::run(&pool, |conn| {
        use diesel_migrations::MigrationHarness;
        for _ in 0..3 {
            match conn {
                corridor::db::DbConnection::Sqlite(c) => {
                    c.run_next_migration(corridor::db::SQLITE_MIGRATIONS)
                        .unwrap();
                }
                corridor::db::DbConnection::Postgresql(c) => {
                    c.run_next_migration(corridor::db::POSTGRES_MIGRATIONS)
                        .unwrap();
                }
            }
        }
        Ok(())
    })
    .await
    .unwrap();
}

async fn notes_stored_in_clear_before_are_sealed_once_and_the_timeline_closed_again(
    backend: Backend,
) {
    let mut app = spawn_unmigrated_app(backend).await;
    migrate_to_before_sealing(&app).await;
    let case = uuid::Uuid::now_v7().to_string();
    let event = |n: u32, kind: &str, detail: &str| {
        format!(
            "INSERT INTO case_events (id, case_id, kind, at, actor_kind, detail) VALUES \
             ('{case}-{n}', '{case}', '{kind}', '2026-11-20 10:00:00', 'system', '{detail}');"
        )
    };
    app.sql(&format!(
        "INSERT INTO cases (id, code, stage, risk_level, household_size, needs, stage_entered_at, \
         created_at, updated_at, version) VALUES ('{case}', 'EV-CAFE22', 'transit', 'high', 1, '[]', \
         '2026-11-20 10:00:00', '2026-11-20 10:00:00', '2026-11-20 10:00:00', 2); {}{}{}",
        event(1, "created", r#"{"stage":"intake"}"#),
        event(2, "transition", r#"{"note":"Clear-Note-Canary"}"#),
        event(3, "snooze", r#"{"until":"2026-12-01T00:00:00Z","reason":"Clear-Reason-Canary"}"#),
    ))
    .await;
    let (ok, out) = corridor(&app, "", &["migrate"]);
    assert!(ok, "{out}");
    let details = app
        .texts(&format!(
            "SELECT detail AS t FROM case_events WHERE case_id = '{case}' ORDER BY id"
        ))
        .await;
    assert_eq!(
        details,
        [
            r#"{"stage":"intake"}"#,
            r#"{"note":null}"#,
            r#"{"reason":null,"until":"2026-12-01T00:00:00Z"}"#,
        ]
    );
    assert_eq!(
        app.texts("SELECT event_id AS t FROM event_notes ORDER BY event_id")
            .await
            .len(),
        2
    );
    // Closed again: the timeline refuses updates.
    let refused = app
        .texts(&format!(
            "SELECT id AS t FROM case_events WHERE case_id = '{case}'"
        ))
        .await;
    assert_eq!(refused.len(), 3);
    let pool = app.pool().await;
    let update = format!("UPDATE case_events SET detail = '{{}}' WHERE case_id = '{case}'");
    let failed = corridor::db::run(&pool, move |conn| {
        use diesel::connection::SimpleConnection;
        Ok(conn.batch_execute(&update).is_err())
    })
    .await
    .unwrap();
    assert!(failed, "case_events is append-only again");
    // Staff read the notes as before.
    app.reopen().await;
    let token = staff_token(&app).await;
    let events = app
        .get(&format!("cases/{case}/events"))
        .token(&token)
        .send()
        .await;
    let read: Vec<&Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["detail"])
        .collect();
    assert_eq!(
        read[1],
        &json!({ "note": "Clear-Note-Canary", "has_note": true })
    );
    assert_eq!(
        read[2],
        &json!({ "reason": "Clear-Reason-Canary", "until": "2026-12-01T00:00:00Z", "has_note": true })
    );
    let (ok, again) = corridor(&app, "", &["migrate"]);
    assert!(ok, "{again}");
    assert_eq!(
        app.texts("SELECT event_id AS t FROM event_notes")
            .await
            .len(),
        2,
        "once"
    );
}

/// A staff token on an app whose database was made by hand.
async fn staff_token(app: &TestApp) -> String {
    let mut create = command(
        app,
        "",
        &[
            "users",
            "create",
            "--email",
            "clerk@corridor.test",
            "--name",
            "Clerk",
            "--role",
            "admin",
            "--password-stdin",
        ],
    );
    create.env("RUST_LOG", "warn");
    let (ok, out) = run(create, PASSWORD);
    assert!(ok, "{out}");
    app.token_for("clerk@corridor.test").await
}

/// Strings written through every personal and free-text field.
const CANARIES: [&str; 10] = [
    "CanaryLegalName4417",
    "CanaryAlias5521",
    "CanaryHandle6610",
    "CanaryNotes7702",
    "CanaryTransition8813",
    "CanaryContact9924",
    "CanaryCheckin1035",
    "CanaryAck2146",
    "CanaryReason3257",
    "CanaryRefused4368",
];

async fn no_personal_text_is_found_in_the_database_the_log_the_emails_or_error_bodies(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let served = Served::start(
        &app,
        &[
            ("CORRIDOR_SMTP_URL", &sink.url),
            ("CORRIDOR_EMAIL_SEND_EVERY", "1s"),
            ("RUST_LOG", "debug"),
        ],
    );
    served.wait_until_up(&app).await;
    let api = |path: &str| format!("{}/api/v1/{path}", served.address);
    let login = app
        .client
        .post(api("auth/login"))
        .send_json(&json!({ "email": ADMIN_EMAIL, "password": PASSWORD }));
    let token: Value = login.await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let mut bodies = Vec::new();
    let mut call =
        async |method: &str, path: &str, body: Option<Value>, key: Option<&str>| -> Value {
            let request = app.client.request(method.parse().unwrap(), api(path));
            let request = match key {
                Some(key) => request.insert_header(("X-API-Key", key)),
                None => request.insert_header(("Authorization", bearer.as_str())),
            };
            let mut reply = match body {
                Some(body) => request.send_json(&body).await.unwrap(),
                None => request.send().await.unwrap(),
            };
            let text = String::from_utf8_lossy(&reply.body().await.unwrap()).to_string();
            bodies.push((reply.status().as_u16(), text.clone()));
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
    app.user(Role::Coordinator).await;
    let shelter = call(
        "POST",
        "shelters",
        Some(json!({ "name": "S", "country": "LT", "capacity": 5 })),
        None,
    )
    .await;
    let shelter = shelter["id"].as_str().unwrap().to_string();
    let case = call("POST", "cases", Some(json!({})), None).await;
    let (id, code) = (
        case["id"].as_str().unwrap().to_string(),
        case["code"].as_str().unwrap().to_string(),
    );
    let personal = json!({
        "legal_name": CANARIES[0], "alias": CANARIES[1], "date_of_birth": "1987-06-05",
        "contacts": [{ "channel": "signal", "value": CANARIES[2] }], "notes": CANARIES[3],
    });
    call("PUT", &format!("cases/{id}/personal"), Some(personal), None).await;
    call("GET", &format!("cases/{id}/personal"), None, None).await;
    call(
        "POST",
        &format!("cases/{id}/transitions"),
        Some(json!({ "to": "safe_house", "shelter_id": shelter, "note": CANARIES[4] })),
        None,
    )
    .await;
    call(
        "POST",
        &format!("cases/{id}/contacts"),
        Some(json!({ "channel": "phone", "note": CANARIES[5] })),
        None,
    )
    .await;
    let key = call(
        "POST",
        &format!("shelters/{shelter}/api-keys"),
        Some(json!({ "label": "desk" })),
        None,
    )
    .await;
    let key = key["key"].as_str().unwrap().to_string();
    call(
        "POST",
        &format!("partner/cases/{code}/checkins"),
        Some(json!({ "kind": "needs_help", "note": CANARIES[6] })),
        Some(&key),
    )
    .await;
    call("GET", "partner/cases", None, Some(&key)).await;
    let alerts = call("GET", "alerts", None, None).await;
    let alert = alerts["items"][0]["id"].as_str().unwrap().to_string();
    call(
        "POST",
        &format!("alerts/{alert}/ack"),
        Some(json!({ "note": CANARIES[7] })),
        None,
    )
    .await;
    call(
        "POST",
        &format!("cases/{id}/snooze"),
        Some(json!({ "until": "2027-01-01T00:00:00Z", "reason": CANARIES[8] })),
        None,
    )
    .await;
    // Refused requests carrying canaries.
    let refused = [
        (
            "PUT",
            format!("cases/{id}/personal"),
            json!({ "legal_name": CANARIES[9].repeat(30) }),
        ),
        (
            "PUT",
            format!("cases/{id}/personal"),
            json!({ "contacts": [{ "channel": CANARIES[9], "value": "x" }] }),
        ),
        (
            "POST",
            format!("cases/{id}/contacts"),
            json!({ "channel": CANARIES[9], "note": CANARIES[9] }),
        ),
        (
            "POST",
            format!("cases/{id}/contacts"),
            json!({ "channel": "phone", "note": CANARIES[9].repeat(200) }),
        ),
        (
            "POST",
            "cases".to_string(),
            json!({ "origin_region": CANARIES[9].repeat(10), "household_size": CANARIES[9] }),
        ),
    ];
    for (method, path, body) in refused {
        call(method, &path, Some(body), None).await;
    }
    let events = call("GET", &format!("cases/{id}/events"), None, None).await;
    assert_eq!(
        events["items"][1]["detail"]["note"], CANARIES[4],
        "staff read the notes"
    );
    let (ok, out) = corridor(&app, &sink.url, &["digest", "send"]);
    assert!(ok, "{out}");
    // The served process queued this week's digest when it started; with the
    // alert of the check-in, two emails.
    served
        .wait_for("the digest and the alert", async || {
            (sink.mails().len() == 2).then_some(())
        })
        .await;
    let (statuses, texts): (Vec<u16>, Vec<String>) = bodies.into_iter().unzip();
    assert!(
        statuses.iter().filter(|s| **s >= 400).count() >= 5,
        "{statuses:?}"
    );
    let errors: Vec<&String> = texts
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| **s >= 400)
        .map(|(t, _)| t)
        .collect();
    let mails: Vec<String> = sink.mails().into_iter().map(|m| m.data).collect();
    let stored = stored_text(&app, backend).await;
    let log = served.output();
    for canary in CANARIES {
        let hex = canary
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        assert!(
            !stored.contains(canary) && !stored.contains(&hex),
            "{canary} is stored in clear"
        );
        assert!(!log.contains(canary), "{canary} in the log");
        assert!(
            mails.iter().all(|m| !m.contains(canary)),
            "{canary} in an email"
        );
        assert!(
            errors.iter().all(|t| !t.contains(canary)),
            "{canary} in an error body"
        );
    }
    assert!(
        log.contains("POST /api/v1/cases/{id}/personal")
            || log.contains("PUT /api/v1/cases/{id}/personal"),
        "{log}"
    );
}

/// Everything the database holds, as text: the SQLite file and its WAL, or
/// every row of every table on PostgreSQL (bytea as hex).
async fn stored_text(app: &TestApp, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let path = app.db.url.trim_start_matches("sqlite://").to_string();
            let mut text = String::new();
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            text
        }
        Backend::Postgres => {
            let tables = app
                .texts("SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'public'")
                .await;
            let mut text = String::new();
            for table in tables {
                let rows = app
                    .texts(&format!("SELECT r::text AS t FROM \"{table}\" r"))
                    .await;
                text.push_str(&rows.join("\n"));
            }
            text
        }
    }
}

async fn a_key_file_others_can_read_is_warned_of_and_refused_by_the_key_commands(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app(backend).await;
    let key = app.config.server.data_dir.join("master.key");
    let mode = |m| std::fs::Permissions::from_mode(m);
    std::fs::set_permissions(&key, mode(0o644)).unwrap();
    // Serving goes on, saying so.
    let served = Served::start(&app, &[]);
    served.wait_until_up(&app).await;
    let (_, out) = served.terminate();
    assert!(
        out.contains("can be read by others than its owner (mode 644)"),
        "{out}"
    );
    // The key commands refuse, changing nothing.
    let next = app.config.server.data_dir.join("next.key");
    let next_path = next.to_str().unwrap();
    let (ok, out) = corridor(&app, "", &["keys", "generate", next_path]);
    assert!(ok, "{out}");
    let before = std::fs::read_to_string(&key).unwrap();
    let (ok, out) = corridor(&app, "", &["keys", "rotate", "--new-key-file", next_path]);
    assert!(!ok && out.contains("can be read by others"), "{out}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
    std::fs::set_permissions(&key, mode(0o600)).unwrap();
    std::fs::set_permissions(&next, mode(0o604)).unwrap();
    let (ok, out) = corridor(&app, "", &["keys", "rotate", "--new-key-file", next_path]);
    assert!(!ok && out.contains("mode 604"), "{out}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
}

async fn a_start_refused_takes_back_the_key_it_generated(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.config.server.data_dir.join("master.key");
    let kept = app.config.server.data_dir.join("kept.key");
    std::fs::rename(&key, &kept).unwrap();
    // No key file: one is generated, does not open this database's data,
    // and goes again with the refusal.
    let (ok, out) = corridor(&app, "", &["migrate"]);
    assert!(!ok && out.contains("does not open"), "{out}");
    assert!(!key.exists(), "a generated key was left behind");
    std::fs::rename(&kept, &key).unwrap();
    let (ok, out) = corridor(&app, "", &["migrate"]);
    assert!(ok, "{out}");
}

backend_tests!(
    a_key_file_others_can_read_is_warned_of_and_refused_by_the_key_commands,
    a_start_refused_takes_back_the_key_it_generated,
    a_master_key_that_did_not_seal_the_data_is_refused_at_start,
    after_a_rotation_only_the_new_key_opens_the_data,
    notes_stored_in_clear_before_are_sealed_once_and_the_timeline_closed_again,
    no_personal_text_is_found_in_the_database_the_log_the_emails_or_error_bodies,
);
