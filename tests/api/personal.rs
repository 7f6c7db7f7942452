//! A case's personal data: sealed under its own key, read and written by
//! coordinators and admins, shredded for good, checked for duplicates
//! without plaintext, and shown to a shelter only as the alias.

use chrono::Duration;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, TestApp};

fn person() -> Value {
    json!({
        "legal_name": "Ахмед Канаров",
        "alias": "Sasha",
        "date_of_birth": "1994-03-02",
        "contacts": [{ "channel": "signal", "value": "+7 900 000 00 00" }, { "channel": "telegram", "value": "@sasha" }],
        "notes": "Brother in Grozny must not know.",
    })
}

async fn new_case(app: &TestApp, token: &str) -> (String, String) {
    let case = app.create_case(token, json!({})).await;
    (
        case["id"].as_str().unwrap().into(),
        case["code"].as_str().unwrap().into(),
    )
}

async fn put(app: &TestApp, token: &str, case: &str, body: Value) -> crate::helpers::Reply {
    app.put(&format!("cases/{case}/personal"))
        .token(token)
        .json(body)
        .await
}

async fn personal_data_is_written_read_and_versioned(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (case, _) = new_case(&app, &token).await;
    let path = format!("cases/{case}/personal");
    app.get(&path)
        .token(&token)
        .send()
        .await
        .assert_problem(404, "not-found");
    let written = put(&app, &token, &case, person()).await;
    assert_eq!(written.status, 200, "{}", written.text);
    assert_eq!(written.header("etag").as_deref(), Some("\"1\""));
    let mut expected = person();
    expected["possible_duplicates"] = json!([]);
    assert_eq!(written.body, expected);
    let read = app.get(&path).token(&token).send().await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body, person());
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    // PUT replaces the whole record, and honours If-Match.
    let stale = app
        .put(&path)
        .token(&token)
        .header("If-Match", "\"7\"")
        .json(json!({ "alias": "Sasha K." }))
        .await;
    stale.assert_problem(412, "precondition-failed");
    let replaced = app
        .put(&path)
        .token(&token)
        .header("If-Match", "\"1\"")
        .json(json!({ "alias": "Sasha K." }))
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.header("etag").as_deref(), Some("\"2\""));
    let read = app.get(&path).token(&token).send().await;
    assert_eq!(
        read.body,
        json!({ "legal_name": null, "alias": "Sasha K.", "date_of_birth": null, "contacts": [], "notes": null })
    );
}

async fn invalid_personal_data_is_refused_field_by_field_without_echo(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (case, _) = new_case(&app, &token).await;
    let secret = "Secret-Name-Canary";
    let too_many: Vec<Value> = (0..21)
        .map(|_| json!({ "channel": "phone", "value": "1" }))
        .collect();
    let cases = [
        (
            json!({ "legal_name": format!("{secret}{}", "x".repeat(200)) }),
            "legal_name",
        ),
        (json!({ "alias": "y".repeat(201) }), "alias"),
        (json!({ "notes": "z".repeat(10_001) }), "notes"),
        (json!({ "date_of_birth": "2026-12-01" }), "date_of_birth"),
        (json!({ "date_of_birth": "1899-12-31" }), "date_of_birth"),
        (json!({ "date_of_birth": secret }), "date_of_birth"),
        (json!({ "contacts": too_many }), "contacts"),
        (
            json!({ "contacts": [{ "channel": "pigeon", "value": secret }] }),
            "contacts[0].channel",
        ),
        (
            json!({ "contacts": [{ "channel": "phone", "value": " " }] }),
            "contacts",
        ),
        (json!({}), "body"),
        (json!({ "legal_name": "  ", "notes": "" }), "body"),
    ];
    for (body, field) in cases {
        let reply = put(&app, &token, &case, body.clone()).await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.error_fields(), [field], "{body}: {}", reply.text);
        assert!(!reply.text.contains(secret), "{}", reply.text);
    }
    put(
        &app,
        &token,
        &case,
        json!({ "legal_name": "x", "ssn": "1" }),
    )
    .await
    .assert_problem(400, "bad-request");
    app.get(&format!("cases/{case}/personal"))
        .token(&token)
        .send()
        .await
        .assert_problem(404, "not-found");
}

