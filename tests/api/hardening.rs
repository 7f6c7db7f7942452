//! What a hostile probe and a new user found: spraying and lockouts by
//! address, weak passwords, control characters, alert floods, security
//! headers, and the rough edges (Location, Allow, empty bodies, typos in
//! the environment, stall limits changed between starts).

use chrono::Duration;
use corridor::config::Config;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    command, corridor, run, spawn_app, spawn_app_with, Backend, MailSink, Options, TestApp,
    ADMIN_EMAIL, PASSWORD,
};

/// An app behind a proxy at 127.0.0.1, so a test can speak from any
/// address through `X-Forwarded-For`.
async fn behind_proxy(backend: Backend) -> TestApp {
    let options = Options {
        configure: |c: &mut Config| c.server.trusted_proxies = "127.0.0.1".into(),
        ..Options::default()
    };
    spawn_app_with(backend, options).await
}

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> u16 {
    app.post("auth/login")
        .header("X-Forwarded-For", address)
        .json(json!({ "email": email, "password": password }))
        .await
        .status
}

async fn audit_targets(app: &TestApp, action: &str) -> Vec<String> {
    app.audit_log()
        .await
        .into_iter()
        .filter(|e| e["action"] == action)
        .map(|e| e["target"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn one_address_spraying_many_accounts_meets_429(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..20 {
        let email = format!("person{n}@corridor.test");
        app.login(&email, "Summer2026!!")
            .await
            .assert_problem(401, "unauthorized");
    }
    let refused = app.login("person20@corridor.test", "Summer2026!!").await;
    refused.assert_problem(429, "too-many-requests");
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    // Even the right password, from this address, waits.
    app.login(ADMIN_EMAIL, PASSWORD)
        .await
        .assert_problem(429, "too-many-requests");
    app.clock.advance(Duration::seconds(retry));
    assert_eq!(app.login(ADMIN_EMAIL, PASSWORD).await.status, 200);
}

async fn the_address_limit_is_configurable_and_the_proxy_header_believed_only_from_a_proxy(
    backend: Backend,
) {
    let options = Options {
        configure: |c: &mut Config| c.auth.sign_in_failures_per_address = 3,
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    for n in 0..3 {
        // No proxy is trusted: the header cannot spread the attempts out.
        let status = login_from(&app, &format!("198.51.100.{n}"), "x@corridor.test", "wrong").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        login_from(&app, "198.51.100.9", "y@corridor.test", "wrong").await,
        429
    );
}

async fn a_lockout_holds_for_one_address_and_the_right_password_gets_in_from_another(
    backend: Backend,
) {
    let app = behind_proxy(backend).await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, attacker, ADMIN_EMAIL, "wrong guess").await,
            401
        );
    }
    assert_eq!(login_from(&app, attacker, ADMIN_EMAIL, PASSWORD).await, 429);
    assert_eq!(
        login_from(&app, "192.0.2.10", ADMIN_EMAIL, PASSWORD).await,
        200,
        "the admin is not locked out by someone else's guesses"
    );
    let admin_id = app.admin_id.clone();
    assert_eq!(
        audit_targets(&app, "login.locked").await,
        [format!("account_from_address {admin_id}")]
    );
}

async fn fifty_failures_from_anywhere_lock_the_account_everywhere_until_unlocked(backend: Backend) {
    let app = behind_proxy(backend).await;
    for address in 0..10 {
        for _ in 0..5 {
            let from = format!("203.0.113.{address}");
            assert_eq!(
                login_from(&app, &from, ADMIN_EMAIL, "wrong guess").await,
                401
            );
        }
    }
    assert_eq!(
        login_from(&app, "192.0.2.10", ADMIN_EMAIL, PASSWORD).await,
        429,
        "locked everywhere"
    );
    // Other accounts are not.
    let (_, email, _) = app.user(Role::Coordinator).await;
    assert_eq!(login_from(&app, "192.0.2.10", &email, PASSWORD).await, 200);
    let (ok, out) = corridor(&app, "", &["users", "unlock", "--email", ADMIN_EMAIL]);
    assert!(
        ok && out.contains("50 failed sign-in(s) forgotten"),
        "{out}"
    );
    assert_eq!(
        login_from(&app, "192.0.2.10", ADMIN_EMAIL, PASSWORD).await,
        200
    );
    assert_eq!(
        login_from(&app, "203.0.113.0", ADMIN_EMAIL, PASSWORD).await,
        200
    );
    let admin_id = app.admin_id.clone();
    assert_eq!(
        audit_targets(&app, "login.locked").await,
        [format!("account {admin_id}")]
    );
    assert_eq!(audit_targets(&app, "login.unlocked").await, [admin_id]);
}

async fn weak_passwords_are_refused_naming_the_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let cases = [
        ("123456789012", "consecutive"),
        ("password1234", "most used passwords"),
        ("            ", "one character repeated"),
        ("short", "at least 12 characters"),
        (
            "zelimkhan-rides-at-dawn",
            "name part of the account's email",
        ),
    ];
    for (password, rule) in cases {
        let reply = app
            .post("users")
            .token(&admin)
            .json(json!({ "email": "Zelimkhan@example.org", "display_name": "Z", "role": "observer", "password": password }))
            .await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.error_fields(), ["password"], "{}", reply.text);
        assert!(reply.text.contains(rule), "{password:?}: {}", reply.text);
        assert!(!reply.text.contains(password.trim()) || password.trim().is_empty());
    }
    let changed = app
        .post("me/password")
        .token(&admin)
        .json(json!({ "current_password": PASSWORD, "new_password": "password1234" }))
        .await;
    changed.assert_problem(422, "validation");
    assert_eq!(changed.error_fields(), ["new_password"]);
    let created = app
        .post("users")
        .token(&admin)
        .json(json!({ "email": "zelimkhan@example.org", "display_name": "Z", "role": "observer", "password": "a long night train to Tbilisi" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
}

async fn the_cli_shares_the_apis_rules_for_new_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = |email: &'static str| {
        let args = [
            "users",
            "create",
            "--email",
            email,
            "--name",
            "Z",
            "--role",
            "observer",
            "--password-stdin",
        ];
        command(&app, "", &args)
    };
    let (ok, out) = run(create("not-an-email"), "a long night train to Tbilisi\n");
    assert!(!ok && out.contains("the email"), "{out}");
    let (ok, out) = run(create("zelimkhan@example.org"), "password1234\n");
    assert!(!ok && out.contains("most used passwords"), "{out}");
    let (ok, out) = run(create("zelimkhan@example.org"), "zelimkhan-rides-at-dawn\n");
    assert!(
        !ok && out.contains("name part of the account's email"),
        "{out}"
    );
    let (ok, out) = run(
        create("zelimkhan@example.org"),
        "a long night train to Tbilisi\n",
    );
    assert!(ok, "{out}");
    let token = app.admin_token().await;
    let users = app.get("users").token(&token).send().await;
    assert_eq!(
        users.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        users.text
    );
}

