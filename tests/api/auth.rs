//! Sign-in, tokens, sessions and their revocation, lockout.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use corridor::auth::token::JwtKeys;
use corridor::domain::Role;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    spawn_app, spawn_app_with, Backend, Options, ADMIN_EMAIL, JWT_SECRET, PASSWORD,
};

async fn signing_in_returns_a_bearer_token_pair(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    let refresh = reply.str("refresh_token");
    let (session, secret) = refresh.split_once('.').unwrap();
    assert!(uuid::Uuid::parse_str(session).is_ok(), "{refresh}");
    assert!(secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()));
    let me = app.get("me").token(&reply.str("access_token")).send().await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], ADMIN_EMAIL);
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body.as_object().unwrap().len(), 4, "{}", me.text);
}

async fn emails_are_matched_without_regard_to_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.login(&ADMIN_EMAIL.to_uppercase(), PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let wrong = app.login(ADMIN_EMAIL, "not the password at all").await;
    let unknown = app.login("nobody@corridor.test", PASSWORD).await;
    wrong.assert_problem(401, "unauthorized");
    unknown.assert_problem(401, "unauthorized");
    assert_eq!(wrong.text, unknown.text);
    assert_eq!(wrong.header("www-authenticate").as_deref(), Some("Bearer"));
}

async fn five_failed_sign_ins_lock_the_account_even_against_the_right_password(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        app.login(ADMIN_EMAIL, "wrong password here")
            .await
            .assert_problem(401, "unauthorized");
    }
    let locked = app.login(ADMIN_EMAIL, PASSWORD).await;
    locked.assert_problem(429, "too-many-requests");
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    // Other accounts are not affected.
    let (_, email, _) = app.user(Role::Coordinator).await;
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    // When the window has passed, the right password works again.
    app.clock.advance(Duration::seconds(retry));
    assert_eq!(app.login(ADMIN_EMAIL, PASSWORD).await.status, 200);
}

async fn an_unknown_email_locks_out_exactly_like_a_known_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut answers = Vec::new();
    for email in [ADMIN_EMAIL, "nobody@corridor.test"] {
        for _ in 0..5 {
            app.login(email, "wrong password here")
                .await
                .assert_problem(401, "unauthorized");
        }
        let sixth = app.login(email, "wrong password here").await;
        answers.push((sixth.status, sixth.header("retry-after"), sixth.text));
    }
    assert_eq!(answers[0].0, 429);
    assert_eq!(
        answers[0], answers[1],
        "a known and an unknown email answer alike"
    );
}

async fn failures_older_than_fifteen_minutes_do_not_count(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..4 {
        app.login(ADMIN_EMAIL, "wrong password here").await;
    }
    app.clock.advance(Duration::minutes(16));
    app.login(ADMIN_EMAIL, "wrong password here").await;
    assert_eq!(app.login(ADMIN_EMAIL, PASSWORD).await.status, 200);
}

async fn refreshing_rotates_the_refresh_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.login(ADMIN_EMAIL, PASSWORD).await;
    let refreshed = app
        .post("auth/refresh")
        .json(json!({ "refresh_token": first.str("refresh_token") }))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_ne!(refreshed.str("refresh_token"), first.str("refresh_token"));
    assert_eq!(
        app.get("me")
            .token(&refreshed.str("access_token"))
            .send()
            .await
            .status,
        200
    );
    let again = app
        .post("auth/refresh")
        .json(json!({ "refresh_token": refreshed.str("refresh_token") }))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
}

async fn presenting_a_used_refresh_token_revokes_the_whole_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.login(ADMIN_EMAIL, PASSWORD).await;
    let old = first.str("refresh_token");
    let rotated = app
        .post("auth/refresh")
        .json(json!({ "refresh_token": old }))
        .await;
    assert_eq!(rotated.status, 200);
    // The stolen copy comes back:
    app.post("auth/refresh")
        .json(json!({ "refresh_token": old }))
        .await
        .assert_problem(401, "unauthorized");
    // ... and every token of that session stops working.
    assert_eq!(
        app.get("me")
            .token(&rotated.str("access_token"))
            .send()
            .await
            .status,
        401
    );
    assert_eq!(
        app.get("me")
            .token(&first.str("access_token"))
            .send()
            .await
            .status,
        401
    );
    let next = app
        .post("auth/refresh")
        .json(json!({ "refresh_token": rotated.str("refresh_token") }))
        .await;
    assert_eq!(next.status, 401);
}