async fn only_coordinators_and_admins_see_personal_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let (case, _) = new_case(&app, &admin).await;
    let path = format!("cases/{case}/personal");
    assert_eq!(put(&app, &coordinator, &case, person()).await.status, 200);
    assert_eq!(app.get(&path).token(&coordinator).send().await.status, 200);
    app.get(&path)
        .token(&observer)
        .send()
        .await
        .assert_problem(403, "forbidden");
    put(&app, &observer, &case, person())
        .await
        .assert_problem(403, "forbidden");
    app.delete(&path)
        .token(&coordinator)
        .send()
        .await
        .assert_problem(403, "forbidden");
    let shelter = app.create_shelter(&admin, 5).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    app.get(&path)
        .token(&key)
        .send()
        .await
        .assert_problem(401, "unauthorized");
    app.get(&path)
        .send()
        .await
        .assert_problem(401, "unauthorized");
    let missing = uuid::Uuid::now_v7();
    for path in [
        format!("cases/{missing}/personal"),
        "cases/nope/personal".to_string(),
    ] {
        app.get(&path)
            .token(&admin)
            .send()
            .await
            .assert_problem(404, "not-found");
        app.put(&path)
            .token(&admin)
            .json(person())
            .await
            .assert_problem(404, "not-found");
        app.delete(&path)
            .token(&admin)
            .send()
            .await
            .assert_problem(404, "not-found");
    }
}

async fn a_shred_destroys_personal_data_for_good_and_keeps_the_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (case, code) = new_case(&app, &admin).await;
    put(&app, &admin, &case, person()).await;
    let contact = app
        .post(&format!("cases/{case}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "signal", "note": "heard from Sasha" }))
        .await;
    assert_eq!(
        contact.body["detail"],
        json!({ "channel": "signal", "note": "heard from Sasha" })
    );
    app.transition(
        &admin,
        &case,
        json!({ "to": "transit", "note": "bus at dawn" }),
    )
    .await;
    let path = format!("cases/{case}/personal");
    assert_eq!(app.delete(&path).token(&admin).send().await.status, 204);
    app.get(&path)
        .token(&admin)
        .send()
        .await
        .assert_problem(410, "shredded");
    put(&app, &admin, &case, person())
        .await
        .assert_problem(410, "shredded");
    app.delete(&path)
        .token(&admin)
        .send()
        .await
        .assert_problem(410, "shredded");
    let kept = app.get(&format!("cases/{case}")).token(&admin).send().await;
    assert_eq!(
        (kept.body["code"].as_str(), kept.body["stage"].as_str()),
        (Some(code.as_str()), Some("transit"))
    );
    let events = app
        .get(&format!("cases/{case}/events"))
        .token(&admin)
        .send()
        .await;
    let details: Vec<&Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["detail"])
        .collect();
    assert_eq!(
        details[1],
        &json!({ "channel": "signal", "note": null, "has_note": true, "redacted": true })
    );
    assert_eq!(
        details[2],
        &json!({ "note": null, "has_note": true, "redacted": true })
    );
    let stored = app.texts("SELECT case_id AS t FROM case_personal").await;
    assert!(stored.is_empty(), "{stored:?}");
    assert!(app
        .texts("SELECT event_id AS t FROM event_notes")
        .await
        .is_empty());
    let keys = app
        .texts(&format!("SELECT case_id AS t FROM case_keys WHERE wrapped_key IS NULL AND shredded_at IS NOT NULL AND case_id = '{case}'"))
        .await;
    assert_eq!(keys, [case]);
}

