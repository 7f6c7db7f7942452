//! Each role reaches exactly the endpoints of the `who` column of API.md.

use actix_web::http::Method;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};

/// Statuses for (observer, coordinator, admin), in the order they call.
const STAFF: [u16; 3] = [200, 200, 200];
const ADMIN_READ: [u16; 3] = [403, 403, 200];

async fn every_endpoint_admits_exactly_its_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let shelter = app.create_shelter(&admin, 10).await;
    let case = app.create_case(&admin, json!({})).await;
    let case = case["id"].as_str().unwrap().to_string();
    let (user, _, _) = app.user(Role::Observer).await;
    let (key_id, _) = app.issue_key(&admin, &shelter).await;

    let endpoints: Vec<(Method, String, Option<Value>, [u16; 3])> = vec![
        (Method::GET, "users".into(), None, ADMIN_READ),
        (
            Method::POST,
            "users".into(),
            Some(
                json!({ "email": "x@y.org", "display_name": "X", "role": "observer", "password": "twelve chars!" }),
            ),
            [403, 403, 201],
        ),
        (
            Method::PATCH,
            format!("users/{user}"),
            Some(json!({ "display_name": "Renamed" })),
            ADMIN_READ,
        ),
        (Method::GET, "shelters".into(), None, STAFF),
        (Method::GET, format!("shelters/{shelter}"), None, STAFF),
        (
            Method::POST,
            "shelters".into(),
            Some(json!({ "name": "S", "country": "DE", "capacity": 3 })),
            [403, 201, 201],
        ),
        (
            Method::PATCH,
            format!("shelters/{shelter}"),
            Some(json!({ "capacity": 11 })),
            [403, 200, 200],
        ),
        (
            Method::GET,
            format!("shelters/{shelter}/api-keys"),
            None,
            ADMIN_READ,
        ),
        (
            Method::POST,
            format!("shelters/{shelter}/api-keys"),
            Some(json!({ "label": "desk" })),
            [403, 403, 201],
        ),
        (
            Method::DELETE,
            format!("shelters/{shelter}/api-keys/{key_id}"),
            None,
            [403, 403, 204],
        ),
        (Method::GET, "cases".into(), None, STAFF),
        (Method::GET, format!("cases/{case}"), None, STAFF),
        (Method::GET, format!("cases/{case}/events"), None, STAFF),
        (
            Method::POST,
            "cases".into(),
            Some(json!({})),
            [403, 201, 201],
        ),
        (
            Method::PATCH,
            format!("cases/{case}"),
            Some(json!({ "risk_level": "high" })),
            [403, 200, 200],
        ),
        (
            Method::POST,
            format!("cases/{case}/contacts"),
            Some(json!({ "channel": "signal" })),
            [403, 201, 201],
        ),
        (
            Method::POST,
            format!("cases/{case}/snooze"),
            Some(json!({ "until": "2026-12-01T00:00:00Z", "reason": "visa appointment booked" })),
            [403, 200, 200],
        ),
        (
            Method::POST,
            format!("cases/{case}/transitions"),
            Some(json!({ "to": "transit" })),
            // The coordinator moved the case already: transit to transit is illegal.
            [403, 200, 409],
        ),
    ];
    for (method, path, body, expected) in endpoints {
        let tokens = [
            ("observer", &observer),
            ("coordinator", &coordinator),
            ("admin", &admin),
        ];
        for ((role, token), status) in tokens.into_iter().zip(expected) {
            let call = app.call(method.clone(), &path).token(token);
            let reply = match &body {
                Some(body) => call.json(body.clone()).await,
                None => call.send().await,
            };
            assert_eq!(
                reply.status, status,
                "{role} {method} {path}: {}",
                reply.text
            );
            if status == 403 {
                reply.assert_problem(403, "forbidden");
            }
        }
        let call = app.call(method.clone(), &path);
        let anonymous = match &body {
            Some(body) => call.json(body.clone()).await,
            None => call.send().await,
        };
        anonymous.assert_problem(401, "unauthorized");
    }
    // Health needs nobody.
    assert_eq!(app.get("/healthz").send().await.status, 200);
    assert_eq!(app.get("/readyz").send().await.status, 200);
}

async fn an_observer_reads_cases_but_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app
        .create_case(&admin, json!({ "risk_level": "low" }))
        .await;
    let id = case["id"].as_str().unwrap();
    app.patch(&format!("cases/{id}"))
        .token(&observer)
        .json(json!({ "risk_level": "critical" }))
        .await
        .assert_problem(403, "forbidden");
    let read = app
        .get(&format!("cases/{id}"))
        .token(&observer)
        .send()
        .await;
    assert_eq!(read.body["risk_level"], "low");
    assert_eq!(read.body["version"], 1);
}

backend_tests!(
    every_endpoint_admits_exactly_its_roles,
    an_observer_reads_cases_but_changes_nothing
);
