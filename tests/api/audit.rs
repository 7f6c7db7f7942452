//! The audit log: every action on the list recorded once, with its actor,
//! never any personal data; one chain under concurrent writers; tampering
//! found by `corridor audit verify`; the lockdown.

use chrono::Duration;
use corridor::domain::Role;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{corridor, spawn_app, Backend, MailSink, TestApp, ADMIN_EMAIL, PASSWORD};

/// The actions of the log, oldest first.
fn actions(log: &[Value]) -> Vec<&str> {
    log.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

async fn every_audited_action_is_recorded_with_its_actor_and_nothing_personal(backend: Backend) {
    let app = spawn_app(backend).await;
    let canary = "Canary-Personal-3321";
    let admin = app.admin_token().await;
    app.login(ADMIN_EMAIL, "not the password, sorry").await;
    app.login("nobody@corridor.test", PASSWORD).await;
    let created = app
        .post("users")
        .token(&admin)
        .json(json!({ "email": "o@corridor.test", "display_name": "O", "role": "observer", "password": PASSWORD }))
        .await;
    let observer_id = created.str("id");
    app.patch(&format!("users/{observer_id}"))
        .token(&admin)
        .json(json!({ "display_name": "Olga" }))
        .await;
    let observer = app.token_for("o@corridor.test").await;
    app.post("cases")
        .token(&observer)
        .json(json!({}))
        .await
        .assert_problem(403, "forbidden");
    let case = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let personal = format!("cases/{case}/personal");
    app.put(&personal)
        .token(&admin)
        .json(json!({ "legal_name": canary, "alias": canary }))
        .await;
    app.get(&personal).token(&admin).send().await;
    let shelter = app.create_shelter(&admin, 4).await;
    let (key_id, key) = app.issue_key(&admin, &shelter).await;
    app.get("partner/cases").token(&key).send().await;
    app.delete(&format!("shelters/{shelter}/api-keys/{key_id}"))
        .token(&admin)
        .send()
        .await;
    app.delete(&personal).token(&admin).send().await;
    let session = app.login(ADMIN_EMAIL, PASSWORD).await;
    let refresh = session.str("refresh_token");
    app.post("auth/refresh")
        .json(json!({ "refresh_token": refresh }))
        .await;
    app.post("auth/refresh")
        .json(json!({ "refresh_token": refresh }))
        .await;
    app.post("me/password")
        .token(&admin)
        .json(json!({ "current_password": PASSWORD, "new_password": "a brand new long password" }))
        .await;
    app.post("auth/logout").token(&admin).send().await;
    for _ in 0..5 {
        app.login("locked@corridor.test", "wrong password here")
            .await;
    }
    app.login("locked@corridor.test", "wrong password here")
        .await;
    let fresh = app
        .login(ADMIN_EMAIL, "a brand new long password")
        .await
        .str("access_token");
    app.post("admin/lockdown").token(&fresh).send().await;
    let reply = app.get("audit?limit=500").token(&fresh).send().await;
    let log = reply.body["items"].as_array().unwrap().clone();
    assert_eq!(
        actions(&log),
        [
            "login.ok",
            "login.failed",
            "login.failed",
            "user.created",
            "user.updated",
            "login.ok",
            "access.denied",
            "personal.written",
            "personal.read",
            "api_key.created",
            "partner.cases_listed",
            "api_key.revoked",
            "personal.shredded",
            "login.ok",
            "refresh.reused",
            "password.changed",
            "logout",
            "login.failed",
            "login.failed",
            "login.failed",
            "login.failed",
            "login.failed",
            "login.locked",
            "login.ok",
            "lockdown",
        ]
    );
    let admin_id = json!({ "kind": "user", "id": app.admin_id });
    let by = |i: usize| &log[i]["actor"];
    assert_eq!(by(0), &admin_id);
    assert_eq!(by(1), &json!({ "kind": "anonymous", "id": null }));
    assert_eq!(log[1]["target"], json!(app.admin_id), "the account tried");
    assert_eq!(
        log[2]["target"],
        Value::Null,
        "an unknown email names nobody"
    );
    assert_eq!(log[3]["target"], json!(observer_id));
    assert_eq!(by(6), &json!({ "kind": "user", "id": observer_id }));
    assert_eq!(log[6]["target"], "POST /api/v1/cases");
    assert_eq!(log[7]["case_id"], json!(case));
    assert_eq!(by(10), &json!({ "kind": "shelter", "id": shelter }));
    assert_eq!(log[11]["target"], json!(key_id));
    // Only the observer's session is left: the admin's others ended on the way.
    assert_eq!(log[24]["target"], "sessions:1 api_keys:0");
    for entry in &log {
        assert_eq!(
            entry["request_id"].as_str().map(str::len),
            Some(16),
            "{entry}"
        );
    }
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry["id"], i as i64 + 1);
        let before = if i == 0 {
            "0".repeat(64)
        } else {
            log[i - 1]["hash"].as_str().unwrap().to_string()
        };
        assert_eq!(entry["prev_hash"], json!(before));
    }
    assert!(
        !reply.text.contains(canary) && !reply.text.contains("corridor.test"),
        "{}",
        reply.text
    );
}

