//! Cases move through their stages exactly as the table of PRODUCT.md says.

use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, TestApp};

const STAGES: [&str; 5] = ["intake", "safe_house", "transit", "resettlement", "closed"];

/// The allowed moves, written out once more from PRODUCT.md.
const ALLOWED: [(&str, &str); 10] = [
    ("intake", "safe_house"),
    ("intake", "transit"),
    ("intake", "closed"),
    ("safe_house", "safe_house"),
    ("safe_house", "transit"),
    ("safe_house", "closed"),
    ("transit", "safe_house"),
    ("transit", "resettlement"),
    ("transit", "closed"),
    ("resettlement", "closed"),
];

fn allowed_from(stage: &str) -> Vec<&'static str> {
    ALLOWED
        .iter()
        .filter(|(f, _)| *f == stage)
        .map(|(_, t)| *t)
        .collect()
}

/// The body of a move to `to` that supplies what that target needs.
fn move_to(to: &str, shelter: &str) -> Value {
    match to {
        "safe_house" => json!({ "to": to, "shelter_id": shelter }),
        "closed" => json!({ "to": to, "outcome": "resettled" }),
        _ => json!({ "to": to }),
    }
}

/// The allowed moves that bring a new case to `stage`.
fn path_to(stage: &str) -> &'static [&'static str] {
    match stage {
        "intake" => &[],
        "safe_house" => &["safe_house"],
        "transit" => &["transit"],
        "resettlement" => &["transit", "resettlement"],
        "closed" => &["closed"],
        other => panic!("unknown stage {other}"),
    }
}

/// A new case brought to `stage` by allowed moves.
async fn case_in(app: &TestApp, token: &str, stage: &str, shelter: &str) -> String {
    let case = app.create_case(token, json!({})).await;
    let id = case["id"].as_str().unwrap().to_string();
    for step in path_to(stage) {
        let reply = app.transition(token, &id, move_to(step, shelter)).await;
        assert_eq!(reply.status, 200, "to {step}: {}", reply.text);
    }
    id
}

async fn every_stage_pair_is_allowed_or_refused_as_the_table_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let first = app.create_shelter(&token, 100).await;
    let second = app.create_shelter(&token, 100).await;
    for from in STAGES {
        for to in STAGES {
            let id = case_in(&app, &token, from, &first).await;
            let reply = app.transition(&token, &id, move_to(to, &second)).await;
            if ALLOWED.contains(&(from, to)) {
                assert_eq!(reply.status, 200, "{from} -> {to}: {}", reply.text);
                assert_eq!(reply.body["stage"], to);
                // Created at 1, one more for each move on the way and this one.
                let version = 1 + path_to(from).len() + 1;
                assert_eq!(reply.body["version"], version, "{from} -> {to}");
                assert_eq!(
                    reply.header("etag"),
                    Some(format!("\"{version}\"")),
                    "{from} -> {to}"
                );
            } else {
                reply.assert_problem(409, "illegal-transition");
                let allowed: Vec<&str> = reply.body["allowed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(allowed, allowed_from(from), "{from} -> {to}");
                let unchanged = app.get(&format!("cases/{id}")).token(&token).send().await;
                assert_eq!(
                    (&unchanged.body["stage"], &unchanged.body["version"]),
                    (&json!(from), &json!(1 + path_to(from).len())),
                    "a refused move changes nothing"
                );
            }
        }
    }
}

