//! What a hostile probe found leaking (issue 22): notes on the timeline,
//! kept answers replayed after a shred or a lost right, shredded bytes left
//! on disk.

use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, TestApp};

async fn details(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("cases/{case}/events"))
        .token(token)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].clone())
        .collect()
}

async fn personal_reads(app: &TestApp) -> usize {
    app.audit_log()
        .await
        .iter()
        .filter(|e| e["action"] == "personal.read")
        .count()
}

async fn observers_read_timelines_without_notes_and_coordinators_reads_are_audited(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap();
    let quiet = app.create_case(&admin, json!({})).await;
    let quiet = quiet["id"].as_str().unwrap();
    let reply = app
        .post(&format!("cases/{case}/contacts"))
        .token(&coordinator)
        .json(json!({ "channel": "signal", "note": "CANARY-contact sister in Argun" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let until = (app.clock_now() + chrono::Duration::days(3)).to_rfc3339();
    let reply = app
        .post(&format!("cases/{case}/snooze"))
        .token(&coordinator)
        .json(json!({ "until": until, "reason": "CANARY-reason visa at the embassy" }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.transition(
        &coordinator,
        case,
        json!({ "to": "transit", "note": "CANARY-move night bus" }),
    )
    .await;
    let before = personal_reads(&app).await;

    let seen = details(&app, &observer, case).await;
    let text = serde_json::to_string(&seen).unwrap();
    assert!(!text.contains("CANARY"), "{text}");
    assert_eq!(seen[1], json!({ "channel": "signal", "has_note": true }));
    assert_eq!(seen[2]["has_note"], true);
    assert!(seen[2].get("reason").is_none(), "{}", seen[2]);
    assert_eq!(seen[3], json!({ "has_note": true }));
    assert_eq!(
        personal_reads(&app).await,
        before,
        "an observer read nothing"
    );

    let seen = details(&app, &coordinator, case).await;
    assert_eq!(seen[1]["note"], "CANARY-contact sister in Argun");
    assert_eq!(seen[2]["reason"], "CANARY-reason visa at the embassy");
    assert_eq!(seen[3]["note"], "CANARY-move night bus");
    assert_eq!(personal_reads(&app).await, before + 1);
    // A timeline with no notes is no personal read.
    details(&app, &coordinator, quiet).await;
    assert_eq!(personal_reads(&app).await, before + 1);
    let log = app.audit_log().await;
    let read = log
        .iter()
        .rfind(|e| e["action"] == "personal.read")
        .unwrap();
    assert_eq!(read["case_id"], case);
}

async fn a_kept_answer_with_a_note_goes_with_the_shred(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap();
    let path = format!("cases/{case}/contacts");
    let body = json!({ "channel": "signal", "note": "CANARY-kept Sasha is in Nalchik" });
    let first = app
        .post_with_key(&admin, &path, "contact-1", body.clone())
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = app
        .post_with_key(&admin, &path, "contact-1", body.clone())
        .await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    // Kept under the case's key, and naming it.
    let kept = app
        .texts("SELECT case_id AS t FROM idempotency_keys WHERE case_id IS NOT NULL")
        .await;
    assert_eq!(kept, [case]);
    app.shred(&admin, case).await;
    assert!(app
        .texts("SELECT case_id AS t FROM idempotency_keys WHERE case_id IS NOT NULL")
        .await
        .is_empty());
    // The retry runs afresh: the case has no key to seal a note under.
    let after = app.post_with_key(&admin, &path, "contact-1", body).await;
    after.assert_problem(410, "shredded");
    assert_eq!(after.header("idempotent-replayed"), None);
    assert!(!after.text.contains("CANARY"), "{}", after.text);
    // A contact without a note keeps its answer as before.
    let plain = json!({ "channel": "phone" });
    let first = app
        .post_with_key(&admin, &path, "contact-2", plain.clone())
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = app.post_with_key(&admin, &path, "contact-2", plain).await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
}

async fn a_replay_is_refused_to_a_caller_who_lost_the_right_and_a_lockdown_runs_again(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (other_id, _, other) = app.user(Role::Admin).await;
    let shelter = app.create_shelter(&admin, 4).await;
    let path = format!("shelters/{shelter}/api-keys");
    let body = json!({ "label": "front desk" });
    let first = app
        .post_with_key(&other, &path, "key-1", body.clone())
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let raw = first.str("key");
    let demoted = app
        .patch(&format!("users/{other_id}"))
        .token(&admin)
        .json(json!({ "role": "observer" }))
        .await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    let denied_before = app
        .audit_log()
        .await
        .iter()
        .filter(|e| e["action"] == "access.denied")
        .count();
    let replay = app.post_with_key(&other, &path, "key-1", body).await;
    replay.assert_problem(403, "forbidden");
    assert!(!replay.text.contains(&raw), "{}", replay.text);
    let denied_after = app
        .audit_log()
        .await
        .iter()
        .filter(|e| e["action"] == "access.denied")
        .count();
    assert_eq!(denied_after, denied_before + 1);

    // A lockdown's counts are true once: the same key locks down again.
    let (_, coordinator_email, _) = app.user(Role::Coordinator).await;
    let lockdown = app
        .post_with_key(&admin, "admin/lockdown", "lock-1", json!({}))
        .await;
    assert_eq!(lockdown.status, 200, "{}", lockdown.text);
    assert!(lockdown.body["sessions_revoked"].as_u64().unwrap() >= 2);
    app.token_for(&coordinator_email).await;
    let again = app
        .post_with_key(&admin, "admin/lockdown", "lock-1", json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_eq!(again.body["sessions_revoked"], 1, "{}", again.text);
    assert_eq!(again.body["api_keys_revoked"], 0, "{}", again.text);
}

/// `column` of `table` for `case`, as lower-case hex.
async fn stored_hex(
    app: &TestApp,
    backend: Backend,
    table: &str,
    column: &str,
    case: &str,
) -> String {
    let hex = match backend {
        Backend::Sqlite => format!("lower(hex({column}))"),
        Backend::Postgres => format!("encode({column}, 'hex')"),
    };
    let rows = app
        .texts(&format!(
            "SELECT {hex} AS t FROM {table} WHERE case_id = '{case}'"
        ))
        .await;
    assert_eq!(rows.len(), 1, "{table}.{column}");
    rows[0].clone()
}

fn bytes_of(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A case with personal data and a note: its id.
async fn case_with_secrets(app: &TestApp, token: &str) -> String {
    let case = app.create_case(token, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    let put = app
        .put(&format!("cases/{case}/personal"))
        .token(token)
        .json(json!({ "legal_name": "CANARY Legal Name", "notes": "CANARY notes" }))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let contact = app
        .post(&format!("cases/{case}/contacts"))
        .token(token)
        .json(json!({ "channel": "phone", "note": "CANARY contact note" }))
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    case
}

#[actix_web::test]
async fn a_shred_leaves_no_sealed_byte_in_the_sqlite_file_or_its_log() {
    let backend = Backend::Sqlite;
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = case_with_secrets(&app, &admin).await;
    let mut canaries = Vec::new();
    for (table, column) in [
        ("case_keys", "wrapped_key"),
        ("case_personal", "legal_name"),
        ("case_personal", "notes"),
        ("event_notes", "sealed"),
    ] {
        canaries.push((
            column,
            bytes_of(&stored_hex(&app, backend, table, column, &case).await),
        ));
    }
    let file = app.db.url.strip_prefix("sqlite://").unwrap().to_string();
    let on_disk = || {
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
        bytes
    };
    let holds = |disk: &[u8], canary: &[u8]| disk.windows(canary.len()).any(|w| w == canary);
    // The scan finds them while they are there.
    let before = on_disk();
    assert!(canaries.iter().any(|(_, c)| holds(&before, c)));
    app.shred(&admin, &case).await;
    let after = on_disk();
    for (column, canary) in &canaries {
        assert!(!holds(&after, canary), "{column} is still on disk");
    }
}

async fn a_restored_backup_from_before_a_shred_answers_410(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = case_with_secrets(&app, &admin).await;
    let path = format!("cases/{case}/personal");
    // What a backup taken now holds of the case.
    let wrapped = stored_hex(&app, backend, "case_keys", "wrapped_key", &case).await;
    let name = stored_hex(&app, backend, "case_personal", "legal_name", &case).await;
    let shred = app.delete(&path).token(&admin).send().await;
    assert_eq!(shred.status, 204, "{}", shred.text);
    let list = app.config.server.data_dir.join("master.key.shredded");
    assert_eq!(std::fs::read_to_string(&list).unwrap(), format!("{case}\n"));
    // The backup restored: the case's wrapped key and sealed field are back.
    let literal = |hex: &str| match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("decode('{hex}', 'hex')"),
    };
    app.sql(&format!(
        "UPDATE case_keys SET wrapped_key = {}, shredded_at = NULL WHERE case_id = '{case}';
         INSERT INTO case_personal (case_id, legal_name, version, updated_at)
         VALUES ('{case}', {}, 1, '2026-11-23 08:00:00')",
        literal(&wrapped),
        literal(&name)
    ))
    .await;
    app.reopen().await;
    let admin = app.admin_token().await;
    app.get(&path)
        .token(&admin)
        .send()
        .await
        .assert_problem(410, "shredded");
    let contact = app
        .post(&format!("cases/{case}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "phone", "note": "again" }))
        .await;
    contact.assert_problem(410, "shredded");
    // The list is what refuses: without it the same master key opens the
    // restored data, as README warns.
    std::fs::remove_file(&list).unwrap();
    app.reopen().await;
    let admin = app.admin_token().await;
    let read = app.get(&path).token(&admin).send().await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["legal_name"], "CANARY Legal Name");
}

backend_tests!(
    a_restored_backup_from_before_a_shred_answers_410,
    observers_read_timelines_without_notes_and_coordinators_reads_are_audited,
    a_kept_answer_with_a_note_goes_with_the_shred,
    a_replay_is_refused_to_a_caller_who_lost_the_right_and_a_lockdown_runs_again,
);