async fn each_read_of_personal_data_is_one_entry_and_the_chain_stays_one_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("cases/{case}/personal");
    app.put(&path)
        .token(&admin)
        .json(json!({ "alias": "A" }))
        .await;
    let reads = (0..24).map(|_| app.get(&path).token(&admin).send());
    let replies = join_all(reads).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let log = app.audit_log().await;
    assert_eq!(
        actions(&log)
            .iter()
            .filter(|a| **a == "personal.read")
            .count(),
        24
    );
    let (ok, out) = corridor(&app, "", &["audit", "verify"]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("audit chain intact: {} entries", log.len())),
        "{out}"
    );
}

async fn a_read_whose_audit_entry_cannot_be_written_gives_nothing_away(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("cases/{case}/personal");
    app.put(&path)
        .token(&admin)
        .json(json!({ "alias": "Hidden-Alias" }))
        .await;
    app.sql("ALTER TABLE audit_head RENAME TO audit_head_gone")
        .await;
    let read = app.get(&path).token(&admin).send().await;
    read.assert_problem(500, "internal");
    assert!(!read.text.contains("Hidden-Alias"), "{}", read.text);
    app.sql("ALTER TABLE audit_head_gone RENAME TO audit_head")
        .await;
    let again = app.get(&path).token(&admin).send().await;
    assert_eq!(again.body["alias"], "Hidden-Alias", "{}", again.text);
}

async fn only_admins_read_the_audit_log_in_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    app.get("audit")
        .token(&coordinator)
        .send()
        .await
        .assert_problem(403, "forbidden");
    let first = app.get("audit?limit=2").token(&admin).send().await;
    let ids: Vec<i64> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(first.body["next_cursor"], "2");
    let after = app.get("audit?after=2&limit=10").token(&admin).send().await;
    let rest: Vec<&str> = after.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        ["access.denied"],
        "the coordinator's try is on the log"
    );
    assert_eq!(after.body["next_cursor"], Value::Null);
    let by_cursor = app.get("audit?cursor=2").token(&admin).send().await;
    assert_eq!(by_cursor.body["items"], after.body["items"]);
    app.get("audit?after=soon")
        .token(&admin)
        .send()
        .await
        .assert_problem(400, "bad-request");
    app.get("audit?cursor=soon")
        .token(&admin)
        .send()
        .await
        .assert_problem(422, "validation");
}

/// Runs SQL with the log's append-only triggers set aside, as an attacker
/// with the database's own rights could.
async fn tamper(app: &TestApp, backend: Backend, sql: &str) {
    let wrapped = match backend {
        Backend::Sqlite => {
            format!("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; {sql}")
        }
        Backend::Postgres => format!(
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; {sql}; \
             ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;"
        ),
    };
    app.sql(&wrapped).await;
}

async fn some_audited_history(app: &TestApp) {
    let admin = app.admin_token().await;
    for _ in 0..3 {
        app.login(ADMIN_EMAIL, "wrong password here").await;
    }
    app.post("auth/logout").token(&admin).send().await;
}

async fn the_log_refuses_changes_and_verify_finds_a_changed_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    assert!(corridor(&app, "", &["audit", "verify"])
        .1
        .contains("audit chain intact: 5 entries"));
    let refused = |sql: &'static str| {
        let pool = app.pool();
        async move {
            let pool = pool.await;
            corridor::db::run(&pool, move |conn| {
                use diesel::connection::SimpleConnection;
                Ok(conn.batch_execute(sql).is_err())
            })
            .await
            .unwrap()
        }
    };
    assert!(refused("UPDATE audit_log SET target = 'x' WHERE id = 2").await);
    assert!(refused("DELETE FROM audit_log WHERE id = 2").await);
    tamper(
        &app,
        backend,
        "UPDATE audit_log SET target = 'someone else' WHERE id = 3",
    )
    .await;
    verify_says(
        &app,
        "audit chain broken at entry 3: its hash does not match its contents",
    )
    .await;
}

