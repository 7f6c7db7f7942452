//! Creating, reading, listing and changing cases; contacts, snoozes, stalls
//! and the timeline.

use std::collections::HashSet;

use chrono::Duration;
use corridor::domain::Role;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};

async fn a_new_case_starts_in_intake_with_a_random_code_and_defaults(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app.post("cases").token(&token).json(json!({})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let case = &reply.body;
    assert_eq!(case["stage"], "intake");
    assert_eq!(case["risk_level"], "medium");
    assert_eq!(case["household_size"], 1);
    assert_eq!(case["needs"], json!([]));
    assert_eq!(case["version"], 1);
    assert_eq!(case["stalled"], false);
    assert_eq!(case["stage_entered_at"], "2026-11-23T08:00:00Z");
    assert_eq!(
        case["stall_at"], "2026-11-26T08:00:00Z",
        "intake stalls after 3 days"
    );
    let code = case["code"].as_str().unwrap();
    assert!(corridor::domain::CaseCode::parse(code).is_some(), "{code}");
    assert_eq!(reply.header("etag").as_deref(), Some("\"1\""));
    let other = app.create_case(&token, json!({})).await;
    assert_ne!(other["code"], case["code"]);
}

async fn a_case_keeps_every_operational_field_it_was_given(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (coordinator, _, _) = app.user(Role::Coordinator).await;
    let body = json!({
        "risk_level": "critical", "household_size": 3, "needs": ["medical", "documents", "medical"],
        "origin_region": "Grozny", "destination_country": "CA", "assigned_to": coordinator,
    });
    let case = app.create_case(&token, body).await;
    let read = app
        .get(&format!("cases/{}", case["id"].as_str().unwrap()))
        .token(&token)
        .send()
        .await;
    assert_eq!(read.body["risk_level"], "critical");
    assert_eq!(read.body["household_size"], 3);
    assert_eq!(read.body["needs"], json!(["documents", "medical"]));
    assert_eq!(read.body["origin_region"], "Grozny");
    assert_eq!(read.body["destination_country"], "CA");
    assert_eq!(read.body["assigned_to"], json!(coordinator));
}

async fn invalid_case_fields_are_listed_and_nothing_is_created(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (observer, _, _) = app.user(Role::Observer).await;
    let reply = app
        .post("cases")
        .token(&token)
        .json(json!({
            "risk_level": "extreme", "household_size": 0, "needs": ["food"],
            "origin_region": "x".repeat(101), "destination_country": "Canada", "assigned_to": "someone",
        }))
        .await;
    reply.assert_problem(422, "validation");
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "assigned_to",
            "destination_country",
            "household_size",
            "needs",
            "origin_region",
            "risk_level"
        ]
    );
    // An observer cannot be assigned cases.
    let observer_assigned = app
        .post("cases")
        .token(&token)
        .json(json!({ "assigned_to": observer }))
        .await;
    assert_eq!(observer_assigned.error_fields(), vec!["assigned_to"]);
    let list = app.get("cases").token(&token).send().await;
    assert_eq!(list.body["items"], json!([]));
}

async fn patch_changes_operational_fields_and_refuses_the_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (coordinator, _, _) = app.user(Role::Coordinator).await;
    let case = app
        .create_case(&token, json!({ "origin_region": "Grozny" }))
        .await;
    let path = format!("cases/{}", case["id"].as_str().unwrap());
    let reply = app
        .patch(&path)
        .token(&token)
        .json(json!({ "risk_level": "high", "household_size": 4, "needs": ["legal"], "origin_region": null, "assigned_to": coordinator }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["risk_level"], "high");
    assert_eq!(reply.body["household_size"], 4);
    assert_eq!(reply.body["needs"], json!(["legal"]));
    assert_eq!(reply.body["origin_region"], Value::Null);
    assert_eq!(reply.body["assigned_to"], json!(coordinator));
    assert_eq!(reply.body["version"], 2);
    for field in [
        "stage",
        "shelter_id",
        "code",
        "stage_entered_at",
        "created_at",
        "stall_at",
    ] {
        let refused = app
            .patch(&path)
            .token(&token)
            .json(json!({ field: "x" }))
            .await;
        refused.assert_problem(422, "validation");
        assert_eq!(refused.error_fields(), vec![field]);
    }
    app.patch(&path)
        .token(&token)
        .json(json!({ "colour": "red" }))
        .await
        .assert_problem(400, "bad-request");
    let after = app.get(&path).token(&token).send().await;
    assert_eq!(after.body["version"], 2, "refused patches change nothing");
    // What the answer said is what was stored.
    for field in [
        "risk_level",
        "household_size",
        "needs",
        "origin_region",
        "assigned_to",
    ] {
        assert_eq!(after.body[field], reply.body[field], "{field}");
    }
    let events = app
        .get(&format!("{path}/events"))
        .token(&token)
        .send()
        .await;
    let kinds: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "updated", "assignment"]);
}

