//! Partner shelters work with their own guests through API keys, and see
//! nothing else.

use chrono::Duration;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_app_with, Backend, Options, TestApp};

/// A case placed at `shelter`; returns (id, code).
async fn placed_case(
    app: &TestApp,
    token: &str,
    shelter: &str,
    household: i64,
) -> (String, String) {
    let case = app.create_case(token, json!({ "household_size": household, "needs": ["medical"], "origin_region": "Grozny", "destination_country": "CA" })).await;
    let id = case["id"].as_str().unwrap().to_string();
    let reply = app
        .transition(
            token,
            &id,
            json!({ "to": "safe_house", "shelter_id": shelter }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    (id, case["code"].as_str().unwrap().to_string())
}

fn codes(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

async fn an_admin_issues_a_key_that_is_shown_once_and_stored_only_hashed(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let reply = app
        .post(&format!("shelters/{shelter}/api-keys"))
        .token(&admin)
        .json(json!({ "label": "Vilnius desk", "expires_at": "2027-06-01T00:00:00Z" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let key = reply.str("key");
    assert!(key.starts_with("crd_") && key.len() == 42, "{key}");
    assert!(key.starts_with(&reply.str("prefix")));
    assert_eq!(reply.body["expires_at"], "2027-06-01T00:00:00Z");
    let list = app
        .get(&format!("shelters/{shelter}/api-keys"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let listed = &list.body["items"][0];
    assert_eq!(listed["label"], "Vilnius desk");
    assert_eq!(listed["last_used_at"], Value::Null);
    assert_eq!(listed["revoked_at"], Value::Null);
    assert!(
        !list.text.contains(&key)
            && listed.get("key").is_none()
            && listed.get("key_hash").is_none()
    );
    let stored = app.stored_key_material().await;
    assert!(
        stored.contains(&reply.str("prefix")),
        "the prefix is stored"
    );
    assert!(!stored.contains(&key), "the key itself is stored nowhere");
    // Bad requests.
    let bad = app
        .post(&format!("shelters/{shelter}/api-keys"))
        .token(&admin)
        .json(json!({ "label": " ", "expires_at": "2020-01-01T00:00:00Z" }))
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["expires_at", "label"]);
    let missing = uuid::Uuid::now_v7();
    app.post(&format!("shelters/{missing}/api-keys"))
        .token(&admin)
        .json(json!({ "label": "x" }))
        .await
        .assert_problem(404, "not-found");
    let (_, _, coordinator) = app.user(corridor::domain::Role::Coordinator).await;
    app.get(&format!("shelters/{shelter}/api-keys"))
        .token(&coordinator)
        .send()
        .await
        .assert_problem(403, "forbidden");
}

async fn each_key_sees_its_own_shelter_and_guests_and_nothing_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let north = app.create_shelter(&admin, 10).await;
    let south = app.create_shelter(&admin, 10).await;
    let (_, north_a) = placed_case(&app, &admin, &north, 2).await;
    let (_, north_b) = placed_case(&app, &admin, &north, 1).await;
    let (_, south_a) = placed_case(&app, &admin, &south, 3).await;
    let (moved_id, moved_on) = placed_case(&app, &admin, &north, 1).await;
    app.transition(&admin, &moved_id, json!({ "to": "transit" }))
        .await;
    let unplaced = app.create_case(&admin, json!({})).await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let never = "EV-222222".to_string();
    let (_, north_key) = app.issue_key(&admin, &north).await;
    let (_, south_key) = app.issue_key(&admin, &south).await;

    let all = [&north_a, &north_b, &south_a, &moved_on, &unplaced];
    for (key, shelter, own) in [
        (&north_key, &north, vec![&north_a, &north_b]),
        (&south_key, &south, vec![&south_a]),
    ] {
        let me = app
            .get("partner/shelter")
            .header("X-API-Key", key)
            .send()
            .await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.body["id"], json!(shelter));
        let list = app.get("partner/cases").token(key).send().await;
        assert_eq!(list.status, 200, "{}", list.text);
        let mut expected: Vec<String> = own.iter().map(|c| c.to_string()).collect();
        expected.sort();
        assert_eq!(codes(&list), expected);
        for item in list.body["items"].as_array().unwrap() {
            let mut fields: Vec<&str> = item
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            fields.sort();
            assert_eq!(
                fields,
                [
                    "alias",
                    "code",
                    "household_size",
                    "last_contact_at",
                    "needs",
                    "risk_level",
                    "stage_entered_at"
                ]
            );
        }
        for text in [&me.text, &list.text] {
            assert!(
                !text.contains("Grozny") && !text.contains("\"CA\""),
                "no origin or destination: {text}"
            );
            for code in all.iter().filter(|c| !own.contains(c)) {
                assert!(
                    !text.contains(code.as_str()),
                    "a foreign code leaked: {text}"
                );
            }
        }
        // Check-ins: own guests yes; everything else the same 404.
        for code in &own {
            let reply = app
                .post(&format!("partner/cases/{code}/checkins"))
                .token(key)
                .json(json!({ "kind": "welfare_ok" }))
                .await;
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
        let mut refusals = Vec::new();
        for code in all
            .iter()
            .filter(|c| !own.contains(c))
            .map(|c| c.as_str())
            .chain([never.as_str(), "not-a-code"])
        {
            let reply = app
                .post(&format!("partner/cases/{code}/checkins"))
                .token(key)
                .json(json!({ "kind": "welfare_ok" }))
                .await;
            reply.assert_problem(404, "not-found");
            refusals.push(reply.text);
        }
        refusals.dedup();
        assert_eq!(
            refusals.len(),
            1,
            "every out-of-scope answer is the same: {refusals:?}"
        );
    }
}

async fn staff_endpoints_refuse_keys_and_partner_endpoints_refuse_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    for path in [
        "me",
        "cases",
        "shelters",
        &format!("shelters/{shelter}"),
        "users",
    ] {
        app.get(path)
            .token(&key)
            .send()
            .await
            .assert_problem(401, "unauthorized");
        app.get(path)
            .header("X-API-Key", &key)
            .send()
            .await
            .assert_problem(401, "unauthorized");
    }
    app.post("cases")
        .token(&key)
        .json(json!({}))
        .await
        .assert_problem(401, "unauthorized");
    for path in ["partner/shelter", "partner/cases"] {
        app.get(path)
            .token(&admin)
            .send()
            .await
            .assert_problem(401, "unauthorized");
        app.get(path)
            .send()
            .await
            .assert_problem(401, "unauthorized");
    }
    app.post("partner/cases/EV-222222/checkins")
        .token(&admin)
        .json(json!({ "kind": "arrived" }))
        .await
        .assert_problem(401, "unauthorized");
}

async fn revoking_or_expiring_a_key_ends_access_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (key_id, key) = app.issue_key(&admin, &shelter).await;
    assert_eq!(
        app.get("partner/shelter").token(&key).send().await.status,
        200
    );
    let revoked = app
        .call(
            actix_web::http::Method::DELETE,
            &format!("shelters/{shelter}/api-keys/{key_id}"),
        )
        .token(&admin)
        .send()
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    app.get("partner/shelter")
        .token(&key)
        .send()
        .await
        .assert_problem(401, "unauthorized");
    let list = app
        .get(&format!("shelters/{shelter}/api-keys"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(list.body["items"][0]["revoked_at"], "2026-11-23T08:00:00Z");
    // A key of another shelter cannot be revoked through this one.
    let other = app.create_shelter(&admin, 5).await;
    let (other_id, other_key) = app.issue_key(&admin, &other).await;
    let wrong = app
        .call(
            actix_web::http::Method::DELETE,
            &format!("shelters/{shelter}/api-keys/{other_id}"),
        )
        .token(&admin)
        .send()
        .await;
    wrong.assert_problem(404, "not-found");
    assert_eq!(
        app.get("partner/shelter")
            .token(&other_key)
            .send()
            .await
            .status,
        200
    );

    let reply = app
        .post(&format!("shelters/{shelter}/api-keys"))
        .token(&admin)
        .json(json!({ "label": "temporary", "expires_at": (app.clock_now() + Duration::hours(1)).to_rfc3339() }))
        .await;
    let expiring = reply.str("key");
    assert_eq!(
        app.get("partner/shelter")
            .token(&expiring)
            .send()
            .await
            .status,
        200
    );
    app.clock.advance(Duration::hours(1));
    app.get("partner/shelter")
        .token(&expiring)
        .send()
        .await
        .assert_problem(401, "unauthorized");
}

async fn a_case_that_moves_on_leaves_the_shelter_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (id, code) = placed_case(&app, &admin, &shelter, 1).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    assert_eq!(
        codes(&app.get("partner/cases").token(&key).send().await),
        vec![code.clone()]
    );
    app.transition(&admin, &id, json!({ "to": "transit" }))
        .await;
    assert!(codes(&app.get("partner/cases").token(&key).send().await).is_empty());
    let late = app
        .post(&format!("partner/cases/{code}/checkins"))
        .token(&key)
        .json(json!({ "kind": "departed" }))
        .await;
    late.assert_problem(404, "not-found");
}

async fn the_guest_list_pages_by_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 10).await;
    let mut expected = Vec::new();
    for _ in 0..3 {
        expected.push(placed_case(&app, &admin, &shelter, 1).await.1);
    }
    expected.sort();
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let first = app.get("partner/cases?limit=2").token(&key).send().await;
    assert_eq!(codes(&first), expected[..2]);
    let cursor = first.str("next_cursor");
    assert_eq!(cursor, expected[1], "the cursor is a code, not an id");
    let second = app
        .get(&format!("partner/cases?limit=2&cursor={cursor}"))
        .token(&key)
        .send()
        .await;
    assert_eq!(codes(&second), expected[2..]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let bad = app
        .get("partner/cases?cursor=01a20100-1775-75a2-9011-fdee45e4d65b")
        .token(&key)
        .send()
        .await;
    assert_eq!(bad.error_fields(), vec!["cursor"]);
}

async fn check_ins_are_on_the_timeline_with_the_shelter_as_actor(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (id, code) = placed_case(&app, &admin, &shelter, 1).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    app.clock.advance(Duration::hours(2));
    let admin = app.admin_token().await;
    for kind in ["arrived", "welfare_ok", "needs_help", "departed", "missing"] {
        let reply = app
            .post(&format!("partner/cases/{}/checkins", code.to_lowercase()))
            .token(&key)
            .json(json!({ "kind": kind, "note": "all calm" }))
            .await;
        assert_eq!(reply.status, 201, "{kind}: {}", reply.text);
        assert_eq!(reply.body["detail"]["kind"], kind);
        assert_eq!(reply.body["code"], json!(code));
        assert!(reply.body.get("case_id").is_none());
    }
    let case = app.get(&format!("cases/{id}")).token(&admin).send().await;
    assert_eq!(case.body["last_contact_at"], "2026-11-23T10:00:00Z");
    assert_eq!(
        case.body["stage"], "safe_house",
        "departed does not move the case"
    );
    let events = app
        .get(&format!("cases/{id}/events"))
        .token(&admin)
        .send()
        .await;
    let checkins: Vec<&Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "check_in")
        .collect();
    assert_eq!(checkins.len(), 5);
    assert_eq!(checkins[0]["actor"]["kind"], "shelter");
    assert_eq!(checkins[0]["actor"]["id"], json!(shelter));
    assert_eq!(checkins[0]["detail"]["note"], "all calm");
    let bad = app
        .post(&format!("partner/cases/{code}/checkins"))
        .token(&key)
        .json(json!({ "kind": "fine" }))
        .await;
    assert_eq!(bad.error_fields(), vec!["kind"]);
    let extra = app
        .post(&format!("partner/cases/{code}/checkins"))
        .token(&key)
        .json(json!({ "kind": "arrived", "case_id": id }))
        .await;
    extra.assert_problem(400, "bad-request");
}

async fn a_shelter_reports_its_capacity_and_placements_respect_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 10).await;
    placed_case(&app, &admin, &shelter, 2).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let reply = app
        .patch("partner/shelter")
        .token(&key)
        .json(json!({ "capacity": 3 }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        (
            reply.body["capacity"].as_i64(),
            reply.body["occupancy"].as_i64(),
            reply.body["available_beds"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    let staff = app
        .get(&format!("shelters/{shelter}"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(staff.body["capacity"], 3);
    let case = app
        .create_case(&admin, json!({ "household_size": 2 }))
        .await;
    let full = app
        .transition(
            &admin,
            case["id"].as_str().unwrap(),
            json!({ "to": "safe_house", "shelter_id": shelter }),
        )
        .await;
    full.assert_problem(409, "shelter-full");
    assert_eq!(
        app.patch("partner/shelter")
            .token(&key)
            .json(json!({ "capacity": -1 }))
            .await
            .error_fields(),
        vec!["capacity"]
    );
    app.patch("partner/shelter")
        .token(&key)
        .json(json!({ "name": "Renamed" }))
        .await
        .assert_problem(400, "bad-request");
}

async fn last_use_is_recorded_at_most_once_a_minute(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let last_used = || async {
        let list = app
            .get(&format!("shelters/{shelter}/api-keys"))
            .token(&admin)
            .send()
            .await;
        list.body["items"][0]["last_used_at"].clone()
    };
    let first = app.clock_now();
    app.get("partner/shelter").token(&key).send().await;
    assert_eq!(last_used().await, json!("2026-11-23T08:00:00Z"));
    app.clock.advance(Duration::seconds(59));
    app.get("partner/shelter").token(&key).send().await;
    assert_eq!(last_used().await, json!("2026-11-23T08:00:00Z"));
    app.clock.advance(Duration::seconds(1));
    app.get("partner/shelter").token(&key).send().await;
    assert_eq!(
        last_used().await,
        json!((first + Duration::seconds(60))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string())
    );
}

async fn a_key_is_rate_limited(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            key_rate_limit: 5,
            ..Options::default()
        },
    )
    .await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let (_, other) = app.issue_key(&admin, &shelter).await;
    for _ in 0..5 {
        assert_eq!(
            app.get("partner/cases").token(&key).send().await.status,
            200
        );
    }
    let limited = app.get("partner/cases").token(&key).send().await;
    limited.assert_problem(429, "too-many-requests");
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(
        app.get("partner/cases").token(&other).send().await.status,
        200,
        "keys are limited apart"
    );
    app.clock.advance(Duration::seconds(retry));
    assert_eq!(
        app.get("partner/cases").token(&key).send().await.status,
        200
    );
}

async fn a_burst_of_bad_keys_from_one_client_is_rate_limited(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            bad_keys_per_minute: 5,
            ..Options::default()
        },
    )
    .await;
    let admin = app.admin_token().await;
    let shelter = app.create_shelter(&admin, 5).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let guesses = [
        "crd_not-even-a-key".to_string(),
        corridor::auth::api_key::ApiKey::generate()
            .as_str()
            .to_string(),
        format!(
            "{}{}",
            &key[..key.len() - 1],
            if key.ends_with('x') { 'y' } else { 'x' }
        ),
    ];
    for i in 0..5 {
        let reply = app
            .get("partner/shelter")
            .token(&guesses[i % guesses.len()])
            .send()
            .await;
        reply.assert_problem(401, "unauthorized");
    }
    let limited = app.get("partner/shelter").token(&guesses[1]).send().await;
    limited.assert_problem(429, "too-many-requests");
    let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        app.get("partner/shelter").token(&key).send().await.status,
        200,
        "the shelter's real key still works"
    );
}

backend_tests!(
    an_admin_issues_a_key_that_is_shown_once_and_stored_only_hashed,
    each_key_sees_its_own_shelter_and_guests_and_nothing_else,
    staff_endpoints_refuse_keys_and_partner_endpoints_refuse_tokens,
    revoking_or_expiring_a_key_ends_access_on_the_next_request,
    a_case_that_moves_on_leaves_the_shelter_at_once,
    the_guest_list_pages_by_code,
    check_ins_are_on_the_timeline_with_the_shelter_as_actor,
    a_shelter_reports_its_capacity_and_placements_respect_it,
    last_use_is_recorded_at_most_once_a_minute,
    a_key_is_rate_limited,
    a_burst_of_bad_keys_from_one_client_is_rate_limited,
);