async fn verify_finds_a_deleted_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    tamper(&app, backend, "DELETE FROM audit_log WHERE id = 2").await;
    verify_says(
        &app,
        "audit chain broken at entry 3: an entry before it is missing",
    )
    .await;
}

async fn verify_finds_an_inserted_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    // A forged entry after the last one, carrying the last hash.
    let last = app
        .texts("SELECT hash AS t FROM audit_log WHERE id = 5")
        .await
        .remove(0);
    tamper(
        &app,
        backend,
        &format!(
            "INSERT INTO audit_log (id, at, actor_kind, action, prev_hash, hash) \
             VALUES (6, '2026-11-23 09:00:00', 'system', 'lockdown', '{last}', '{}')",
            "f".repeat(64)
        ),
    )
    .await;
    verify_says(
        &app,
        "audit chain broken at entry 6: its hash does not match its contents",
    )
    .await;
}

async fn verify_finds_a_truncated_chain(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    tamper(&app, backend, "DELETE FROM audit_log WHERE id = 5").await;
    verify_says(
        &app,
        "audit chain broken at entry 5: the chain does not end where its head says",
    )
    .await;
}

async fn the_admins_weekly_email_carries_the_chain_head(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    app.user(Role::Coordinator).await;
    let (ok, out) = corridor(&app, &sink.url, &["digest", "send"]);
    assert!(ok, "{out}");
    let log = app.audit_log().await;
    // The digest was queued before the admin signed in to read the log.
    let head = &log[log.len() - 2];
    let mails = sink.mails();
    let to_admin = mails.iter().find(|m| m.to == [ADMIN_EMAIL]).unwrap();
    let line = format!(
        "entry {}, hash {}",
        head["id"],
        head["hash"].as_str().unwrap()
    );
    assert!(to_admin.data.contains(&line), "{line} in {}", to_admin.data);
    let to_coordinator = mails.iter().find(|m| m.to != [ADMIN_EMAIL]).unwrap();
    assert!(
        !to_coordinator.data.contains("Audit chain head"),
        "{}",
        to_coordinator.data
    );
}

async fn a_lockdown_revokes_every_session_but_the_callers_and_every_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let other_admin_session = app.admin_token().await;
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    let shelter = app.create_shelter(&admin, 4).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let (_, second_key) = app.issue_key(&admin, &shelter).await;
    app.post("admin/lockdown")
        .token(&coordinator)
        .send()
        .await
        .assert_problem(403, "forbidden");
    let reply = app.post("admin/lockdown").token(&admin).send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({ "sessions_revoked": 2, "api_keys_revoked": 2 })
    );
    assert_eq!(
        app.get("me").token(&admin).send().await.status,
        200,
        "the caller stays"
    );
    for token in [&other_admin_session, &coordinator, &key, &second_key] {
        let path = if token.starts_with("crd_") {
            "partner/shelter"
        } else {
            "me"
        };
        app.get(path)
            .token(token)
            .send()
            .await
            .assert_problem(401, "unauthorized");
    }
    app.clock.advance(Duration::seconds(1));
    let (ok, out) = corridor(&app, "", &["lockdown"]);
    assert!(
        ok && out.contains("lockdown: 1 session(s) and 0 API key(s) revoked"),
        "{out}"
    );
    app.get("me")
        .token(&admin)
        .send()
        .await
        .assert_problem(401, "unauthorized");
    let log = app.audit_log().await;
    let lockdowns: Vec<&Value> = log.iter().filter(|e| e["action"] == "lockdown").collect();
    assert_eq!(lockdowns.len(), 2);
    assert_eq!(
        lockdowns[1]["actor"],
        json!({ "kind": "system", "id": null })
    );
}

/// The head as stored: (last id, last hash).
async fn head(app: &TestApp) -> (String, String) {
    let mut rows = app
        .texts("SELECT CAST(last_id AS TEXT) || ' ' || last_hash AS t FROM audit_head")
        .await;
    let row = rows.remove(0);
    let (id, hash) = row.split_once(' ').unwrap();
    (id.to_string(), hash.to_string())
}

async fn verify(app: &TestApp) -> (bool, String) {
    corridor(app, "", &["audit", "verify"])
}