async fn etags_guard_against_lost_updates(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app.create_case(&token, json!({})).await;
    let path = format!("cases/{}", case["id"].as_str().unwrap());
    let read = app.get(&path).token(&token).send().await;
    let etag = read.header("etag").unwrap();
    assert_eq!(etag, "\"1\"");
    let first = app
        .patch(&path)
        .token(&token)
        .header("If-Match", &etag)
        .json(json!({ "risk_level": "high" }))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("etag").as_deref(), Some("\"2\""));
    // A second writer with the old ETag is refused, for PATCH and transitions alike.
    let stale = app
        .patch(&path)
        .token(&token)
        .header("If-Match", &etag)
        .json(json!({ "risk_level": "low" }))
        .await;
    stale.assert_problem(412, "precondition-failed");
    let stale_move = app
        .post(&format!("{path}/transitions"))
        .token(&token)
        .header("If-Match", &etag)
        .json(json!({ "to": "transit" }))
        .await;
    stale_move.assert_problem(412, "precondition-failed");
    let garbage = app
        .patch(&path)
        .token(&token)
        .header("If-Match", "yesterday")
        .json(json!({ "risk_level": "low" }))
        .await;
    garbage.assert_problem(412, "precondition-failed");
    let current = app
        .post(&format!("{path}/transitions"))
        .token(&token)
        .header("If-Match", "\"2\"")
        .json(json!({ "to": "transit" }))
        .await;
    assert_eq!(current.status, 200, "{}", current.text);
    let any = app
        .patch(&path)
        .token(&token)
        .header("If-Match", "*")
        .json(json!({ "risk_level": "low" }))
        .await;
    assert_eq!(any.status, 200);
    assert_eq!(
        app.get(&path).token(&token).send().await.body["risk_level"],
        "low"
    );
}

async fn lists_filter_by_stage_shelter_assignee_risk_stall_and_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (coordinator, _, _) = app.user(Role::Coordinator).await;
    let shelter = app.create_shelter(&token, 10).await;
    let placed = app
        .create_case(&token, json!({ "risk_level": "high" }))
        .await;
    let placed_id = placed["id"].as_str().unwrap();
    app.transition(
        &token,
        placed_id,
        json!({ "to": "safe_house", "shelter_id": shelter }),
    )
    .await;
    let assigned = app
        .create_case(&token, json!({ "assigned_to": coordinator }))
        .await;
    app.clock.advance(Duration::days(4));
    let token = app.admin_token().await;
    let fresh = app
        .create_case(&token, json!({ "risk_level": "low" }))
        .await;
    let ids = |reply: &crate::helpers::Reply| -> HashSet<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let id = |case: &Value| case["id"].as_str().unwrap().to_string();
    let query = |q: String| {
        let app = &app;
        let token = token.clone();
        async move { app.get(&format!("cases?{q}")).token(&token).send().await }
    };
    assert_eq!(
        ids(&query("stage=safe_house".into()).await),
        HashSet::from([id(&placed)])
    );
    assert_eq!(
        ids(&query(format!("shelter_id={shelter}")).await),
        HashSet::from([id(&placed)])
    );
    assert_eq!(
        ids(&query(format!("assigned_to={coordinator}")).await),
        HashSet::from([id(&assigned)])
    );
    assert_eq!(
        ids(&query("risk_level=low".into()).await),
        HashSet::from([id(&fresh)])
    );
    // Four days on, the placed case (7 days of silence allowed) is not stalled; the intake one is.
    let stalled = query("stalled=true".into()).await;
    assert_eq!(ids(&stalled), HashSet::from([id(&assigned)]));
    assert!(stalled.body["items"][0]["stalled"].as_bool().unwrap());
    assert_eq!(
        ids(&query("stalled=false".into()).await),
        HashSet::from([id(&placed), id(&fresh)])
    );
    let code = fresh["code"].as_str().unwrap();
    let by_code = query(format!("q={}", code.to_lowercase())).await;
    assert_eq!(ids(&by_code), HashSet::from([id(&fresh)]));
    assert_eq!(
        ids(&query("q=EV-".into()).await),
        HashSet::from([id(&placed), id(&assigned), id(&fresh)])
    );
    for bad in [
        "stage=limbo",
        "risk_level=severe",
        "q=%25",
        "limit=0",
        "limit=501",
        "cursor=abc",
        "shelter_id=nope",
    ] {
        query(bad.into()).await.assert_problem(422, "validation");
    }
    query("stalled=maybe".into())
        .await
        .assert_problem(400, "bad-request");
    query("colour=red".into())
        .await
        .assert_problem(400, "bad-request");
}