async fn accounts_are_recovered_from_the_command_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, email, token) = app.user(Role::Coordinator).await;
    let (ok, out) = corridor(&app, "", &["users", "list"]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{id}\t{email}\tcoordinator\tactive\tTest User")),
        "{out}"
    );
    assert!(
        out.contains(ADMIN_EMAIL) && !out.contains("argon2"),
        "{out}"
    );

    let set = [
        "users",
        "set-password",
        "--email",
        &email,
        "--password-stdin",
    ];
    let (ok, out) = run(command(&app, "", &set), "password1234\n");
    assert!(!ok && out.contains("most used passwords"), "{out}");
    let (ok, out) = run(command(&app, "", &set), "a long night train to Tbilisi\n");
    assert!(ok && out.contains("1 session(s) ended"), "{out}");
    assert!(!out.contains("Tbilisi"), "the password is never printed");
    app.get("me")
        .token(&token)
        .send()
        .await
        .assert_problem(401, "unauthorized");
    app.login(&email, PASSWORD)
        .await
        .assert_problem(401, "unauthorized");
    let fresh = app.login(&email, "a long night train to Tbilisi").await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);

    let (ok, out) = corridor(&app, "", &["users", "deactivate", "--email", &email]);
    assert!(ok, "{out}");
    app.get("me")
        .token(&fresh.str("access_token"))
        .send()
        .await
        .assert_problem(401, "unauthorized");
    let (ok, out) = corridor(&app, "", &["users", "list"]);
    assert!(
        ok && out.contains(&format!("{email}\tcoordinator\tinactive")),
        "{out}"
    );
    let (ok, out) = corridor(&app, "", &["users", "deactivate", "--email", ADMIN_EMAIL]);
    assert!(!ok && out.contains("last active admin"), "{out}");
    let (ok, out) = corridor(&app, "", &["users", "unlock", "--email", "nobody@x.org"]);
    assert!(
        !ok && out.contains("no user has the email nobody@x.org"),
        "{out}"
    );
    let actions: Vec<String> = app
        .audit_log()
        .await
        .iter()
        .filter(|e| e["actor"]["kind"] == "system")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["password.changed", "user.updated"]);
}