async fn the_same_person_written_in_two_scripts_is_a_possible_duplicate(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (first, first_code) = new_case(&app, &token).await;
    let (second, _) = new_case(&app, &token).await;
    let (third, _) = new_case(&app, &token).await;
    let alone = put(&app, &token, &first, person()).await;
    assert_eq!(alone.body["possible_duplicates"], json!([]));
    let latin = json!({ "legal_name": "AKHMED  kanarov", "date_of_birth": "1994-03-02" });
    let found = put(&app, &token, &second, latin).await;
    assert_eq!(
        found.body["possible_duplicates"],
        json!([{ "case_id": first, "code": first_code }])
    );
    let other_birthday = json!({ "legal_name": "Akhmed Kanarov", "date_of_birth": "1994-03-03" });
    assert_eq!(
        put(&app, &token, &third, other_birthday).await.body["possible_duplicates"],
        json!([])
    );
    // The key is a keyed hash: neither the name nor its normal form is stored.
    let keys = app
        .texts("SELECT duplicate_key AS t FROM case_personal WHERE duplicate_key IS NOT NULL")
        .await;
    assert_eq!(keys.len(), 3);
    assert!(
        keys.iter().all(|k| k.len() == 64 && !k.contains("akhmed")),
        "{keys:?}"
    );
    // A shredded case is never a duplicate.
    app.shred(&token, &first).await;
    let again = put(
        &app,
        &token,
        &second,
        json!({ "legal_name": "Ахмед Канаров", "date_of_birth": "1994-03-02" }),
    )
    .await;
    assert_eq!(again.body["possible_duplicates"], json!([]));
}

async fn a_ciphertext_moved_to_another_case_or_field_does_not_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (first, _) = new_case(&app, &token).await;
    let (second, _) = new_case(&app, &token).await;
    put(
        &app,
        &token,
        &first,
        json!({ "legal_name": "First Person", "alias": "One" }),
    )
    .await;
    put(
        &app,
        &token,
        &second,
        json!({ "legal_name": "Second Person", "alias": "Two" }),
    )
    .await;
    // Copy the first case's sealed name into the second case's row.
    app.sql(&format!(
        "UPDATE case_personal SET legal_name = (SELECT legal_name FROM case_personal WHERE case_id = '{first}') WHERE case_id = '{second}'"
    ))
    .await;
    let moved = app
        .get(&format!("cases/{second}/personal"))
        .token(&token)
        .send()
        .await;
    moved.assert_problem(500, "internal");
    assert!(!moved.text.contains("Person"), "{}", moved.text);
    // And a sealed alias moved to the name field of its own case.
    app.sql(&format!(
        "UPDATE case_personal SET legal_name = alias WHERE case_id = '{first}'"
    ))
    .await;
    app.get(&format!("cases/{first}/personal"))
        .token(&token)
        .send()
        .await
        .assert_problem(500, "internal");
}

