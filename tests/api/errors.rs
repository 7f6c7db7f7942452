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
    let errors = reply.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    for error in errors {
        assert!(
            error["field"].is_string() && error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
}

async fn responses_carry_a_request_id_and_are_not_cached(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app.get("cases").token(&token).send().await;
    assert_eq!(reply.header("x-request-id").map(|id| id.len()), Some(16));
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
}

backend_tests!(
    malformed_json_is_a_400_problem,
    a_body_without_json_content_type_is_refused,
    a_body_over_64_kib_is_a_413_problem,
    unknown_routes_and_methods_are_problems,
    validation_errors_name_each_field,
    responses_carry_a_request_id_and_are_not_cached,
);