async fn control_characters_are_refused_at_the_edge_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let reply = app
        .post("cases")
        .token(&admin)
        .json(json!({ "origin_region": "Grozny\u{0}", "destination_country": "N\u{1b}L", "needs": ["medical"] }))
        .await;
    reply.assert_problem(422, "validation");
    assert_eq!(
        reply.error_fields(),
        ["destination_country", "origin_region"]
    );
    assert!(reply.text.contains("must not contain control characters"));
    let listed = app.get("cases").token(&admin).send().await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored");
    // Tab and newline are text.
    let case = app
        .create_case(&admin, json!({ "origin_region": "Grozny,\tthen\nNazran" }))
        .await;
    let id = case["id"].as_str().unwrap();
    let personal = app
        .put(&format!("cases/{id}/personal"))
        .token(&admin)
        .json(json!({ "legal_name": "Ахмед\u{0}Канаров", "contacts": [{ "channel": "signal", "value": "+7\u{7f}900" }] }))
        .await;
    personal.assert_problem(422, "validation");
    assert_eq!(personal.error_fields(), ["contacts.value", "legal_name"]);
    app.get("cases?q=EV%00")
        .token(&admin)
        .send()
        .await
        .assert_problem(422, "validation");
    // The sign-in body tells nothing: 400, whichever field.
    let login = app.login("admin@corridor.test\u{0}", PASSWORD).await;
    login.assert_problem(400, "bad-request");
    assert!(!login.text.contains("email"), "{}", login.text);
    let field_name = app
        .post("cases")
        .token(&admin)
        .raw("application/json", "{\"origin\\u0000region\": \"x\"}")
        .await;
    field_name.assert_problem(400, "bad-request");
}

async fn a_cyrillic_search_that_looks_like_a_code_is_a_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    for q in [
        "%D0%95%D0%92",
        "EV-%D0%95",
        "%F0%9F%8F%B3%EF%B8%8F%E2%80%8D%F0%9F%8C%88",
    ] {
        let reply = app.get(&format!("cases?q={q}")).token(&admin).send().await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.error_fields(), ["q"]);
    }
    assert_eq!(app.get("cases?q=ev").token(&admin).send().await.status, 200);
}

/// A case placed at a shelter with a key: (admin token, case id, code, key).
async fn placed_case(app: &TestApp) -> (String, String, String, String) {
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 4).await;
    let case = app.create_case(&admin, json!({})).await;
    let id = case["id"].as_str().unwrap().to_string();
    let placed = app
        .transition(
            &admin,
            &id,
            json!({ "to": "safe_house", "shelter_id": shelter }),
        )
        .await;
    assert_eq!(placed.status, 200, "{}", placed.text);
    let (_, key) = app.issue_key(&admin, &shelter).await;
    (admin, id, case["code"].as_str().unwrap().to_string(), key)
}