/// Records that the person of `case` gives (or withdraws) consent to share
/// their alias with their shelter.
async fn consent(app: &TestApp, token: &str, case: &str, given: bool) {
    let reply = app
        .post(&format!("cases/{case}/consents"))
        .token(token)
        .json(json!({ "scope": "share_alias_with_shelter", "given": given, "method": "verbal" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn a_shelter_sees_the_alias_of_its_guests_and_nothing_else_personal(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 10).await;
    let (key_id, key) = app.issue_key(&admin, &shelter).await;
    let _ = key_id;
    let (placed, placed_code) = new_case(&app, &admin).await;
    let (unnamed, unnamed_code) = new_case(&app, &admin).await;
    let (elsewhere, _) = new_case(&app, &admin).await;
    for case in [&placed, &unnamed] {
        let moved = app
            .transition(
                &admin,
                case,
                json!({ "to": "safe_house", "shelter_id": shelter }),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
    }
    put(&app, &admin, &placed, person()).await;
    put(
        &app,
        &admin,
        &elsewhere,
        json!({ "alias": "Elsewhere-Alias" }),
    )
    .await;
    // No alias travels to a shelter before the person agrees to it.
    let before = app.get("partner/cases").token(&key).send().await;
    assert_eq!(before.body["items"].as_array().unwrap().len(), 2);
    assert!(!before.text.contains("Sasha"), "{}", before.text);
    for case in [&placed, &elsewhere] {
        consent(&app, &admin, case, true).await;
    }
    let list = app.get("partner/cases").token(&key).send().await;
    let mut seen: Vec<(String, Value)> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap().to_string(), c["alias"].clone()))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (placed_code.clone(), json!("Sasha")),
        (unnamed_code, Value::Null),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen, expected);
    for leak in ["Ахмед", "1994", "signal", "Grozny", "Elsewhere-Alias"] {
        assert!(!list.text.contains(leak), "{leak} in {}", list.text);
    }
    // A withdrawal bites on the next request.
    consent(&app, &admin, &placed, false).await;
    let withdrawn = app.get("partner/cases").token(&key).send().await;
    assert!(!withdrawn.text.contains("Sasha"), "{}", withdrawn.text);
    consent(&app, &admin, &placed, true).await;
    app.shred(&admin, &placed).await;
    let after = app.get("partner/cases").token(&key).send().await;
    let aliases: Vec<&Value> = after.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["alias"])
        .collect();
    assert_eq!(aliases, [&Value::Null, &Value::Null], "none after a shred");
    app.transition(&admin, &unnamed, json!({ "to": "transit" }))
        .await;
    app.transition(&admin, &placed, json!({ "to": "transit" }))
        .await;
    let gone = app.get("partner/cases").token(&key).send().await;
    assert_eq!(gone.body["items"], json!([]), "none after a move away");
}

async fn closed_cases_are_shredded_after_the_retention_period(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (closed, _) = new_case(&app, &token).await;
    let (open, _) = new_case(&app, &token).await;
    let (never_personal, _) = new_case(&app, &token).await;
    put(&app, &token, &closed, person()).await;
    put(&app, &token, &open, person()).await;
    for case in [&closed, &never_personal] {
        let moved = app
            .transition(
                &token,
                case,
                json!({ "to": "closed", "outcome": "resettled" }),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
    }
    app.clock
        .advance(Duration::days(180) - Duration::seconds(1));
    assert_eq!(app.sweep().await, 0, "not before 180 days");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.sweep().await, 2);
    assert_eq!(app.sweep().await, 0, "once");
    let token = app.admin_token().await;
    for case in [&closed, &never_personal] {
        app.get(&format!("cases/{case}/personal"))
            .token(&token)
            .send()
            .await
            .assert_problem(410, "shredded");
    }
    assert_eq!(
        app.get(&format!("cases/{open}/personal"))
            .token(&token)
            .send()
            .await
            .status,
        200
    );
    let shreds: Vec<Value> = app
        .audit_log()
        .await
        .into_iter()
        .filter(|e| e["action"] == "retention.shredded")
        .collect();
    assert_eq!(shreds.len(), 2);
    assert!(shreds
        .iter()
        .all(|e| e["actor"] == json!({ "kind": "system", "id": null })));
    let mut cases: Vec<&str> = shreds
        .iter()
        .map(|e| e["case_id"].as_str().unwrap())
        .collect();
    cases.sort();
    let mut expected = vec![closed.as_str(), never_personal.as_str()];
    expected.sort();
    assert_eq!(cases, expected);
    // On the shred list, outside the database, as the API's shred is.
    let list = app.config.server.data_dir.join("master.key.shredded");
    let mut listed: Vec<String> = std::fs::read_to_string(list)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, expected);
}

backend_tests!(
    personal_data_is_written_read_and_versioned,
    invalid_personal_data_is_refused_field_by_field_without_echo,
    only_coordinators_and_admins_see_personal_data,
    a_shred_destroys_personal_data_for_good_and_keeps_the_case,
    the_same_person_written_in_two_scripts_is_a_possible_duplicate,
    a_ciphertext_moved_to_another_case_or_field_does_not_open,
    a_shelter_sees_the_alias_of_its_guests_and_nothing_else_personal,
    closed_cases_are_shredded_after_the_retention_period,
);
