//! Staff accounts managed by admins.

use corridor::domain::Role;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, PASSWORD};

async fn an_admin_creates_a_user_who_can_then_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let reply = app
        .post("users")
        .token(&admin)
        .json(json!({ "email": "Zelim@Example.org", "display_name": "Zelim", "role": "coordinator", "password": PASSWORD }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["email"], "zelim@example.org");
    assert_eq!(reply.body["role"], "coordinator");
    assert!(
        !reply.text.contains("argon2") && !reply.text.contains("password"),
        "{}",
        reply.text
    );
    assert_eq!(app.login("zelim@example.org", PASSWORD).await.status, 200);
    let list = app.get("users").token(&admin).send().await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert!(!list.text.contains("argon2") && !list.text.contains("password_hash"));
}

async fn bad_user_fields_are_listed_and_nothing_is_created(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let reply = app
        .post("users")
        .token(&admin)
        .json(json!({ "email": "not an email", "display_name": "", "role": "superuser", "password": "short" }))
        .await;
    reply.assert_problem(422, "validation");
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["display_name", "email", "password", "role"]);
    assert_eq!(
        app.get("users").token(&admin).send().await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn an_email_can_belong_to_one_user_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let body = json!({ "email": "dup@example.org", "display_name": "A", "role": "observer", "password": PASSWORD });
    assert_eq!(
        app.post("users")
            .token(&admin)
            .json(body.clone())
            .await
            .status,
        201
    );
    let mut again = body;
    again["email"] = json!("DUP@example.org");
    app.post("users")
        .token(&admin)
        .json(again)
        .await
        .assert_problem(409, "duplicate-email");
}

async fn the_last_active_admin_cannot_be_demoted_or_deactivated(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    for change in [json!({ "active": false }), json!({ "role": "coordinator" })] {
        app.patch(&format!("users/{}", app.admin_id))
            .token(&admin)
            .json(change)
            .await
            .assert_problem(409, "last-admin");
    }
    let (_, _, _) = app.user(Role::Admin).await;
    let reply = app
        .patch(&format!("users/{}", app.admin_id))
        .token(&admin)
        .json(json!({ "role": "coordinator" }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn patching_an_unknown_user_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let missing = uuid::Uuid::now_v7();
    app.patch(&format!("users/{missing}"))
        .token(&admin)
        .json(json!({ "active": false }))
        .await
        .assert_problem(404, "not-found");
    app.patch("users/not-a-uuid")
        .token(&admin)
        .json(json!({ "active": false }))
        .await
        .assert_problem(404, "not-found");
}

backend_tests!(
    an_admin_creates_a_user_who_can_then_sign_in,
    bad_user_fields_are_listed_and_nothing_is_created,
    an_email_can_belong_to_one_user_only,
    the_last_active_admin_cannot_be_demoted_or_deactivated,
    patching_an_unknown_user_is_404,
);