async fn check_in(app: &TestApp, key: &str, code: &str, kind: &str) -> crate::helpers::Reply {
    app.post(&format!("partner/cases/{code}/checkins"))
        .token(key)
        .json(json!({ "kind": kind }))
        .await
}

/// Acknowledges an alert with no body at all.
async fn acknowledge(app: &TestApp, token: &str, alert: &str) -> crate::helpers::Reply {
    app.post(&format!("alerts/{alert}/ack"))
        .token(token)
        .send()
        .await
}

async fn a_flood_of_check_ins_raises_one_alert_while_it_is_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let (admin, id, code, key) = placed_case(&app).await;
    app.user(Role::Coordinator).await;
    for _ in 0..5 {
        let reply = check_in(&app, &key, &code, "needs_help").await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let alerts = app.get("alerts").token(&admin).send().await;
    let items = alerts.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", alerts.text);
    let events = app
        .get(&format!("cases/{id}/events?limit=100"))
        .token(&admin)
        .send()
        .await;
    let check_ins = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "check_in")
        .count();
    assert_eq!(check_ins, 5, "every check-in is on the timeline");
    assert_eq!(app.deliver(&sink.url).await.sent, 1);
    // Acknowledged, it is no longer open: a new request for help is news.
    let alert = items[0]["id"].as_str().unwrap();
    let ack = acknowledge(&app, &admin, alert).await;
    assert_eq!(ack.status, 200, "{}", ack.text);
    check_in(&app, &key, &code, "needs_help").await;
    let alerts = app.get("alerts?state=open").token(&admin).send().await;
    assert_eq!(alerts.body["items"].as_array().unwrap().len(), 1);
}

async fn the_alert_email_names_its_full_acknowledge_url_and_ack_needs_no_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let (admin, _, code, key) = placed_case(&app).await;
    app.user(Role::Coordinator).await;
    check_in(&app, &key, &code, "missing").await;
    app.deliver(&sink.url).await;
    let alerts = app.get("alerts").token(&admin).send().await;
    let alert = alerts.body["items"][0]["id"].as_str().unwrap().to_string();
    let mails = sink.mails();
    let url = format!(
        "{}/api/v1/alerts/{alert}/ack",
        app.config.server.public_url.trim_end_matches('/')
    );
    assert!(
        mails[0].data.contains(&format!("POST {url}")),
        "{}",
        mails[0].data
    );
    assert!(!mails[0].data.contains("{id}"));
    // No body, no content type: as `{}`.
    let ack = acknowledge(&app, &admin, &alert).await;
    assert_eq!(ack.status, 200, "{}", ack.text);
    assert_eq!(ack.body["state"], "acknowledged");
    // A body that is there must still say it is JSON.
    app.post(&format!("alerts/{alert}/ack"))
        .token(&admin)
        .raw("text/plain", "note")
        .await
        .assert_problem(415, "unsupported-media-type");
}

fn assert_security_headers(reply: &crate::helpers::Reply, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        assert_eq!(
            reply.header(name).as_deref(),
            Some(value),
            "{name} on {what}"
        );
    }
}

async fn every_answer_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    for (reply, what) in [
        (app.get("cases").token(&admin).send().await, "200"),
        (app.get("cases").send().await, "401"),
        (app.get("nothing/here").send().await, "404"),
        (app.delete("cases").token(&admin).send().await, "405"),
        (app.login("a@b.org", "wrong").await, "login 401"),
    ] {
        assert_security_headers(&reply, what);
        assert_eq!(
            reply.header("strict-transport-security"),
            None,
            "http: no HSTS"
        );
    }
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers().get("x-frame-options").unwrap(), "DENY");
}