async fn cursor_pages_list_every_case_once_even_while_cases_are_added(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let mut created = Vec::new();
    for _ in 0..23 {
        created.push(
            app.create_case(&token, json!({})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("cases?limit=5&cursor={c}"),
            None => "cases?limit=5".to_string(),
        };
        let page = app.get(&path).token(&token).send().await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        pages += 1;
        if pages == 2 {
            // Cases added mid-walk come after the ones already listed.
            created.push(
                app.create_case(&token, json!({})).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, created, "every case once, oldest first");
    assert_eq!(pages, 5);
    let default = app.get("cases").token(&token).send().await;
    assert_eq!(default.body["items"].as_array().unwrap().len(), 24);
    assert_eq!(default.body["next_cursor"], Value::Null);
}

async fn a_contact_moves_last_contact_and_the_silence_deadline(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app.create_case(&token, json!({})).await;
    let id = case["id"].as_str().unwrap();
    let moved = app.transition(&token, id, json!({ "to": "transit" })).await;
    assert_eq!(
        moved.body["stall_at"], "2026-11-25T08:00:00Z",
        "48 hours of silence in transit"
    );
    app.clock.advance(Duration::hours(30));
    let token = app.admin_token().await;
    let reply = app
        .post(&format!("cases/{id}/contacts"))
        .token(&token)
        .json(json!({ "channel": "signal", "note": "crossed" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["kind"], "contact");
    assert_eq!(reply.body["detail"]["channel"], "signal");
    let after = app.get(&format!("cases/{id}")).token(&token).send().await;
    assert_eq!(after.body["last_contact_at"], "2026-11-24T14:00:00Z");
    assert_eq!(after.body["stall_at"], "2026-11-26T14:00:00Z");
    let bad = app
        .post(&format!("cases/{id}/contacts"))
        .token(&token)
        .json(json!({ "channel": "pigeon" }))
        .await;
    assert_eq!(bad.error_fields(), vec!["channel"]);
}

async fn a_case_stalls_when_the_clock_passes_its_deadline(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app.create_case(&token, json!({})).await;
    let path = format!("cases/{}", case["id"].as_str().unwrap());
    app.clock.advance(Duration::days(3) - Duration::seconds(1));
    let token = app.admin_token().await;
    assert_eq!(
        app.get(&path).token(&token).send().await.body["stalled"],
        false
    );
    app.clock.advance(Duration::seconds(1));
    let token = app.admin_token().await;
    assert_eq!(
        app.get(&path).token(&token).send().await.body["stalled"],
        true
    );
}

async fn a_snooze_holds_the_deadline_and_is_on_the_timeline(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app.create_case(&token, json!({})).await;
    let path = format!("cases/{}", case["id"].as_str().unwrap());
    app.clock.advance(Duration::days(4));
    let token = app.admin_token().await;
    assert_eq!(
        app.get(&path).token(&token).send().await.body["stalled"],
        true
    );
    let until = "2026-12-10T09:00:00Z";
    let reply = app
        .post(&format!("{path}/snooze"))
        .token(&token)
        .json(json!({ "until": until, "reason": "visa appointment booked" }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["stall_at"], until);
    assert_eq!(reply.body["stalled"], false);
    let events = app
        .get(&format!("{path}/events"))
        .token(&token)
        .send()
        .await;
    let snooze = events.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(snooze["kind"], "snooze");
    assert_eq!(snooze["detail"]["reason"], "visa appointment booked");
    assert_eq!(snooze["detail"]["until"], until);
    for (body, field) in [
        (
            json!({ "until": "2026-11-01T00:00:00Z", "reason": "past" }),
            "until",
        ),
        (json!({ "until": "next week", "reason": "vague" }), "until"),
        (json!({ "until": until, "reason": "" }), "reason"),
    ] {
        let refused = app
            .post(&format!("{path}/snooze"))
            .token(&token)
            .json(body)
            .await;
        assert_eq!(refused.error_fields(), vec![field], "{}", refused.text);
    }
    // Moving on ends the snooze: the new stage has its own deadline.
    let moved = app
        .transition(
            &token,
            case["id"].as_str().unwrap(),
            json!({ "to": "transit" }),
        )
        .await;
    assert_eq!(moved.body["snoozed_until"], Value::Null);
    assert_eq!(moved.body["stall_at"], "2026-11-29T08:00:00Z");
}

async fn a_closed_case_takes_no_contacts_or_snoozes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app.create_case(&token, json!({})).await;
    let id = case["id"].as_str().unwrap();
    app.transition(
        &token,
        id,
        json!({ "to": "closed", "outcome": "withdrawn" }),
    )
    .await;
    app.post(&format!("cases/{id}/contacts"))
        .token(&token)
        .json(json!({ "channel": "phone" }))
        .await
        .assert_problem(409, "case-closed");
    let snooze = app
        .post(&format!("cases/{id}/snooze"))
        .token(&token)
        .json(json!({ "until": "2026-12-01T00:00:00Z", "reason": "x" }))
        .await;
    snooze.assert_problem(409, "case-closed");
}

async fn the_timeline_lists_every_change_oldest_first_with_its_actor(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let shelter = app.create_shelter(&token, 3).await;
    let case = app.create_case(&token, json!({})).await;
    let id = case["id"].as_str().unwrap();
    app.patch(&format!("cases/{id}"))
        .token(&token)
        .json(json!({ "risk_level": "high" }))
        .await;
    app.transition(
        &token,
        id,
        json!({ "to": "safe_house", "shelter_id": shelter }),
    )
    .await;
    app.post(&format!("cases/{id}/contacts"))
        .token(&token)
        .json(json!({ "channel": "phone" }))
        .await;
    app.post(&format!("cases/{id}/snooze"))
        .token(&token)
        .json(json!({ "until": "2026-12-01T00:00:00Z", "reason": "waiting for papers" }))
        .await;
    let events = app
        .get(&format!("cases/{id}/events"))
        .token(&token)
        .send()
        .await;
    let items = events.body["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["created", "updated", "transition", "contact", "snooze"]
    );
    for event in items {
        assert_eq!(event["actor"]["kind"], "user");
        assert_eq!(event["actor"]["id"], json!(app.admin_id));
        assert_eq!(event["actor"]["name"], "Test Admin");
        assert_eq!(event["at"], "2026-11-23T08:00:00Z");
    }
    assert_eq!(items[2]["shelter_id"], json!(shelter));
    let page = app
        .get(&format!("cases/{id}/events?limit=2"))
        .token(&token)
        .send()
        .await;
    let first_two: Vec<&Value> = page.body["items"].as_array().unwrap().iter().collect();
    assert_eq!(first_two.len(), 2);
    assert_eq!(first_two[0]["kind"], "created");
    assert_eq!(page.body["next_cursor"], first_two[1]["id"]);
    let missing = uuid::Uuid::now_v7();
    app.get(&format!("cases/{missing}/events"))
        .token(&token)
        .send()
        .await
        .assert_problem(404, "not-found");
}

async fn a_missing_case_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let missing = uuid::Uuid::now_v7();
    app.get(&format!("cases/{missing}"))
        .token(&token)
        .send()
        .await
        .assert_problem(404, "not-found");
    app.get("cases/not-an-id")
        .token(&token)
        .send()
        .await
        .assert_problem(404, "not-found");
    app.patch(&format!("cases/{missing}"))
        .token(&token)
        .json(json!({ "risk_level": "low" }))
        .await
        .assert_problem(404, "not-found");
}

async fn concurrent_writes_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let creates = (0..24).map(|_| {
        app.post("cases")
            .token(&token)
            .json(json!({ "household_size": 2 }))
    });
    let replies = join_all(creates).await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let moves = replies.iter().map(|r| {
        app.transition(
            &token,
            r.body["id"].as_str().unwrap(),
            json!({ "to": "transit" }),
        )
    });
    let moved = join_all(moves).await;
    assert!(
        moved.iter().all(|r| r.status == 200),
        "{:?}",
        moved.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let listed = app.get("cases?stage=transit").token(&token).send().await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 24);
}

async fn a_restart_keeps_every_case_and_its_timeline(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let case = app
        .create_case(&token, json!({ "household_size": 2 }))
        .await;
    let id = case["id"].as_str().unwrap();
    app.transition(&token, id, json!({ "to": "transit" })).await;
    app.restart().await;
    let read = app.get(&format!("cases/{id}")).token(&token).send().await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["stage"], "transit");
    assert_eq!(read.body["code"], case["code"]);
    let events = app
        .get(&format!("cases/{id}/events"))
        .token(&token)
        .send()
        .await;
    assert_eq!(events.body["items"].as_array().unwrap().len(), 2);
}

backend_tests!(
    a_new_case_starts_in_intake_with_a_random_code_and_defaults,
    a_case_keeps_every_operational_field_it_was_given,
    invalid_case_fields_are_listed_and_nothing_is_created,
    patch_changes_operational_fields_and_refuses_the_rest,
    etags_guard_against_lost_updates,
    lists_filter_by_stage_shelter_assignee_risk_stall_and_code,
    cursor_pages_list_every_case_once_even_while_cases_are_added,
    a_contact_moves_last_contact_and_the_silence_deadline,
    a_case_stalls_when_the_clock_passes_its_deadline,
    a_snooze_holds_the_deadline_and_is_on_the_timeline,
    a_closed_case_takes_no_contacts_or_snoozes,
    the_timeline_lists_every_change_oldest_first_with_its_actor,
    a_missing_case_is_404,
    concurrent_writes_all_succeed,
    a_restart_keeps_every_case_and_its_timeline,
);
