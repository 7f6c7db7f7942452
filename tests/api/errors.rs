//! Every error is application/problem+json, whoever raised it.

use actix_web::http::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};

async fn malformed_json_is_a_400_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app
        .post("cases")
        .token(&token)
        .raw("application/json", "{\"household_size\": ")
        .await;
    reply.assert_problem(400, "bad-request");
    let wrong_type = app
        .post("cases")
        .token(&token)
        .json(json!({ "household_size": "two" }))
        .await;
    wrong_type.assert_problem(400, "bad-request");
    let unknown = app
        .post("cases")
        .token(&token)
        .json(json!({ "legal_name": "x" }))
        .await;
    unknown.assert_problem(400, "bad-request");
    let login = app
        .post("auth/login")
        .raw("application/json", "not json")
        .await;
    login.assert_problem(400, "bad-request");
}

async fn a_body_without_json_content_type_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app
        .post("cases")
        .token(&token)
        .raw("text/plain", "{}")
        .await;
    reply.assert_problem(415, "unsupported-media-type");
}

async fn a_body_over_64_kib_is_a_413_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let big = json!({ "origin_region": "x".repeat(70 * 1024) }).to_string();
    let reply = app
        .post("cases")
        .token(&token)
        .raw("application/json", big)
        .await;
    reply.assert_problem(413, "payload-too-large");
    let login = app
        .post("auth/login")
        .raw(
            "application/json",
            json!({ "email": "a", "password": "p".repeat(70_000) }).to_string(),
        )
        .await;
    login.assert_problem(413, "payload-too-large");
}

async fn unknown_routes_and_methods_are_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.get("nothing-here")
        .token(&token)
        .send()
        .await
        .assert_problem(404, "not-found");
    app.get("/").send().await.assert_problem(404, "not-found");
    app.call(Method::DELETE, "cases")
        .token(&token)
        .send()
        .await
        .assert_problem(405, "method-not-allowed");
    app.call(Method::PUT, "shelters")
        .token(&token)
        .json(json!({}))
        .await
        .assert_problem(405, "method-not-allowed");
}

async fn validation_errors_name_each_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app
        .post("cases")
        .token(&token)
        .json(json!({ "household_size": 99, "destination_country": "XX" }))
        .await;
    reply.assert_problem(422, "validation");
    assert_eq!(
        reply.body["errors"],
        json!([
            { "field": "destination_country", "message": "must be an ISO 3166-1 alpha-2 code in capitals, such as CA or DE" },
            { "field": "household_size", "message": "must be between 1 and 50" },
        ])
    );
}

async fn responses_carry_a_request_id_and_are_not_cached(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app.get("cases").token(&token).send().await;
    assert_eq!(reply.header("x-request-id").map(|id| id.len()), Some(16));
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
}

async fn errors_name_the_field_but_never_echo_what_was_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let secret = "Akhmed Kanarov";
    let invalid = app
        .post("cases")
        .token(&token)
        .json(json!({ "risk_level": secret, "needs": ["medical", secret], "assigned_to": secret }))
        .await;
    invalid.assert_problem(422, "validation");
    assert_eq!(
        invalid.body["errors"],
        json!([
            { "field": "assigned_to", "message": "must be an id" },
            { "field": "needs", "message": "must be one of medical, legal, psychological, documents, housing, financial, security" },
            { "field": "risk_level", "message": "must be one of low, medium, high, critical" },
        ])
    );
    let wrong_type = app
        .post("cases")
        .token(&token)
        .json(json!({ "household_size": secret }))
        .await;
    wrong_type.assert_problem(400, "bad-request");
    assert_eq!(
        wrong_type.body["detail"],
        "The request does not fit at `household_size`: wrong type, expected i32."
    );
    let filter = app
        .get("cases?stage=Akhmed%20Kanarov&shelter_id=Akhmed%20Kanarov")
        .token(&token)
        .send()
        .await;
    assert_eq!(filter.error_fields(), ["shelter_id", "stage"]);
    for reply in [&invalid, &wrong_type, &filter] {
        assert!(!reply.text.contains("Akhmed"), "{}", reply.text);
    }
}

async fn a_stored_value_that_does_not_parse_is_an_error_never_a_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app
        .create_case(&token, json!({ "risk_level": "low" }))
        .await;
    let id = case["id"].as_str().unwrap().to_string();
    let pool = app.pool().await;
    let sql = format!("UPDATE cases SET risk_level = 'extreme' WHERE id = '{id}'");
    corridor::db::run(&pool, move |conn| {
        use diesel::RunQueryDsl;
        Ok(diesel::sql_query(sql).execute(conn)?)
    })
    .await
    .unwrap();
    let read = app.get(&format!("cases/{id}")).token(&token).send().await;
    read.assert_problem(500, "internal");
    assert!(!read.text.contains("extreme"), "{}", read.text);
    let listed = app.get("cases").token(&token).send().await;
    listed.assert_problem(500, "internal");
}

backend_tests!(
    a_stored_value_that_does_not_parse_is_an_error_never_a_default,
    errors_name_the_field_but_never_echo_what_was_sent,
    malformed_json_is_a_400_problem,
    a_body_without_json_content_type_is_refused,
    a_body_over_64_kib_is_a_413_problem,
    unknown_routes_and_methods_are_problems,
    validation_errors_name_each_field,
    responses_carry_a_request_id_and_are_not_cached,
);
