//! Finding cases as people name them (issue 22): by code in every path, by
//! a code's start with or without `EV-`, in the order the work needs, mine
//! only, with a count; a query parameter given twice or wrong names itself.

use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, TestApp};

fn codes(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has its own query), `limit` at a time.
async fn all_pages(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let reply = app.get(&url).token(token).send().await;
        assert_eq!(reply.status, 200, "{url}: {}", reply.text);
        found.extend(codes(&reply));
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return found,
        }
    }
}

async fn a_case_code_is_accepted_wherever_a_case_id_is(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let (id, code) = (case["id"].as_str().unwrap(), case["code"].as_str().unwrap());
    for named in [code.to_string(), code.to_lowercase()] {
        let got = app
            .get(&format!("cases/{named}"))
            .token(&admin)
            .send()
            .await;
        assert_eq!(got.status, 200, "{named}: {}", got.text);
        assert_eq!(got.body["id"], id);
    }
    let patched = app
        .patch(&format!("cases/{code}"))
        .token(&admin)
        .json(json!({ "household_size": 3 }))
        .await;
    assert_eq!(patched.body["household_size"], 3, "{}", patched.text);
    let contact = app
        .post(&format!("cases/{code}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "phone" }))
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    let moved = app
        .transition(&admin, code, json!({ "to": "transit" }))
        .await;
    assert_eq!(moved.body["stage"], "transit", "{}", moved.text);
    let until = (app.clock_now() + chrono::Duration::days(2)).to_rfc3339();
    let snoozed = app
        .post(&format!("cases/{code}/snooze"))
        .token(&admin)
        .json(json!({ "until": until, "reason": "visa appointment" }))
        .await;
    assert_eq!(snoozed.status, 200, "{}", snoozed.text);
    // A snooze names its reason.
    let bare = app
        .post(&format!("cases/{code}/snooze"))
        .token(&admin)
        .json(json!({ "until": until }))
        .await;
    bare.assert_problem(400, "bad-request");
    assert!(bare.text.contains("reason"), "{}", bare.text);
    let empty = app
        .post(&format!("cases/{code}/snooze"))
        .token(&admin)
        .json(json!({ "until": until, "reason": "" }))
        .await;
    empty.assert_problem(422, "validation");
    assert_eq!(empty.error_fields(), ["reason"]);
    let put = app
        .put(&format!("cases/{code}/personal"))
        .token(&admin)
        .json(json!({ "alias": "Lark" }))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let read = app
        .get(&format!("cases/{code}/personal"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(read.body["alias"], "Lark");
    let events = app
        .get(&format!("cases/{code}/events"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(
        events.body["items"].as_array().unwrap().len(),
        5,
        "{}",
        events.text
    );
    // An unknown code is 404, as an unknown id is.
    app.get("cases/EV-222222")
        .token(&admin)
        .send()
        .await
        .assert_problem(404, "not-found");
    app.post("cases/EV-222222/contacts")
        .token(&admin)
        .json(json!({ "channel": "phone" }))
        .await
        .assert_problem(404, "not-found");
    app.shred(&admin, code).await;
}

async fn the_code_search_takes_a_code_with_or_without_its_prefix(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let code = case["code"].as_str().unwrap();
    let tail = &code[3..6];
    for q in [
        code.to_string(),
        format!("ev-{tail}"),
        tail.to_string(),
        tail.to_lowercase(),
    ] {
        let found = app.get(&format!("cases?q={q}")).token(&admin).send().await;
        assert_eq!(found.status, 200, "{q}: {}", found.text);
        assert!(codes(&found).contains(&code.to_string()), "{q}");
    }
}

async fn lists_sort_count_and_take_me_page_after_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (me, _, coordinator) = app.user(Role::Coordinator).await;
    let mut made = Vec::new();
    for n in 0..7 {
        let assigned = if n % 2 == 0 { json!(me) } else { Value::Null };
        let case = app
            .create_case(&admin, json!({ "assigned_to": assigned }))
            .await;
        made.push(case["code"].as_str().unwrap().to_string());
        app.clock.advance(chrono::Duration::minutes(1));
    }
    // Deadlines in another order than creation: each snoozed a different time.
    let hours = [50, 10, 70, 30, 60, 20, 40];
    for (code, h) in made.iter().zip(hours) {
        let until = (app.clock_now() + chrono::Duration::hours(h)).to_rfc3339();
        let reply = app
            .post(&format!("cases/{code}/snooze"))
            .token(&admin)
            .json(json!({ "until": until, "reason": "waiting" }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let mut by_deadline: Vec<(i64, String)> = hours.iter().copied().zip(made.clone()).collect();
    by_deadline.sort();
    let soonest: Vec<String> = by_deadline.iter().map(|(_, c)| c.clone()).collect();
    let latest: Vec<String> = soonest.iter().rev().cloned().collect();
    assert_eq!(
        all_pages(&app, &admin, "cases?sort=stall_at", 2).await,
        soonest
    );
    assert_eq!(
        all_pages(&app, &admin, "cases?sort=-stall_at", 3).await,
        latest
    );
    assert_eq!(
        all_pages(&app, &admin, "cases?sort=created_at", 2).await,
        made
    );
    // The latest change first.
    app.clock.advance(chrono::Duration::minutes(1));
    app.patch(&format!("cases/{}", made[3]))
        .token(&admin)
        .json(json!({ "household_size": 2 }))
        .await;
    let changed = all_pages(&app, &admin, "cases?sort=-updated_at", 2).await;
    assert_eq!(changed[0], made[3]);
    assert_eq!(changed.len(), 7);
    // Mine, with a count of all pages.
    let mine = app
        .get("cases?assigned_to=me&count=true&limit=2")
        .token(&coordinator)
        .send()
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["total"], 4);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2);
    let all_mine = all_pages(&app, &coordinator, "cases?assigned_to=me", 3).await;
    let expected: Vec<String> = made.iter().step_by(2).cloned().collect();
    assert_eq!(all_mine, expected);
    let plain = app.get("cases").token(&admin).send().await;
    assert!(plain.body.get("total").is_none(), "{}", plain.text);
    // A cursor of one order does not continue another.
    let first = app
        .get("cases?sort=stall_at&limit=2")
        .token(&admin)
        .send()
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let mixed = app
        .get(&format!("cases?sort=-updated_at&cursor={cursor}"))
        .token(&admin)
        .send()
        .await;
    mixed.assert_problem(422, "validation");
    assert_eq!(mixed.error_fields(), ["cursor"]);
}

async fn a_query_parameter_given_twice_or_wrong_names_itself(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    for (query, field, status) in [
        ("stage=intake&stage=transit", "stage", 400),
        ("limit=5&limit=6", "limit", 400),
        ("sort=stall_at&sort=created_at", "sort", 400),
        ("stage=nowhere", "stage", 422),
        ("sort=risk", "sort", 422),
        ("assigned_to=you", "assigned_to", 422),
        ("count=maybe", "count", 400),
    ] {
        let reply = app
            .get(&format!("cases?{query}"))
            .token(&admin)
            .send()
            .await;
        assert_eq!(reply.status, status, "{query}: {}", reply.text);
        if status == 422 {
            assert_eq!(reply.error_fields(), [field], "{query}: {}", reply.text);
        } else {
            assert!(
                reply.body["detail"].as_str().unwrap().contains(field),
                "{query}: {}",
                reply.text
            );
        }
    }
}

backend_tests!(
    a_case_code_is_accepted_wherever_a_case_id_is,
    the_code_search_takes_a_code_with_or_without_its_prefix,
    lists_sort_count_and_take_me_page_after_page,
    a_query_parameter_given_twice_or_wrong_names_itself,
);