/// `corridor audit verify` fails, saying `broken`.
async fn verify_says(app: &TestApp, broken: &str) {
    let (ok, out) = verify(app).await;
    assert!(!ok, "{out}");
    assert!(out.contains(broken), "{out}");
}

async fn verify_prints_the_head_it_verified(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    let (ok, out) = verify(&app).await;
    assert!(ok, "{out}");
    let (id, hash) = head(&app).await;
    assert_eq!(id, "5");
    assert!(
        out.contains(&format!("head: entry 5, hash {hash}")),
        "{out}"
    );
}

async fn verify_finds_a_truncated_chain_whose_head_was_rewritten(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    let third = app
        .texts("SELECT hash AS t FROM audit_log WHERE id = 3")
        .await
        .remove(0);
    tamper(
        &app,
        backend,
        &format!(
            "DELETE FROM audit_log WHERE id > 3;              UPDATE audit_head SET last_id = 3, last_hash = '{third}'"
        ),
    )
    .await;
    verify_says(
        &app,
        "audit chain broken at entry 3: the chain's head does not match its MAC",
    )
    .await;
}

async fn verify_finds_a_forged_entry_with_a_correct_hash(backend: Backend) {
    use corridor::domain::AuditAction;
    use corridor::models::audit::{AuditEntry, NewAuditEntry};
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    let (_, last) = head(&app).await;
    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let forged = AuditEntry::chained(
        6,
        last.clone(),
        NewAuditEntry::system(AuditAction::Lockdown, at),
    );
    let insert = |mac: &str| {
        format!(
            "INSERT INTO audit_log (id, at, actor_kind, action, prev_hash, hash, mac)              VALUES (6, '2026-11-23 09:00:00', 'system', 'lockdown', '{last}', '{}', {mac});              UPDATE audit_head SET last_id = 6, last_hash = '{}'",
            forged.hash, forged.hash
        )
    };
    tamper(&app, backend, &insert("NULL")).await;
    verify_says(&app, "audit chain broken at entry 6: it carries no MAC").await;
    tamper(
        &app,
        backend,
        &format!(
            "DELETE FROM audit_log WHERE id = 6; {}",
            insert(&format!("'{}'", "a".repeat(64)))
        ),
    )
    .await;
    verify_says(
        &app,
        "audit chain broken at entry 6: its MAC does not match",
    )
    .await;
}

async fn verify_finds_an_emptied_log_even_with_its_head_reset(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    tamper(&app, backend, "DELETE FROM audit_log").await;
    verify_says(
        &app,
        "audit chain broken at entry 5: the chain does not end where its head says",
    )
    .await;
    // The head put back as a new database has it: the next start must not
    // take it for a chain waiting for its key.
    tamper(
        &app,
        backend,
        &format!(
            "UPDATE audit_head SET last_id = 0, last_hash = '{}', mac = NULL, keyed_from = NULL",
            "0".repeat(64)
        ),
    )
    .await;
    verify_says(
        &app,
        "audit chain broken at entry 0: the chain's head carries no key",
    )
    .await;
}

async fn verify_names_an_entry_whose_stored_field_does_not_parse(backend: Backend) {
    let app = spawn_app(backend).await;
    some_audited_history(&app).await;
    tamper(
        &app,
        backend,
        "UPDATE audit_log SET action = 'made.up' WHERE id = 3",
    )
    .await;
    verify_says(
        &app,
        "audit chain broken at entry 3: a stored field of it does not parse",
    )
    .await;
}

backend_tests!(
    verify_prints_the_head_it_verified,
    verify_finds_a_truncated_chain_whose_head_was_rewritten,
    verify_finds_a_forged_entry_with_a_correct_hash,
    verify_finds_an_emptied_log_even_with_its_head_reset,
    verify_names_an_entry_whose_stored_field_does_not_parse,
    every_audited_action_is_recorded_with_its_actor_and_nothing_personal,
    each_read_of_personal_data_is_one_entry_and_the_chain_stays_one_line,
    a_read_whose_audit_entry_cannot_be_written_gives_nothing_away,
    only_admins_read_the_audit_log_in_pages,
    the_log_refuses_changes_and_verify_finds_a_changed_entry,
    verify_finds_a_deleted_entry,
    verify_finds_an_inserted_entry,
    verify_finds_a_truncated_chain,
    the_admins_weekly_email_carries_the_chain_head,
    a_lockdown_revokes_every_session_but_the_callers_and_every_key,
);
