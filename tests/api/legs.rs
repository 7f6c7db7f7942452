//! Journeys in legs: the moves of a leg, a person on the way who does not
//! arrive (alerted at once, to the coordinator and every admin), a shelter's
//! `arrived` check-in that ends the leg, and the booking reference kept
//! personal.

use chrono::Duration;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, MailSink, TestApp};

const BOOKING: &str = "CANARY-PNR-QX7Z2K";

fn at(app: &TestApp, hours: i64) -> String {
    (app.clock_now() + Duration::hours(hours)).to_rfc3339()
}

fn moscow_vilnius(app: &TestApp, extra: Value) -> Value {
    let mut body = json!({
        "mode": "rail",
        "from": { "city": "Moscow", "country": "RU" },
        "to": { "city": "Vilnius", "country": "LT" },
        "depart_at": at(app, 2),
        "arrive_by": at(app, 20),
        "carrier": "RZD",
        "cost": { "amount": "84.5", "currency": "EUR" },
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn plan(app: &TestApp, token: &str, case: &str, body: Value) -> Value {
    let reply = app
        .post(&format!("cases/{case}/legs"))
        .token(token)
        .json(body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn overdue_alerts(app: &TestApp) -> Vec<Value> {
    let token = app.admin_token().await;
    let reply = app
        .get("alerts?kind=leg_overdue")
        .token(&token)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

async fn a_leg_is_planned_with_its_cost_and_moves_forward_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let code = case["code"].as_str().unwrap();
    let leg = plan(&app, &admin, code, moscow_vilnius(&app, json!({}))).await;
    assert_eq!(leg["status"], "planned");
    assert_eq!(leg["cost"], json!({ "amount": "84.50", "currency": "EUR" }));
    assert_eq!(leg["from"]["city"], "Moscow");
    let path = format!("cases/{code}/legs/{}", leg["id"].as_str().unwrap());
    let departed = app
        .patch(&path)
        .token(&admin)
        .header("If-Match", "\"1\"")
        .json(json!({ "status": "departed" }))
        .await;
    assert_eq!(departed.status, 200, "{}", departed.text);
    let back = app
        .patch(&path)
        .token(&admin)
        .json(json!({ "status": "planned" }))
        .await;
    back.assert_problem(409, "illegal-leg-move");
    assert_eq!(back.body["allowed"], json!(["arrived", "missed"]));
    // Bad input changes nothing.
    for (body, field) in [
        (
            json!({ "cost": { "amount": 12.5, "currency": "EUR" } }),
            "cost",
        ),
        (
            json!({ "cost": { "amount": "12.5", "currency": "eur" } }),
            "cost",
        ),
        (json!({ "arrive_by": at(&app, 1) }), "arrive_by"),
        (
            json!({ "to_shelter_id": uuid::Uuid::now_v7().to_string() }),
            "to_shelter_id",
        ),
    ] {
        let reply = app.patch(&path).token(&admin).json(body).await;
        assert!(
            reply.status == 422 || reply.status == 400,
            "{field}: {}",
            reply.text
        );
    }
    app.post(&format!("cases/{code}/legs"))
        .token(&admin)
        .json(moscow_vilnius(
            &app,
            json!({ "to": { "city": "Vilnius", "country": "Lithuania" } }),
        ))
        .await
        .assert_problem(422, "validation");
    app.post(&format!("cases/{code}/legs"))
        .token(&admin)
        .json(moscow_vilnius(&app, json!({ "mode": "teleport" })))
        .await
        .assert_problem(422, "validation");
    let (_, _, observer) = app.user(Role::Observer).await;
    app.post(&format!("cases/{code}/legs"))
        .token(&observer)
        .json(moscow_vilnius(&app, json!({})))
        .await
        .assert_problem(403, "forbidden");
    let list = app
        .get(&format!("cases/{code}/legs"))
        .token(&observer)
        .send()
        .await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "departed");
    assert_eq!(items[0]["version"], 2);
    // Each move is on the timeline.
    let events = app
        .get(&format!("cases/{code}/events"))
        .token(&admin)
        .send()
        .await;
    let moves: Vec<Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "leg")
        .map(|e| e["detail"]["to"].clone())
        .collect();
    assert_eq!(moves, [json!("planned"), json!("departed")]);
    // Another case's leg is not found.
    let other = app.create_case(&admin, json!({})).await;
    let other = other["id"].as_str().unwrap();
    app.get(&format!(
        "cases/{other}/legs/{}",
        leg["id"].as_str().unwrap()
    ))
    .token(&admin)
    .send()
    .await
    .assert_problem(404, "not-found");
}

async fn a_person_on_the_way_who_does_not_arrive_is_alerted_at_once_to_everyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (coordinator_id, coordinator_email, _) = app.user(Role::Coordinator).await;
    let case = app
        .create_case(&admin, json!({ "assigned_to": coordinator_id }))
        .await;
    let case = case["id"].as_str().unwrap().to_string();
    let shelter = app.create_shelter(&admin, 4).await;
    let leg = plan(
        &app,
        &admin,
        &case,
        moscow_vilnius(
            &app,
            json!({ "status": "departed", "to_shelter_id": shelter }),
        ),
    )
    .await;
    let sink = MailSink::start();
    app.scan().await;
    assert!(overdue_alerts(&app).await.is_empty());
    let listed = app
        .get("cases?in_transit_overdue=true")
        .token(&admin)
        .send()
        .await;
    assert_eq!(listed.body["items"], json!([]));
    // arrive_by passes.
    app.clock.advance(Duration::hours(21));
    app.scan().await;
    app.scan().await;
    let alerts = overdue_alerts(&app).await;
    assert_eq!(alerts.len(), 1, "once");
    app.deliver(&sink.url).await;
    let mails: Vec<_> = sink
        .mails()
        .into_iter()
        .filter(|m| m.subject().contains("leg overdue"))
        .collect();
    // Codes, stages and durations: no place of the journey.
    for mail in &mails {
        for place in ["Moscow", "Vilnius", "RZD"] {
            assert!(!mail.data.contains(place), "{place} in {}", mail.data);
        }
    }
    let told: Vec<Vec<String>> = mails.into_iter().map(|m| m.to).collect();
    let recipients: Vec<&str> = told.iter().flatten().map(String::as_str).collect();
    assert!(
        recipients.contains(&coordinator_email.as_str()),
        "{recipients:?}"
    );
    assert!(
        recipients.contains(&"admin@corridor.test"),
        "{recipients:?}"
    );
    let admin = app.admin_token().await;
    let listed = app
        .get("cases?in_transit_overdue=true")
        .token(&admin)
        .send()
        .await;
    assert_eq!(
        listed.body["items"][0]["id"],
        json!(case),
        "{}",
        listed.text
    );

    // The shelter reports the person arrived: the leg is over, its alert too,
    // though the case is not placed there.
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let code = app
        .get(&format!("cases/{case}"))
        .token(&admin)
        .send()
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_string();
    let checked = app
        .post(&format!("partner/cases/{code}/checkins"))
        .header("X-API-Key", &key)
        .json(json!({ "kind": "arrived" }))
        .await;
    assert_eq!(checked.status, 201, "{}", checked.text);
    let leg = app
        .get(&format!(
            "cases/{case}/legs/{}",
            leg["id"].as_str().unwrap()
        ))
        .token(&admin)
        .send()
        .await;
    assert_eq!(leg.body["status"], "arrived");
    assert_eq!(overdue_alerts(&app).await[0]["state"], "resolved");
    let listed = app
        .get("cases?in_transit_overdue=true")
        .token(&admin)
        .send()
        .await;
    assert_eq!(listed.body["items"], json!([]));
    // Any other check-in by that shelter on a case not placed there: 404.
    app.post(&format!("partner/cases/{code}/checkins"))
        .header("X-API-Key", &key)
        .json(json!({ "kind": "welfare_ok" }))
        .await
        .assert_problem(404, "not-found");
    // Another shelter cannot report them arrived.
    let elsewhere = app.create_shelter(&admin, 4).await;
    let (_, other_key) = app.issue_key(&admin, &elsewhere).await;
    app.post(&format!("partner/cases/{code}/checkins"))
        .header("X-API-Key", &other_key)
        .json(json!({ "kind": "arrived" }))
        .await
        .assert_problem(404, "not-found");
}

async fn the_booking_reference_is_sealed_and_gone_with_a_shred(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    let leg = plan(
        &app,
        &admin,
        &case,
        moscow_vilnius(&app, json!({ "booking_reference": BOOKING })),
    )
    .await;
    assert_eq!(leg["has_booking_reference"], true);
    assert!(!leg.to_string().contains(BOOKING));
    let path = format!("cases/{case}/legs/{}", leg["id"].as_str().unwrap());
    for listed in [
        format!("cases/{case}/legs"),
        format!("cases/{case}/events"),
        "cases.csv".to_string(),
    ] {
        let reply = app.get(&listed).token(&admin).send().await;
        assert!(!reply.text.contains(BOOKING), "{listed}");
    }
    if backend == Backend::Sqlite {
        let file = app.db.url.strip_prefix("sqlite://").unwrap().to_string();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
        let canary = BOOKING.as_bytes();
        assert!(!bytes.windows(canary.len()).any(|w| w == canary));
    }
    let seen = app.get(&path).token(&observer).send().await;
    assert!(
        seen.body.get("booking_reference").is_none(),
        "{}",
        seen.text
    );
    let read = app.get(&path).token(&admin).send().await;
    assert_eq!(read.body["booking_reference"], BOOKING);
    let bad = app
        .patch(&path)
        .token(&admin)
        .json(json!({ "booking_reference": format!("{BOOKING}\t") }))
        .await;
    bad.assert_problem(422, "validation");
    assert!(!bad.text.contains("CANARY"));
    app.shred(&admin, &case).await;
    let after = app.get(&path).token(&admin).send().await;
    assert_eq!(after.body["booking_reference"], Value::Null);
    assert_eq!(after.body["has_booking_reference"], false);
}

backend_tests!(
    a_leg_is_planned_with_its_cost_and_moves_forward_only,
    a_person_on_the_way_who_does_not_arrive_is_alerted_at_once_to_everyone,
    the_booking_reference_is_sealed_and_gone_with_a_shred,
);