async fn a_refresh_token_expires_with_its_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.login(ADMIN_EMAIL, PASSWORD).await;
    app.clock.advance(Duration::days(15));
    let reply = app
        .post("auth/refresh")
        .json(json!({ "refresh_token": first.str("refresh_token") }))
        .await;
    reply.assert_problem(401, "unauthorized");
}

async fn logging_out_ends_the_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.login(ADMIN_EMAIL, PASSWORD).await;
    let other = app.admin_token().await;
    let token = session.str("access_token");
    assert_eq!(
        app.post("auth/logout").token(&token).send().await.status,
        204
    );
    assert_eq!(app.get("me").token(&token).send().await.status, 401);
    let refresh = app
        .post("auth/refresh")
        .json(json!({ "refresh_token": session.str("refresh_token") }))
        .await;
    assert_eq!(refresh.status, 401);
    // Another session of the same user goes on.
    assert_eq!(app.get("me").token(&other).send().await.status, 200);
}

async fn an_access_token_expires_after_fifteen_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.clock.advance(Duration::minutes(14));
    assert_eq!(app.get("me").token(&token).send().await.status, 200);
    app.clock.advance(Duration::minutes(1));
    app.get("me")
        .token(&token)
        .send()
        .await
        .assert_problem(401, "unauthorized");
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn forged_and_malformed_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let keys = JwtKeys::new(JWT_SECRET.as_bytes(), Duration::minutes(15));
    let claims = keys.verify(&token, app.clock_now()).expect("a valid token");
    let good = serde_json::to_value(&*claims).unwrap();
    let sign = |alg: Algorithm, claims: &Value| {
        encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&good)
    );
    let now = app.clock_now().timestamp();
    let forged = [
        ("alg none", unsigned),
        ("HS384", sign(Algorithm::HS384, &good)),
        ("HS512", sign(Algorithm::HS512, &good)),
        (
            "wrong audience",
            sign(Algorithm::HS256, &with("aud", json!("someone-else"))),
        ),
        (
            "wrong issuer",
            sign(Algorithm::HS256, &with("iss", json!("someone-else"))),
        ),
        (
            "expired",
            sign(Algorithm::HS256, &with("exp", json!(now - 1))),
        ),
        (
            "not yet valid",
            sign(Algorithm::HS256, &with("nbf", json!(now + 60))),
        ),
        (
            "exp as a string",
            sign(
                Algorithm::HS256,
                &with("exp", json!((now + 600).to_string())),
            ),
        ),
        ("no exp", sign(Algorithm::HS256, &without("exp"))),
        ("no iat", sign(Algorithm::HS256, &without("iat"))),
        ("no nbf", sign(Algorithm::HS256, &without("nbf"))),
        ("no jti", sign(Algorithm::HS256, &without("jti"))),
        ("no aud", sign(Algorithm::HS256, &without("aud"))),
        ("no iss", sign(Algorithm::HS256, &without("iss"))),
        ("no sub", sign(Algorithm::HS256, &without("sub"))),
        (
            "another user's session",
            sign(
                Algorithm::HS256,
                &with("sub", json!(uuid::Uuid::now_v7().to_string())),
            ),
        ),
        (
            "unknown session",
            sign(
                Algorithm::HS256,
                &with("sid", json!(uuid::Uuid::now_v7().to_string())),
            ),
        ),
        (
            "tampered signature",
            format!("{}x", &token[..token.len() - 1]),
        ),
        ("garbage", "not-a-token".to_string()),
        (
            "api key",
            "crd_0123456789abcdefghijklmnopqrstuvwxyz".to_string(),
        ),
    ];
    for (what, forged) in forged {
        let reply = app.get("me").token(&forged).send().await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
        reply.assert_problem(401, "unauthorized");
    }
    // A token signed with the right key and fields still passes: the refusals above are specific.
    assert_eq!(
        app.get("me")
            .token(&sign(Algorithm::HS256, &good))
            .send()
            .await
            .status,
        200
    );
    assert_eq!(app.get("me").send().await.status, 401);
    assert_eq!(
        app.get("me")
            .header("Authorization", &format!("Basic {token}"))
            .send()
            .await
            .status,
        401
    );
}

