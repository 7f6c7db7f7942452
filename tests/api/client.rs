//! What a coordinator's REST client meets: the OpenAPI document, the docs
//! page in a real browser, demo data, the overview numbers, idempotent
//! POSTs and the CSV export.

use std::collections::BTreeSet;

use chrono::Duration;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{corridor, spawn_app, spawn_unmigrated_app, Backend, Reply, TestApp};

// ---- the OpenAPI document and the docs page ----

async fn the_openapi_document_is_served_to_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.get("openapi.json").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let doc = &reply.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["servers"][0]["url"],
        app.config.server.public_url.trim_end_matches('/')
    );
    for path in [
        "/api/v1/cases/{id}",
        "/api/v1/partner/cases/{code}/checkins",
        "/api/v1/stats",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let names: BTreeSet<&str> = schemes.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["partner_bearer", "partner_header", "staff"])
    );
    assert_eq!(schemes["partner_header"]["name"], "X-API-Key");
    // Every error answer is problem+json.
    let not_found = &doc["components"]["responses"]["NotFound"]["content"];
    assert!(not_found["application/problem+json"].is_object());
}

/// Chromium: the test that needs it is built only where it was found.
fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium was found when the tests were built, and is gone now")
}

async fn the_docs_page_and_its_files_are_served_under_a_strict_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app
        .call(actix_web::http::Method::GET, "/docs")
        .header("Accept", "application/json")
        .send()
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type().starts_with("text/html"),
        "whatever the Accept header"
    );
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("http"),
        "{policy}"
    );
    for (file, kind) in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("init.js", "text/javascript"),
    ] {
        let asset = app
            .call(actix_web::http::Method::GET, &format!("/docs/{file}"))
            .send()
            .await;
        assert_eq!(asset.status, 200, "{file}");
        assert!(asset.content_type().starts_with(kind), "{file}");
    }
    let missing = app
        .call(actix_web::http::Method::GET, "/docs/secrets.txt")
        .send()
        .await;
    missing.assert_problem(404, "not-found");
}