async fn a_case_travels_through_every_stage_to_closed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let shelter = app.create_shelter(&token, 4).await;
    let case = app
        .create_case(&token, json!({ "household_size": 2 }))
        .await;
    let id = case["id"].as_str().unwrap();
    let steps = [
        json!({ "to": "safe_house", "shelter_id": shelter }),
        json!({ "to": "transit", "note": "bus to the border" }),
        json!({ "to": "resettlement" }),
        json!({ "to": "closed", "outcome": "resettled" }),
    ];
    for step in steps {
        let reply = app.transition(&token, id, step.clone()).await;
        assert_eq!(reply.status, 200, "{step}: {}", reply.text);
        assert_eq!(reply.body["stage"], step["to"]);
        assert_eq!(
            reply.body["stage_entered_at"],
            json!("2026-11-23T08:00:00Z")
        );
    }
    let closed = app.get(&format!("cases/{id}")).token(&token).send().await;
    assert_eq!(closed.body["outcome"], "resettled");
    assert_eq!(closed.body["shelter_id"], Value::Null);
    assert_eq!(closed.body["stall_at"], Value::Null);
    assert_eq!(closed.body["stalled"], false);
    assert_eq!(closed.body["version"], 5);
    let events = app
        .get(&format!("cases/{id}/events"))
        .token(&token)
        .send()
        .await;
    let moves: Vec<(String, String)> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "transition")
        .map(|e| {
            (
                e["from_stage"].as_str().unwrap().into(),
                e["to_stage"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("intake", "safe_house"),
        ("safe_house", "transit"),
        ("transit", "resettlement"),
        ("resettlement", "closed"),
    ];
    assert_eq!(moves, expected.map(|(a, b)| (a.to_string(), b.to_string())));
}

async fn entering_a_safe_house_needs_a_shelter_and_closing_an_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app.create_case(&token, json!({})).await;
    let id = case["id"].as_str().unwrap();
    let no_shelter = app
        .transition(&token, id, json!({ "to": "safe_house" }))
        .await;
    no_shelter.assert_problem(422, "validation");
    assert_eq!(no_shelter.error_fields(), vec!["shelter_id"]);
    let unknown = app
        .transition(
            &token,
            id,
            json!({ "to": "safe_house", "shelter_id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(unknown.error_fields(), vec!["shelter_id"]);
    let no_outcome = app.transition(&token, id, json!({ "to": "closed" })).await;
    assert_eq!(no_outcome.error_fields(), vec!["outcome"]);
    let bad_outcome = app
        .transition(&token, id, json!({ "to": "closed", "outcome": "vanished" }))
        .await;
    assert_eq!(bad_outcome.error_fields(), vec!["outcome"]);
    let stray_outcome = app
        .transition(
            &token,
            id,
            json!({ "to": "transit", "outcome": "resettled" }),
        )
        .await;
    assert_eq!(stray_outcome.error_fields(), vec!["outcome"]);
    let bad_stage = app.transition(&token, id, json!({ "to": "limbo" })).await;
    assert_eq!(bad_stage.error_fields(), vec!["to"]);
    let after = app.get(&format!("cases/{id}")).token(&token).send().await;
    assert_eq!(
        (after.body["stage"].as_str(), after.body["version"].as_i64()),
        (Some("intake"), Some(1))
    );
}

async fn moving_between_shelters_needs_a_different_shelter(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let first = app.create_shelter(&token, 5).await;
    let second = app.create_shelter(&token, 5).await;
    let id = case_in(&app, &token, "safe_house", &first).await;
    let same = app
        .transition(
            &token,
            &id,
            json!({ "to": "safe_house", "shelter_id": first }),
        )
        .await;
    assert_eq!(same.error_fields(), vec!["shelter_id"]);
    let moved = app
        .transition(
            &token,
            &id,
            json!({ "to": "safe_house", "shelter_id": second }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["shelter_id"], json!(second));
}

async fn a_transition_of_a_missing_case_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let missing = uuid::Uuid::now_v7().to_string();
    app.transition(&token, &missing, json!({ "to": "transit" }))
        .await
        .assert_problem(404, "not-found");
}

backend_tests!(
    every_stage_pair_is_allowed_or_refused_as_the_table_says,
    a_case_travels_through_every_stage_to_closed,
    entering_a_safe_house_needs_a_shelter_and_closing_an_outcome,
    moving_between_shelters_needs_a_different_shelter,
    a_transition_of_a_missing_case_is_404,
);
