//! Documents of a case: the moves between states, the alerts of the stall
//! scan (overdue, expiring: raised once, escalated, resolved, held by a
//! snooze), the scope of roles, and the number kept personal.

use chrono::Duration;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, MailSink, TestApp};

const NUMBER: &str = "CANARY-DOC-4517-889";

fn day(app: &TestApp, days: i64) -> String {
    (app.clock_now() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn add(app: &TestApp, token: &str, case: &str, body: Value) -> Value {
    let reply = app
        .post(&format!("cases/{case}/documents"))
        .token(token)
        .json(body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

/// The alerts of `kind`, read by an admin signed in now (the clock moves
/// past access tokens' lifetime).
async fn alerts_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let token = app.admin_token().await;
    let reply = app
        .get(&format!("alerts?kind={kind}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

async fn a_document_moves_as_an_application_does_and_each_move_is_on_the_timeline(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let (case_id, code) = (case["id"].as_str().unwrap(), case["code"].as_str().unwrap());
    let created = app
        .post(&format!("cases/{code}/documents"))
        .token(&admin)
        .json(json!({ "kind": "visa", "country": "CA", "expected_by": day(&app, 30) }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["status"], "needed");
    assert_eq!(created.header("etag").as_deref(), Some("\"1\""));
    let doc = created.body["id"].as_str().unwrap().to_string();
    let location = created.header("location").unwrap();
    assert_eq!(location, format!("/api/v1/cases/{case_id}/documents/{doc}"));
    let path = format!("cases/{case_id}/documents/{doc}");

    let applied = app
        .patch(&path)
        .token(&admin)
        .header("If-Match", "\"1\"")
        .json(json!({ "status": "applied", "applied_on": day(&app, 0), "held_by": "embassy" }))
        .await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(applied.body["status"], "applied");
    assert_eq!(applied.body["held_by"], "embassy");
    assert_eq!(applied.body["version"], 2);
    // A stale version is refused.
    app.patch(&path)
        .token(&admin)
        .header("If-Match", "\"1\"")
        .json(json!({ "status": "issued" }))
        .await
        .assert_problem(412, "precondition-failed");
    let issued = app
        .patch(&path)
        .token(&admin)
        .json(json!({ "status": "issued", "valid_until": day(&app, 400) }))
        .await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    // An issued document is not applied for again; the answer says what is allowed.
    let refused = app
        .patch(&path)
        .token(&admin)
        .json(json!({ "status": "applied" }))
        .await;
    refused.assert_problem(409, "illegal-document-move");
    assert_eq!(refused.body["allowed"], json!(["expired", "lost"]));
    // Nothing changed by the refusal.
    let now = app.get(&path).token(&admin).send().await;
    assert_eq!(now.body["status"], "issued");
    assert_eq!(now.body["version"], 3);

    // Each move is a `document` event, from and to.
    let events = app
        .get(&format!("cases/{case_id}/events"))
        .token(&admin)
        .send()
        .await;
    let moves: Vec<(Value, Value)> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "document")
        .map(|e| (e["detail"]["from"].clone(), e["detail"]["to"].clone()))
        .collect();
    assert_eq!(
        moves,
        [
            (Value::Null, json!("needed")),
            (json!("needed"), json!("applied")),
            (json!("applied"), json!("issued")),
        ]
    );
}

async fn bad_input_and_other_scopes_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let docs = format!("cases/{case}/documents");
    for (body, field) in [
        (json!({ "kind": "visa", "country": "Canada" }), "country"),
        (json!({ "kind": "visa", "country": "XX" }), "country"),
        (
            json!({ "kind": "visa", "country": "CA", "expected_by": "soon" }),
            "expected_by",
        ),
        (
            json!({ "kind": "visa", "country": "CA", "number": " " }),
            "number",
        ),
        (
            json!({ "kind": "visa", "country": "CA", "number": "a\nb" }),
            "number",
        ),
    ] {
        let reply = app.post(&docs).token(&admin).json(body).await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
    }
    app.post(&docs)
        .token(&admin)
        .json(json!({ "kind": "diploma", "country": "CA" }))
        .await
        .assert_problem(422, "validation");
    app.post(&docs)
        .token(&admin)
        .json(json!({ "kind": "visa", "country": "CA", "colour": "red" }))
        .await
        .assert_problem(400, "bad-request");
    app.post(&docs)
        .token(&observer)
        .json(json!({ "kind": "visa", "country": "CA" }))
        .await
        .assert_problem(403, "forbidden");
    let list = app.get(&docs).token(&admin).send().await;
    assert_eq!(list.body["items"], json!([]), "nothing was added");

    let doc = add(
        &app,
        &admin,
        &case,
        json!({ "kind": "visa", "country": "CA" }),
    )
    .await;
    let doc = doc["id"].as_str().unwrap();
    // The document of another case, or none: 404 alike.
    for path in [
        format!("cases/{other}/documents/{doc}"),
        format!("cases/{case}/documents/{}", uuid::Uuid::now_v7()),
        format!("cases/{case}/documents/not-an-id"),
    ] {
        app.get(&path)
            .token(&admin)
            .send()
            .await
            .assert_problem(404, "not-found");
        app.patch(&path)
            .token(&admin)
            .json(json!({ "status": "applied" }))
            .await
            .assert_problem(404, "not-found");
    }
    // Read-only fields are named, not unknown.
    app.patch(&format!("{docs}/{doc}"))
        .token(&admin)
        .json(json!({ "kind": "travel_passport" }))
        .await
        .assert_problem(422, "validation");
    app.patch(&format!("{docs}/{doc}"))
        .token(&observer)
        .json(json!({ "status": "applied" }))
        .await
        .assert_problem(403, "forbidden");
    // Observers read the list.
    let seen = app.get(&docs).token(&observer).send().await;
    assert_eq!(seen.body["items"].as_array().unwrap().len(), 1);
}

async fn the_number_is_sealed_shown_once_to_coordinators_and_gone_with_a_shred(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    let doc = add(
        &app,
        &admin,
        &case,
        json!({ "kind": "travel_passport", "country": "RU", "number": NUMBER, "status": "issued", "valid_until": day(&app, 20) }),
    )
    .await;
    assert_eq!(doc["has_number"], true);
    assert!(!doc.to_string().contains(NUMBER), "not in the answer");
    let doc = doc["id"].as_str().unwrap().to_string();
    let path = format!("cases/{case}/documents/{doc}");

    // Not in the list, the timeline, the CSV export, the stored row.
    let list = app
        .get(&format!("cases/{case}/documents"))
        .token(&admin)
        .send()
        .await;
    assert!(!list.text.contains(NUMBER));
    assert_eq!(list.body["items"][0]["has_number"], true);
    let events = app
        .get(&format!("cases/{case}/events"))
        .token(&admin)
        .send()
        .await;
    assert!(!events.text.contains(NUMBER));
    let csv = app.get("cases.csv").token(&admin).send().await;
    assert!(!csv.text.contains(NUMBER));
    let stored = app
        .texts("SELECT COALESCE(country, '') || kind || status AS t FROM case_documents")
        .await;
    assert!(!stored.concat().contains(NUMBER));
    if backend == Backend::Sqlite {
        let file = app.db.url.strip_prefix("sqlite://").unwrap().to_string();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
        let canary = NUMBER.as_bytes();
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary),
            "not on disk"
        );
    }

    // An observer learns only that there is one; nothing is audited.
    let reads = |log: &[Value]| {
        log.iter()
            .filter(|e| e["action"] == "personal.read")
            .count()
    };
    let before = reads(&app.audit_log().await);
    let seen = app.get(&path).token(&observer).send().await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert!(seen.body.get("number").is_none(), "{}", seen.text);
    assert_eq!(reads(&app.audit_log().await), before);
    // A coordinator reads it, once audited.
    let read = app.get(&path).token(&admin).send().await;
    assert_eq!(read.body["number"], NUMBER);
    assert_eq!(reads(&app.audit_log().await), before + 1);

    // The alerts it raises say nothing of it.
    let sink = MailSink::start();
    app.scan().await;
    app.deliver(&sink.url).await;
    let mails = sink.mails();
    assert!(!mails.is_empty(), "an expiring passport is emailed");
    let valid_until = day(&app, 20);
    for mail in &mails {
        assert!(!mail.data.contains(NUMBER));
        assert!(
            !mail.data.contains(&valid_until),
            "no dates of the document"
        );
    }

    // A bad change answers without the value sent.
    let bad = app
        .patch(&path)
        .token(&admin)
        .json(json!({ "number": format!("{NUMBER}\n") }))
        .await;
    bad.assert_problem(422, "validation");
    assert!(!bad.text.contains("CANARY"), "{}", bad.text);

    // A shred takes it.
    app.shred(&admin, &case).await;
    let after = app.get(&path).token(&admin).send().await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["number"], Value::Null);
    assert_eq!(after.body["has_number"], false);
    let sealed = app
        .texts("SELECT CAST(COUNT(*) AS TEXT) AS t FROM case_documents WHERE number_sealed IS NOT NULL")
        .await;
    assert_eq!(sealed, ["0"]);
    // And a new number cannot be sealed under a key that is gone.
    app.patch(&path)
        .token(&admin)
        .json(json!({ "number": "X-1" }))
        .await
        .assert_problem(410, "shredded");
}

async fn an_overdue_document_is_alerted_once_escalated_and_resolved_when_issued(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    let doc = add(
        &app,
        &admin,
        &case,
        json!({ "kind": "visa", "country": "DE", "status": "applied", "expected_by": day(&app, 2) }),
    )
    .await;
    let doc = doc["id"].as_str().unwrap().to_string();
    app.scan().await;
    assert!(alerts_of(&app, "document_overdue").await.is_empty());
    // The end of the day expected passes.
    app.clock.advance(Duration::days(3));
    app.scan().await;
    app.scan().await;
    let raised = alerts_of(&app, "document_overdue").await;
    assert_eq!(raised.len(), 1, "once");
    assert_eq!(raised[0]["state"], "open");
    // Nobody acknowledges it: the admins hear of it.
    app.clock.advance(Duration::hours(25));
    let report = app.scan().await;
    assert!(report
        .escalated
        .iter()
        .any(|(a, _)| a.kind.as_str() == "document_overdue"));
    // Issued: resolved.
    let admin = app.admin_token().await;
    let issued = app
        .patch(&format!("cases/{case}/documents/{doc}"))
        .token(&admin)
        .json(json!({ "status": "issued" }))
        .await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let after = alerts_of(&app, "document_overdue").await;
    assert_eq!(after[0]["state"], "resolved");
    app.clock.advance(Duration::days(1));
    app.scan().await;
    assert_eq!(alerts_of(&app, "document_overdue").await.len(), 1);
}

async fn a_booked_appointment_without_news_is_overdue_the_day_after(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    let at = (app.clock_now() + Duration::hours(30)).to_rfc3339();
    add(
        &app,
        &admin,
        &case,
        json!({ "kind": "visa", "country": "NL", "status": "appointment_booked", "appointment_at": at }),
    )
    .await;
    app.clock.advance(Duration::hours(30 + 23));
    app.scan().await;
    assert!(alerts_of(&app, "document_overdue").await.is_empty());
    app.clock.advance(Duration::hours(2));
    app.scan().await;
    assert_eq!(alerts_of(&app, "document_overdue").await.len(), 1);
}

async fn an_expiring_document_is_alerted_before_resettlement_and_a_snooze_holds_it(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    // Valid 40 days: 30 days before, it is expiring.
    add(
        &app,
        &admin,
        &case,
        json!({ "kind": "travel_passport", "country": "RU", "status": "issued", "valid_until": day(&app, 40) }),
    )
    .await;
    app.scan().await;
    assert!(alerts_of(&app, "document_expiring").await.is_empty());
    // A snooze holds it past its moment.
    let until = (app.clock_now() + Duration::days(15)).to_rfc3339();
    let snoozed = app
        .post(&format!("cases/{case}/snooze"))
        .token(&admin)
        .json(json!({ "until": until, "reason": "waiting for the consulate" }))
        .await;
    assert_eq!(snoozed.status, 200, "{}", snoozed.text);
    app.clock.advance(Duration::days(12));
    app.scan().await;
    assert!(alerts_of(&app, "document_expiring").await.is_empty());
    app.clock.advance(Duration::days(4));
    app.scan().await;
    let raised = alerts_of(&app, "document_expiring").await;
    assert_eq!(raised.len(), 1);

    // A case in resettlement is not warned of it.
    let admin = app.admin_token().await;
    let settled = app.create_case(&admin, json!({})).await;
    let settled = settled["id"].as_str().unwrap().to_string();
    let shelter = app.create_shelter(&admin, 5).await;
    for (to, extra) in [
        ("safe_house", json!({ "shelter_id": shelter })),
        ("transit", json!({})),
        ("resettlement", json!({})),
    ] {
        let mut body = json!({ "to": to });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let moved = app
            .post(&format!("cases/{settled}/transitions"))
            .token(&admin)
            .json(body)
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
    }
    add(
        &app,
        &admin,
        &settled,
        json!({ "kind": "residence_permit", "country": "CA", "status": "issued", "valid_until": day(&app, 10) }),
    )
    .await;
    app.scan().await;
    let alerts = alerts_of(&app, "document_expiring").await;
    assert!(alerts.iter().all(|a| a["case_id"] != json!(settled)));
}

backend_tests!(
    a_document_moves_as_an_application_does_and_each_move_is_on_the_timeline,
    bad_input_and_other_scopes_change_nothing,
    the_number_is_sealed_shown_once_to_coordinators_and_gone_with_a_shred,
    an_overdue_document_is_alerted_once_escalated_and_resolved_when_issued,
    a_booked_appointment_without_news_is_overdue_the_day_after,
    an_expiring_document_is_alerted_before_resettlement_and_a_snooze_holds_it,
);