/// Built only where chromium was found (see `build.rs`): elsewhere it is
/// reported as ignored, not as passed.
#[actix_web::test]
#[cfg_attr(
    not(corridor_browser_tests),
    ignore = "chromium was not installed when the tests were built"
)]
async fn the_docs_page_renders_every_operation_offline_in_a_real_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = chromium();
    let profile = tempdir();
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let url = format!("{}/docs", app.address);
    let address = app.address.clone();
    let output = actix_web::web::block(move || {
        std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
                // Anything not on this server would fail: no network at all.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                &profile_arg,
                "--virtual-time-budget=20000",
                "--dump-dom",
                &url,
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    let rendered: BTreeSet<&str> = dom
        .split("data-path=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let doc = app.get("openapi.json").send().await;
    let documented: BTreeSet<&str> = doc.body["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(rendered, documented, "every path on the page ({address})");
    assert!(dom.contains("Corridor"), "the title");
    assert!(
        !log.contains("Refused to") && !log.contains("Content Security Policy"),
        "nothing refused by the page's policy: {log}"
    );
    let _ = std::fs::remove_dir_all(profile);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corridor-browser-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---- corridor demo ----

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.texts(&format!("SELECT CAST(({sql}) AS TEXT) AS t"))
        .await
        .first()
        .and_then(|t| t.parse().ok())
        .unwrap_or(-1)
}

async fn stats(app: &TestApp) -> Value {
    let token = app.admin_token().await;
    let reply = app.get("stats").token(&token).send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

async fn demo_fills_an_empty_database_with_every_stage_and_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ok, out_of_demo) = corridor(&app, "", &["demo", "--seed", "11"]);
    assert!(
        ok && out_of_demo.contains("wrote 134 synthetic case(s)"),
        "{out_of_demo}"
    );
    // The demo is backdated from the real now; the server's clock follows.
    app.clock.set(chrono::Utc::now());
    let numbers = stats(&app).await;
    let by_stage = numbers["cases_by_stage"].as_object().unwrap();
    assert_eq!(
        by_stage.values().filter_map(Value::as_i64).sum::<i64>(),
        134
    );
    assert!(by_stage.values().all(|n| n.as_i64() > Some(0)), "{numbers}");
    let outcomes = numbers["closed_by_outcome"].as_object().unwrap();
    assert!(outcomes.values().all(|n| n.as_i64() > Some(0)), "{numbers}");
    let stalled = numbers["stalled"].as_i64().unwrap();
    assert!(stalled > 0, "{numbers}");
    let stall_alerts = count(
        &app,
        "SELECT COUNT(*) FROM alerts WHERE state = 'open' AND kind IN ('stage_overdue', 'no_contact')",
    )
    .await;
    assert_eq!(stall_alerts, stalled, "each stalled case alerted");
    // Logistics as each stage suggests: overdue documents and a person
    // overdue on the way among them, alerted already.
    for table in ["case_documents", "case_legs", "case_expenses"] {
        let n = count(&app, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert!(n > 0, "{table}");
    }
    for kind in ["document_overdue", "leg_overdue"] {
        let n = count(
            &app,
            &format!("SELECT COUNT(*) FROM alerts WHERE kind = '{kind}'"),
        )
        .await;
        assert!(n > 0, "{kind}");
    }
    assert!(
        numbers["documents_alerting"].as_i64() > Some(0),
        "{numbers}"
    );
    assert!(numbers["legs_overdue"].as_i64() > Some(0), "{numbers}");
    assert!(!numbers["spending"].as_array().unwrap().is_empty());
    for stage in ["intake", "safe_house", "transit", "resettlement"] {
        let median = numbers["median_days_in_stage"][stage].as_f64().unwrap();
        assert!(median > 0.0, "{stage}: {numbers}");
    }
    assert_eq!(numbers["shelters"].as_array().unwrap().len(), 8);
    // Timelines hold contacts, check-ins and moves.
    for kind in [
        "created",
        "transition",
        "contact",
        "check_in",
        "alert_raised",
    ] {
        let n = count(
            &app,
            &format!("SELECT COUNT(*) FROM case_events WHERE kind = '{kind}'"),
        )
        .await;
        assert!(n > 0, "{kind}");
    }
    // A first start changes nothing: the stalled cases are alerted and
    // escalated already, and the retention sweep finds nothing to shred.
    let (ok, out) = corridor(&app, "", &["stalls", "scan"]);
    assert!(
        ok && out.contains("0 alert(s) raised, 0 escalated"),
        "{out}"
    );
    assert_eq!(app.sweep().await, 0, "nothing due for retention");
    // Personal data: invented, and sealed.
    let token = app.admin_token().await;
    let cases = app.get("cases?stage=transit").token(&token).send().await;
    let id = cases.body["items"][0]["id"].as_str().unwrap().to_string();
    let personal = app
        .get(&format!("cases/{id}/personal"))
        .token(&token)
        .send()
        .await;
    assert_eq!(personal.status, 200, "{}", personal.text);
    let name = personal.str("legal_name");
    let invented = [
        "Primerov",
        "Obraztsov",
        "Demoev",
        "Testaev",
        "Sampleov",
        "Fiktivov",
    ];
    let invented = invented.iter().chain(&["Zaglushkin", "Vymyslov"]);
    assert!(invented.clone().any(|s| name.ends_with(s)), "{name}");
    let kept = count(
        &app,
        "SELECT COUNT(*) FROM case_personal WHERE legal_name IS NOT NULL",
    )
    .await;
    let shredded = count(
        &app,
        "SELECT COUNT(*) FROM case_keys WHERE wrapped_key IS NULL AND shredded_at IS NOT NULL",
    )
    .await;
    assert_eq!(kept + shredded, 134);
    assert!(shredded > 0 && kept > 0, "{kept} kept, {shredded} shredded");
    assert!(
        out_of_demo.contains(&format!(
            "{shredded} of them closed longer ago than the retention period"
        )),
        "{out_of_demo}"
    );
    if let Some(path) = app.db.url.strip_prefix("sqlite://") {
        let bytes = std::fs::read(path).unwrap();
        let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
        let raw = String::from_utf8_lossy(&bytes) + String::from_utf8_lossy(&wal);
        assert!(
            !invented.clone().any(|s| raw.contains(s)),
            "names are sealed at rest"
        );
    }
    // A second run refuses and changes nothing.
    let (ok, out) = corridor(&app, "", &["demo"]);
    assert!(!ok && out.contains("holds 134 case(s) already"), "{out}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 134);
}

async fn codes(app: &TestApp) -> Vec<String> {
    app.texts("SELECT code AS t FROM cases ORDER BY code").await
}

async fn the_same_seed_makes_the_same_cases_even_before_serve_ever_ran(backend: Backend) {
    let first = spawn_unmigrated_app(backend).await;
    let (ok, out) = corridor(&first, "", &["demo", "--seed", "5", "--cases", "40"]);
    assert!(ok, "{out}");
    let second = spawn_app(backend).await;
    let (ok, out) = corridor(&second, "", &["demo", "--seed", "5", "--cases", "40"]);
    assert!(ok, "{out}");
    let third = spawn_app(backend).await;
    let (ok, out) = corridor(&third, "", &["demo", "--seed", "6", "--cases", "40"]);
    assert!(ok, "{out}");
    let (a, b, c) = (
        codes(&first).await,
        codes(&second).await,
        codes(&third).await,
    );
    assert_eq!(a.len(), 40);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

// ---- stats ----

async fn stats_agree_with_the_lists(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 4).await;
    let a = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let place = json!({ "to": "safe_house", "shelter_id": shelter });
    app.clock.advance(Duration::days(2));
    let admin = app.admin_token().await;
    assert_eq!(app.transition(&admin, &a, place.clone()).await.status, 200);
    app.clock.advance(Duration::days(1));
    let admin = app.admin_token().await;
    let close = json!({ "to": "closed", "outcome": "resettled" });
    assert_eq!(app.transition(&admin, &a, close).await.status, 200);
    app.clock.advance(Duration::days(1));
    let admin = app.admin_token().await;
    assert_eq!(app.transition(&admin, &b, place).await.status, 200);
    app.create_case(&admin, json!({})).await;
    app.clock.advance(Duration::days(4));
    app.scan().await;
    let numbers = stats(&app).await;
    assert_eq!(
        numbers["cases_by_stage"],
        json!({ "intake": 1, "safe_house": 1, "transit": 0, "resettlement": 0, "closed": 1 })
    );
    assert_eq!(numbers["closed_by_outcome"]["resettled"], 1);
    assert_eq!(numbers["closed_by_outcome"]["withdrawn"], 0);
    assert_eq!(
        numbers["median_days_in_stage"],
        json!({ "intake": 3.0, "safe_house": 1.0, "transit": null, "resettlement": null, "closed": null })
    );
    assert_eq!(numbers["shelters"][0]["occupancy"], 1);
    assert_eq!(numbers["shelters"][0]["capacity"], 4);
    let admin = app.admin_token().await;
    let stalled = app.get("cases?stalled=true").token(&admin).send().await;
    let open = app.get("alerts?state=open").token(&admin).send().await;
    assert_eq!(
        numbers["stalled"].as_u64(),
        Some(items(&stalled).len() as u64)
    );
    assert_eq!(
        numbers["open_alerts"].as_u64(),
        Some(items(&open).len() as u64)
    );
    assert_eq!(numbers["stalled"], 1);
    app.get("stats")
        .send()
        .await
        .assert_problem(401, "unauthorized");
}

fn items(reply: &Reply) -> Vec<Value> {
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

// ---- idempotency ----

async fn a_retry_with_the_same_key_gets_the_same_answer_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let body = json!({ "household_size": 2 });
    let first = app
        .post_with_key(&admin, "cases", "create-case-1", body.clone())
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app
        .post_with_key(&admin, "cases", "create-case-1", body.clone())
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 1);
    // The same key for another request: 422, nothing done.
    let other = app
        .post_with_key(
            &admin,
            "cases",
            "create-case-1",
            json!({ "household_size": 3 }),
        )
        .await;
    other.assert_problem(422, "validation");
    assert_eq!(other.error_fields(), ["Idempotency-Key"]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 1);
    // Another caller with the same key is another request altogether.
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    let theirs = app
        .post_with_key(&coordinator, "cases", "create-case-1", body.clone())
        .await;
    assert_eq!(theirs.status, 201);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // A refusal is an answer too: replayed, not re-run.
    let id = first.body["id"].as_str().unwrap();
    let bad_move = json!({ "to": "resettlement" });
    let path = format!("cases/{id}/transitions");
    let refused = app
        .post_with_key(&admin, &path, "move-1", bad_move.clone())
        .await;
    refused.assert_problem(409, "illegal-transition");
    let replayed = app.post_with_key(&admin, &path, "move-1", bad_move).await;
    assert_eq!(replayed.status, 409);
    assert_eq!(
        replayed.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    // Keys must be visible ASCII.
    let malformed = app
        .post_with_key(&admin, "cases", "has space", body.clone())
        .await;
    malformed.assert_problem(400, "bad-request");
    // Without credentials the key changes nothing: 401.
    app.post("cases")
        .header("Idempotency-Key", "k")
        .json(body)
        .await
        .assert_problem(401, "unauthorized");
}

async fn a_retry_while_the_first_runs_is_409_and_a_dead_first_is_taken_over(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let body = json!({});
    assert_eq!(
        app.post_with_key(&admin, "cases", "k-1", body.clone())
            .await
            .status,
        201
    );
    // As if the first were still running (its process alive, or just killed).
    app.sql("UPDATE idempotency_keys SET state = 'running', response = NULL")
        .await;
    let busy = app
        .post_with_key(&admin, "cases", "k-1", body.clone())
        .await;
    busy.assert_problem(409, "in-progress");
    assert_eq!(busy.header("retry-after").as_deref(), Some("1"));
    // A minute on, the first is taken for dead: the retry runs.
    app.clock.advance(Duration::seconds(61));
    let admin = app.admin_token().await;
    let retried = app.post_with_key(&admin, "cases", "k-1", body).await;
    assert_eq!(retried.status, 201);
    assert_eq!(retried.header("idempotent-replayed"), None);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cases").await, 2);
}

async fn kept_answers_are_sealed_expire_after_a_day_and_sign_in_is_never_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 3).await;
    let path = format!("shelters/{shelter}/api-keys");
    let issued = app
        .post_with_key(&admin, &path, "issue-1", json!({ "label": "desk" }))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let key = issued.str("key");
    let again = app
        .post_with_key(&admin, &path, "issue-1", json!({ "label": "desk" }))
        .await;
    assert_eq!(again.str("key"), key, "the retry sees the key it lost");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_keys").await, 1);
    assert!(
        !app.stored_key_material().await.contains(&key[4..]),
        "the kept answer is sealed"
    );
    let raw = app
        .texts("SELECT principal || ' ' || key_hash AS t FROM idempotency_keys")
        .await;
    assert!(
        raw[0].starts_with("user:") && !raw[0].contains("issue-1"),
        "{raw:?}"
    );
    // The partner's key is a caller of its own.
    let (_, case) = (0, app.create_case(&admin, json!({})).await);
    let id = case["id"].as_str().unwrap();
    let placed = app
        .transition(
            &admin,
            id,
            json!({ "to": "safe_house", "shelter_id": shelter }),
        )
        .await;
    assert_eq!(placed.status, 200);
    let code = case["code"].as_str().unwrap();
    let checkin = format!("partner/cases/{code}/checkins");
    let first = app
        .post_with_key(&key, &checkin, "c-1", json!({ "kind": "welfare_ok" }))
        .await;
    let second = app
        .post_with_key(&key, &checkin, "c-1", json!({ "kind": "welfare_ok" }))
        .await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(
        second.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    let events = app
        .get(&format!("cases/{id}/events"))
        .token(&admin)
        .send()
        .await;
    let check_ins = items(&events)
        .iter()
        .filter(|e| e["kind"] == "check_in")
        .count();
    assert_eq!(check_ins, 1);
    // Sign-in answers are tokens: never kept.
    for _ in 0..2 {
        let login = app
            .post("auth/login")
            .header("Idempotency-Key", "login-1")
            .json(json!({ "email": crate::helpers::ADMIN_EMAIL, "password": crate::helpers::PASSWORD }))
            .await;
        assert_eq!(login.status, 200);
        assert_eq!(login.header("idempotent-replayed"), None);
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM idempotency_keys").await,
        2
    );
    // A day later they are swept, and the key is free again.
    app.clock.advance(Duration::hours(25));
    app.sweep().await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
    let admin = app.admin_token().await;
    let fresh = app
        .post_with_key(&admin, &path, "issue-1", json!({ "label": "desk" }))
        .await;
    assert_eq!(fresh.status, 201);
    assert_ne!(fresh.str("key"), key);
}

// ---- CSV ----

async fn csv(app: &TestApp, token: &str, query: &str) -> Reply {
    app.get(&format!("cases.csv{query}"))
        .token(token)
        .header("Accept", "application/json")
        .send()
        .await
}

async fn the_csv_export_has_every_match_and_never_runs_a_formula(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let formula = app
        .create_case(
            &admin,
            json!({ "origin_region": "=HYPERLINK(\"http://x\")", "destination_country": "CA" }),
        )
        .await;
    app.create_case(
        &admin,
        json!({ "origin_region": "Grozny, \"old town\"\nnorth" }),
    )
    .await;
    app.create_case(
        &admin,
        json!({ "origin_region": "@SUM(A1)", "needs": ["medical", "legal"] }),
    )
    .await;
    let id = formula["id"].as_str().unwrap();
    let personal = app
        .put(&format!("cases/{id}/personal"))
        .token(&admin)
        .json(json!({ "legal_name": "Canary Exportova" }))
        .await;
    assert_eq!(personal.status, 200);
    let reply = csv(&app, &admin, "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.content_type().starts_with("text/csv"),
        "whatever the Accept header"
    );
    let text = reply.text.clone();
    let mut lines = text.split("\r\n");
    let header = lines.next().unwrap();
    let json_case = app.get(&format!("cases/{id}")).token(&admin).send().await;
    let mut fields: Vec<&str> = json_case
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut columns: Vec<&str> = header.split(',').collect();
    fields.sort();
    columns.sort();
    assert_eq!(columns, fields, "the header names the JSON fields");
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(text.contains("'@SUM(A1)"), "{text}");
    assert!(
        text.contains("\"Grozny, \"\"old town\"\"\nnorth\""),
        "{text}"
    );
    assert!(text.contains("legal;medical"), "{text}");
    assert!(!text.contains("Canary"), "never personal data");
    assert!(text.ends_with("\r\n"));
    assert_eq!(text.matches("\r\n").count(), 4, "a header and three cases");
    let unknown = csv(&app, &admin, "?destination_country=CA").await;
    unknown.assert_problem(400, "bad-request");
    let intake = csv(&app, &admin, "?stage=intake&q=EV").await;
    assert_eq!(intake.text.matches("\r\n").count(), 4);
    let transit = csv(&app, &admin, "?stage=transit").await;
    assert_eq!(transit.text.matches("\r\n").count(), 1, "just the header");
    csv(&app, &admin, "?limit=5")
        .await
        .assert_problem(400, "bad-request");
    csv(&app, &admin, "?stage=sleeping")
        .await
        .assert_problem(422, "validation");
    app.get("cases.csv")
        .send()
        .await
        .assert_problem(401, "unauthorized");
    let exported = app.audit_log().await;
    assert!(exported.iter().any(|e| e["action"] == "cases.exported"));
}

async fn the_csv_export_streams_past_one_batch(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ok, out) = corridor(&app, "", &["demo", "--cases", "1201", "--seed", "3"]);
    assert!(ok, "{out}");
    let admin = app.admin_token().await;
    let reply = csv(&app, &admin, "").await;
    assert_eq!(reply.status, 200);
    let lines = reply.text.matches("\r\n").count();
    assert_eq!(lines, 1 + 1201);
    let codes: BTreeSet<&str> = reply
        .text
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    assert_eq!(codes.len(), 1201, "every case once");
}

backend_tests!(
    the_openapi_document_is_served_to_anyone,
    the_docs_page_and_its_files_are_served_under_a_strict_policy,
    demo_fills_an_empty_database_with_every_stage_and_outcome,
    the_same_seed_makes_the_same_cases_even_before_serve_ever_ran,
    stats_agree_with_the_lists,
    a_retry_with_the_same_key_gets_the_same_answer_and_changes_nothing,
    a_retry_while_the_first_runs_is_409_and_a_dead_first_is_taken_over,
    kept_answers_are_sealed_expire_after_a_day_and_sign_in_is_never_kept,
    the_csv_export_has_every_match_and_never_runs_a_formula,
    the_csv_export_streams_past_one_batch,
);
