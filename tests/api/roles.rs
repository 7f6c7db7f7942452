//! Each role reaches exactly the endpoints of the `who` column of API.md.

use actix_web::http::Method;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug)]
enum Who {
    Staff,
    Writers,
    Admin,
}

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

    let endpoints: Vec<(Method, String, Option<Value>, Who)> = vec![
        (Method::GET, "users".into(), None, Who::Admin),
        (
            Method::POST,
            "users".into(),
            Some(
                json!({ "email": "x@y.org", "display_name": "X", "role": "observer", "password": "twelve chars!" }),
            ),
            Who::Admin,
        ),
        (
            Method::PATCH,
            format!("users/{user}"),
            Some(json!({ "display_name": "Renamed" })),
            Who::Admin,
        ),
        (Method::GET, "shelters".into(), None, Who::Staff),
        (Method::GET, format!("shelters/{shelter}"), None, Who::Staff),
        (
            Method::POST,
            "shelters".into(),
            Some(json!({ "name": "S", "country": "DE", "capacity": 3 })),
            Who::Writers,
        ),
        (
            Method::PATCH,
            format!("shelters/{shelter}"),
            Some(json!({ "capacity": 11 })),
            Who::Writers,
        ),
        (
            Method::GET,
            format!("shelters/{shelter}/api-keys"),
            None,
            Who::Admin,
        ),
        (
            Method::POST,
            format!("shelters/{shelter}/api-keys"),
            Some(json!({ "label": "desk" })),
            Who::Admin,
        ),
        (
            Method::DELETE,
            format!("shelters/{shelter}/api-keys/{key_id}"),
            None,
            Who::Admin,
        ),
        (Method::GET, "cases".into(), None, Who::Staff),
        (Method::GET, format!("cases/{case}"), None, Who::Staff),
        (
            Method::GET,
            format!("cases/{case}/events"),
            None,
            Who::Staff,
        ),
        (Method::POST, "cases".into(), Some(json!({})), Who::Writers),
        (
            Method::PATCH,
            format!("cases/{case}"),
            Some(json!({ "risk_level": "high" })),
            Who::Writers,
        ),
        (
            Method::POST,
            format!("cases/{case}/contacts"),
            Some(json!({ "channel": "signal" })),
            Who::Writers,
        ),
        (
            Method::POST,
            format!("cases/{case}/snooze"),
            Some(json!({ "until": "2026-12-01T00:00:00Z", "reason": "visa appointment booked" })),
            Who::Writers,
        ),
        (
            Method::POST,
            format!("cases/{case}/transitions"),
            Some(json!({ "to": "transit" })),
            Who::Writers,
        ),
    ];
    for (method, path, body, who) in endpoints {
        for (role, token) in [
            ("observer", &observer),
            ("coordinator", &coordinator),
            ("admin", &admin),
        ] {
            let allowed = match who {
                Who::Staff => true,
                Who::Writers => role != "observer",
                Who::Admin => role == "admin",
            };
            let call = app.call(method.clone(), &path).token(token);
            let reply = match &body {
                Some(body) => call.json(body.clone()).await,
                None => call.send().await,
            };
            if allowed {
                assert!(
                    reply.status < 400 || reply.status == 409,
                    "{role} {method} {path}: {}",
                    reply.text
                );
            } else {
                assert_eq!(reply.status, 403, "{role} {method} {path}: {}", reply.text);
                reply.assert_problem(403, "forbidden");
            }
        }
        let call = app.call(method.clone(), &path);
        let anonymous = match &body {
            Some(body) => call.json(body.clone()).await,
            None => call.send().await,
        };
        assert_eq!(anonymous.status, 401, "anonymous {method} {path}");
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