async fn changing_the_password_signs_out_every_other_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, email, first) = app.user(Role::Coordinator).await;
    let second = app.token_for(&email).await;
    let new_password = "a brand new long password";
    let wrong = app
        .post("me/password")
        .token(&second)
        .json(json!({ "current_password": "not it at all", "new_password": new_password }))
        .await;
    wrong.assert_problem(422, "validation");
    let short = app
        .post("me/password")
        .token(&second)
        .json(json!({ "current_password": PASSWORD, "new_password": "short" }))
        .await;
    assert_eq!(short.error_fields(), vec!["new_password"]);
    let changed = app
        .post("me/password")
        .token(&second)
        .json(json!({ "current_password": PASSWORD, "new_password": new_password }))
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(app.get("me").token(&first).send().await.status, 401);
    assert_eq!(app.get("me").token(&second).send().await.status, 200);
    assert_eq!(app.login(&email, PASSWORD).await.status, 401);
    assert_eq!(app.login(&email, new_password).await.status, 200);
}

async fn deactivating_a_user_revokes_their_sessions_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (id, email, token) = app.user(Role::Coordinator).await;
    assert_eq!(app.get("cases").token(&token).send().await.status, 200);
    let reply = app
        .patch(&format!("users/{id}"))
        .token(&admin)
        .json(json!({ "active": false }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["active"], false);
    assert_eq!(app.get("cases").token(&token).send().await.status, 401);
    assert_eq!(app.login(&email, PASSWORD).await.status, 401);
}

async fn a_role_change_counts_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (id, _, token) = app.user(Role::Coordinator).await;
    assert_eq!(
        app.post("cases").token(&token).json(json!({})).await.status,
        201
    );
    app.patch(&format!("users/{id}"))
        .token(&admin)
        .json(json!({ "role": "observer" }))
        .await;
    app.post("cases")
        .token(&token)
        .json(json!({}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.get("me").token(&token).send().await.body["role"],
        "observer"
    );
}

async fn a_promotion_counts_on_the_next_request_and_a_revoked_session_on_every_route(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (id, _, token) = app.user(Role::Observer).await;
    let refused = app.post("cases").token(&token).json(json!({})).await;
    refused.assert_problem(403, "forbidden");
    app.patch(&format!("users/{id}"))
        .token(&admin)
        .json(json!({ "role": "coordinator" }))
        .await;
    // The token still says observer; the role now decides.
    let case = app.post("cases").token(&token).json(json!({})).await;
    assert_eq!(case.status, 201, "{}", case.text);
    let case_id = case.str("id");
    assert_eq!(
        app.post("auth/logout").token(&token).send().await.status,
        204
    );
    for (method, path) in [
        ("GET", format!("cases/{case_id}")),
        ("GET", "cases".to_string()),
        ("GET", "cases.csv".to_string()),
        ("GET", "me".to_string()),
        ("GET", "stats".to_string()),
        ("POST", "cases".to_string()),
    ] {
        let call = match method {
            "GET" => app.get(&path).token(&token).send().await,
            _ => app.post(&path).token(&token).json(json!({})).await,
        };
        call.assert_problem(401, "unauthorized");
    }
}

async fn a_restart_keeps_sessions_valid_with_a_generated_secret(backend: Backend) {
    let mut app = spawn_app_with(
        backend,
        Options {
            jwt_secret: String::new(),
            ..Options::default()
        },
    )
    .await;
    let token = app.admin_token().await;
    let secret = app.config.server.data_dir.join("jwt_secret");
    app.restart().await;
    assert_eq!(app.get("me").token(&token).send().await.status, 200);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

backend_tests!(
    signing_in_returns_a_bearer_token_pair,
    emails_are_matched_without_regard_to_case,
    a_wrong_password_and_an_unknown_email_get_the_same_401,
    five_failed_sign_ins_lock_the_account_even_against_the_right_password,
    an_unknown_email_locks_out_exactly_like_a_known_one,
    failures_older_than_fifteen_minutes_do_not_count,
    refreshing_rotates_the_refresh_token,
    presenting_a_used_refresh_token_revokes_the_whole_session,
    a_refresh_token_expires_with_its_session,
    logging_out_ends_the_session_at_once,
    an_access_token_expires_after_fifteen_minutes,
    forged_and_malformed_tokens_are_refused,
    changing_the_password_signs_out_every_other_session,
    deactivating_a_user_revokes_their_sessions_on_the_next_request,
    a_role_change_counts_on_the_next_request,
    a_promotion_counts_on_the_next_request_and_a_revoked_session_on_every_route,
    a_restart_keeps_sessions_valid_with_a_generated_secret,
);