async fn hsts_is_sent_when_the_public_url_is_https(backend: Backend) {
    let options = Options {
        configure: |c: &mut Config| c.server.public_url = "https://corridor.example.org".into(),
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    let reply = app.get("me").send().await;
    assert_eq!(
        reply.header("strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
    assert_security_headers(&reply, "https");
}

async fn created_things_say_where_they_live_and_405_says_what_is_allowed(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let created: [(&str, Value); 3] = [
        ("cases", json!({})),
        (
            "shelters",
            json!({ "name": "Dom", "country": "LT", "capacity": 2 }),
        ),
        (
            "users",
            json!({ "email": "x@corridor.test", "display_name": "X", "role": "observer", "password": "a long night train to Tbilisi" }),
        ),
    ];
    for (collection, body) in created {
        let reply = app.post(collection).token(&admin).json(body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let location = reply.header("location").unwrap();
        assert_eq!(
            location,
            format!("/api/v1/{collection}/{}", reply.str("id"))
        );
        if collection != "users" {
            let read = app
                .client
                .get(format!("{}{location}", app.address))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(read.status(), 200, "{location}");
        }
    }
    for (method, path, allow) in [
        (actix_web::http::Method::DELETE, "cases", "POST, GET"),
        (actix_web::http::Method::PUT, "alerts", "GET"),
        (actix_web::http::Method::GET, "auth/login", "POST"),
        (
            actix_web::http::Method::POST,
            "cases/01936d3a-0000-7000-8000-00000000000a/personal",
            "GET, PUT, DELETE",
        ),
    ] {
        let reply = app.call(method.clone(), path).token(&admin).send().await;
        reply.assert_problem(405, "method-not-allowed");
        assert_eq!(
            reply.header("allow").as_deref(),
            Some(allow),
            "{method} {path}"
        );
    }
}

async fn a_typo_in_an_environment_variable_is_warned_about(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut migrate = command(&app, "", &["migrate"]);
    migrate
        .env("CORRIDOR_STALL_TRANSITT", "3d")
        .env("CORRIDOR_JWT_SECRETT", "do-not-print-me")
        // What cargo sets for the programs it runs (the build's own).
        .env("CORRIDOR_COMMIT", "0123456789ab");
    let (ok, out) = run(migrate, "");
    assert!(ok, "{out}");
    assert!(
        out.contains("CORRIDOR_STALL_TRANSITT names no setting and is ignored (did you mean CORRIDOR_STALL_TRANSIT?)"),
        "{out}"
    );
    assert!(
        out.contains("CORRIDOR_JWT_SECRETT names no setting"),
        "{out}"
    );
    assert!(!out.contains("do-not-print-me"), "values are never printed");
    assert!(!out.contains("CORRIDOR_COMMIT"), "the build's own: {out}");
    assert!(
        !out.contains("CORRIDOR_DATABASE_URL"),
        "known names are quiet: {out}"
    );
}

/// `corridor migrate` with these variables; the log at info.
/// `corridor stalls recompute` under these settings: its output.
fn migrate_with(app: &TestApp, envs: &[(&str, &str)]) -> String {
    run_with(app, &["stalls", "recompute"], envs)
}

fn run_with(app: &TestApp, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut migrate = command(app, "", args);
    migrate.env("RUST_LOG", "info");
    for (name, value) in envs {
        migrate.env(name, value);
    }
    let (ok, out) = run(migrate, "");
    assert!(ok, "{out}");
    out
}

async fn stall_at(app: &TestApp, admin: &str, id: &str) -> String {
    let reply = app.get(&format!("cases/{id}")).token(admin).send().await;
    reply.str("stall_at")
}

async fn changed_stall_limits_reach_the_stored_deadlines_at_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, placed, _, _) = placed_case(&app).await;
    let start = app.clock_now();
    let waiting = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let snoozed = app.create_case(&admin, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let until = (start + Duration::days(3)).to_rfc3339();
    let snooze = app
        .post(&format!("cases/{snoozed}/snooze"))
        .token(&admin)
        .json(json!({ "until": until, "reason": "waiting for papers" }))
        .await;
    assert_eq!(snooze.status, 200, "{}", snooze.text);
    let snoozed_at = stall_at(&app, &admin, &snoozed).await;
    // Heard from 90 minutes after placing: silence counts from then.
    app.clock.advance(Duration::minutes(90));
    let admin = app.admin_token().await;
    let contact = app
        .post(&format!("cases/{placed}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "phone" }))
        .await;
    assert_eq!(contact.status, 201);
    let rfc =
        |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);

    // A one-off command from a shell without the service's settings
    // leaves the deadlines alone, and says why.
    let limits = [
        ("CORRIDOR_STALL_INTAKE", "1h"),
        ("CORRIDOR_STALL_SILENCE_SAFE_HOUSE", "2h"),
    ];
    for args in [&["migrate"][..], &["digest", "send"][..]] {
        let out = run_with(&app, args, &limits);
        assert!(!out.contains("stall limits of"), "{args:?}: {out}");
        if args[0] != "migrate" {
            assert!(
                out.contains("this command changes no deadline"),
                "{args:?}: {out}"
            );
        }
        assert_eq!(stall_at(&app, &admin, &snoozed).await, snoozed_at);
        assert_eq!(
            stall_at(&app, &admin, &waiting).await,
            rfc(start + Duration::days(3)),
            "{args:?}"
        );
    }
    let out = migrate_with(&app, &limits);
    assert!(out.contains("stall limits of intake applied"), "{out}");
    assert!(out.contains("stall limits of safe_house applied"), "{out}");
    assert_eq!(
        stall_at(&app, &admin, &waiting).await,
        rfc(start + Duration::hours(1))
    );
    assert_eq!(
        stall_at(&app, &admin, &placed).await,
        rfc(start + Duration::minutes(90) + Duration::hours(2)),
        "the silence limit, from the last contact"
    );
    assert_eq!(
        stall_at(&app, &admin, &snoozed).await,
        snoozed_at,
        "a snooze holds"
    );

    let again = migrate_with(
        &app,
        &[
            ("CORRIDOR_STALL_INTAKE", "1h"),
            ("CORRIDOR_STALL_SILENCE_SAFE_HOUSE", "2h"),
        ],
    );
    assert!(
        !again.contains("stall limits of"),
        "nothing changed: {again}"
    );
    // The stay limit, when it comes first.
    let out = migrate_with(
        &app,
        &[
            ("CORRIDOR_STALL_INTAKE", "1h"),
            ("CORRIDOR_STALL_SAFE_HOUSE", "30m"),
        ],
    );
    assert!(out.contains("stall limits of safe_house applied"), "{out}");
    assert!(!out.contains("stall limits of intake"), "{out}");
    assert_eq!(
        stall_at(&app, &admin, &placed).await,
        rfc(start + Duration::minutes(30))
    );
    // The scanner goes by the new deadlines.
    app.clock.set(start + Duration::hours(2));
    let report = app.scan().await;
    assert_eq!(report.raised.len(), 2, "the placed and the waiting case");
}

async fn an_address_counts_once_in_either_form_and_ipv6_by_its_64(backend: Backend) {
    let app = behind_proxy(backend).await;
    for n in 0..20 {
        let from = if n % 2 == 0 {
            "198.51.100.7"
        } else {
            "::ffff:198.51.100.7"
        };
        let email = format!("v4-{n}@corridor.test");
        assert_eq!(login_from(&app, from, &email, "wrong").await, 401);
    }
    assert_eq!(
        login_from(&app, "::ffff:198.51.100.7", "v4-x@corridor.test", "wrong").await,
        429
    );
    for n in 1..=20 {
        let from = format!("2001:db8:7:7::{n:x}");
        let email = format!("v6-{n}@corridor.test");
        assert_eq!(login_from(&app, &from, &email, "wrong").await, 401);
    }
    assert_eq!(
        login_from(
            &app,
            "2001:db8:7:7:ffff:1:2:3",
            "v6-x@corridor.test",
            "wrong"
        )
        .await,
        429,
        "another address of the same /64"
    );
    assert_eq!(
        login_from(&app, "2001:db8:7:8::1", "v6-y@corridor.test", "wrong").await,
        401,
        "the next /64 is another client"
    );
}

async fn fail_fifty_times_from_ten_addresses(app: &TestApp) {
    for address in 0..10 {
        for _ in 0..5 {
            let from = format!("203.0.113.{address}");
            assert_eq!(
                login_from(app, &from, ADMIN_EMAIL, "wrong guess").await,
                401
            );
        }
    }
}

async fn an_account_locked_everywhere_tells_the_admins_once_an_episode(backend: Backend) {
    let app = behind_proxy(backend).await;
    let sink = MailSink::start();
    fail_fifty_times_from_ten_addresses(&app).await;
    for n in 0..5 {
        let from = format!("192.0.2.{n}");
        assert_eq!(login_from(&app, &from, ADMIN_EMAIL, PASSWORD).await, 429);
        app.clock.advance(Duration::minutes(1));
    }
    app.deliver(&sink.url).await;
    let locked = |mails: Vec<crate::helpers::Mail>| {
        mails
            .into_iter()
            .filter(|m| m.subject().contains("locked everywhere"))
            .collect::<Vec<_>>()
    };
    let mails = locked(sink.mails());
    assert_eq!(mails.len(), 1, "one email for the episode");
    assert_eq!(mails[0].to, [ADMIN_EMAIL]);
    assert!(mails[0].data.contains(ADMIN_EMAIL), "{}", mails[0].data);
    assert!(
        mails[0].data.contains("from 10 client address(es)"),
        "{}",
        mails[0].data
    );
    assert!(!mails[0].data.contains("203.0.113"), "{}", mails[0].data);
    assert!(!mails[0].data.contains("192.0.2"), "{}", mails[0].data);
    // Quiet for longer than the window: the next lock is a new episode.
    app.clock.advance(Duration::minutes(16));
    fail_fifty_times_from_ten_addresses(&app).await;
    assert_eq!(
        login_from(&app, "192.0.2.9", ADMIN_EMAIL, PASSWORD).await,
        429
    );
    app.deliver(&sink.url).await;
    assert_eq!(locked(sink.mails()).len(), 2);
}

async fn guessable_passwords_are_refused_by_a_strength_estimate(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    // The estimator's own cases are in src/auth/password.rs; here, that
    // each way of setting a password asks it.
    for weak in ["passwordpassword", "Corridor1234", "Pаssword1234"] {
        let changed = app
            .post("me/password")
            .token(&admin)
            .json(json!({ "current_password": PASSWORD, "new_password": weak }))
            .await;
        changed.assert_problem(422, "validation");
    }
    // The account's own name and email count as what a guesser tries first.
    for weak in ["Pаssword1234", "malikadudaeva7"] {
        let reply = app
            .post("users")
            .token(&admin)
            .json(json!({ "email": "m.d@example.org", "display_name": "Malika Dudaeva", "role": "observer", "password": weak }))
            .await;
        reply.assert_problem(422, "validation");
        assert_eq!(reply.error_fields(), ["password"], "{weak}: {}", reply.text);
    }
    let created = app
        .post("users")
        .token(&admin)
        .json(json!({ "email": "m.d@example.org", "display_name": "Malika Dudaeva", "role": "observer", "password": "violet anchor mosaic seventy" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
}

async fn a_key_given_twice_and_options_a_lockdown_has_not_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let id = case["id"].as_str().unwrap();
    let reply = app
        .post(&format!("cases/{id}/transitions"))
        .token(&admin)
        .raw(
            "application/json",
            r#"{"to":"transit","to":"closed","outcome":"withdrawn"}"#,
        )
        .await;
    reply.assert_problem(400, "bad-request");
    assert!(reply.text.contains("`to` is given twice"), "{}", reply.text);
    let now = app.get(&format!("cases/{id}")).token(&admin).send().await;
    assert_eq!(now.body["stage"], "intake", "nothing changed");
    let reply = app
        .post("cases")
        .token(&admin)
        .raw(
            "application/json",
            r#"{"needs":["medical"],"risk_level":"low","risk_level":"critical"}"#,
        )
        .await;
    reply.assert_problem(400, "bad-request");
    assert!(reply.text.contains("`risk_level`"), "{}", reply.text);

    let (_, _, other) = app.user(Role::Coordinator).await;
    let lockdown = app
        .post("admin/lockdown")
        .token(&admin)
        .json(json!({ "keep_sessions": true }))
        .await;
    lockdown.assert_problem(400, "bad-request");
    assert!(lockdown.text.contains("keep_sessions"), "{}", lockdown.text);
    assert_eq!(
        app.get("me").token(&other).send().await.status,
        200,
        "nothing revoked"
    );
    // No body, or an empty object, is a lockdown.
    let done = app
        .post("admin/lockdown")
        .token(&admin)
        .json(json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(app.get("me").token(&other).send().await.status, 401);
}

/// What the server answers to `request` sent as raw bytes: the status line,
/// the headers (lower case) and the body.
fn raw_exchange(address: &str, request: &[u8]) -> (String, Vec<String>, String) {
    use std::io::{Read, Write};
    let address = address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    (
        status,
        lines.map(str::to_lowercase).collect(),
        body.to_string(),
    )
}

async fn the_servers_own_refusals_carry_no_body_to_protect(backend: Backend) {
    let app = spawn_app(backend).await;
    let many: String = (0..200)
        .map(|n| format!("X-H{n}: {}\r\n", "a".repeat(400)))
        .collect();
    let huge = format!("GET /api/v1/cases HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let framing = "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
                   Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let request_line = "GET /api/v1/cases HTTP/9.9 extra\r\nHost: x\r\n\r\n";
    for (request, status) in [
        (huge.as_str(), "431"),
        (framing, "400"),
        (request_line, "400"),
    ] {
        let (address, request) = (app.address.clone(), request.to_string());
        let (line, headers, body) =
            actix_web::web::block(move || raw_exchange(&address, request.as_bytes()))
                .await
                .unwrap();
        assert!(line.contains(status), "{line}");
        assert!(body.is_empty(), "{line}: a body of {} bytes", body.len());
        assert!(
            headers.iter().any(|h| h == "content-length: 0"),
            "{line}: {headers:?}"
        );
    }
}

backend_tests!(
    the_servers_own_refusals_carry_no_body_to_protect,
    a_key_given_twice_and_options_a_lockdown_has_not_are_refused,
    guessable_passwords_are_refused_by_a_strength_estimate,
    an_address_counts_once_in_either_form_and_ipv6_by_its_64,
    an_account_locked_everywhere_tells_the_admins_once_an_episode,
    one_address_spraying_many_accounts_meets_429,
    the_address_limit_is_configurable_and_the_proxy_header_believed_only_from_a_proxy,
    a_lockout_holds_for_one_address_and_the_right_password_gets_in_from_another,
    fifty_failures_from_anywhere_lock_the_account_everywhere_until_unlocked,
    weak_passwords_are_refused_naming_the_rule,
    the_cli_shares_the_apis_rules_for_new_users,
    accounts_are_recovered_from_the_command_line,
    control_characters_are_refused_at_the_edge_naming_the_field,
    a_cyrillic_search_that_looks_like_a_code_is_a_422,
    a_flood_of_check_ins_raises_one_alert_while_it_is_open,
    the_alert_email_names_its_full_acknowledge_url_and_ack_needs_no_body,
    every_answer_carries_the_security_headers,
    hsts_is_sent_when_the_public_url_is_https,
    created_things_say_where_they_live_and_405_says_what_is_allowed,
    a_typo_in_an_environment_variable_is_warned_about,
    changed_stall_limits_reach_the_stored_deadlines_at_start,
);
