//! Shelters, their occupancy and capacity.

use futures_util::future::join_all;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};

async fn a_shelter_is_created_read_and_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app
        .post("shelters")
        .token(&token)
        .json(json!({ "name": "Riverside", "city": "Vilnius", "country": "LT", "capacity": 6, "contact_email": "desk@riverside.example" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.str("id");
    assert_eq!(
        reply.body,
        json!({
            "id": id, "name": "Riverside", "city": "Vilnius", "country": "LT", "capacity": 6,
            "occupancy": 0, "contact_email": "desk@riverside.example", "active": true,
            "email_label": null, "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:00:00Z", "version": 1,
        })
    );
    assert_eq!(reply.header("etag").as_deref(), Some("\"1\""));
    let read = app
        .get(&format!("shelters/{id}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(read.body["name"], "Riverside");
    let etag = read.header("etag").unwrap();
    let changed = app
        .patch(&format!("shelters/{id}"))
        .token(&token)
        .header("If-Match", &etag)
        .json(json!({ "capacity": 8, "city": null }))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["capacity"], 8);
    assert_eq!(changed.body["city"], serde_json::Value::Null);
    let stale = app
        .patch(&format!("shelters/{id}"))
        .token(&token)
        .header("If-Match", &etag)
        .json(json!({ "capacity": 9 }))
        .await;
    stale.assert_problem(412, "precondition-failed");
    let ro = app
        .patch(&format!("shelters/{id}"))
        .token(&token)
        .json(json!({ "occupancy": 0 }))
        .await;
    assert_eq!(ro.error_fields(), vec!["occupancy"]);
    let list = app.get("shelters").token(&token).send().await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn invalid_shelter_fields_are_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let reply = app
        .post("shelters")
        .token(&token)
        .json(json!({ "name": "", "country": "Russia", "capacity": -1, "contact_email": "nope" }))
        .await;
    reply.assert_problem(422, "validation");
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["capacity", "contact_email", "country", "name"]);
    let missing = app
        .post("shelters")
        .token(&token)
        .json(json!({ "name": "X" }))
        .await;
    missing.assert_problem(400, "bad-request");
}

async fn occupancy_counts_the_households_placed_there_now(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let shelter = app.create_shelter(&token, 10).await;
    let a = app
        .create_case(&token, json!({ "household_size": 3 }))
        .await;
    let b = app
        .create_case(&token, json!({ "household_size": 2 }))
        .await;
    for case in [&a, &b] {
        let reply = app
            .transition(
                &token,
                case["id"].as_str().unwrap(),
                json!({ "to": "safe_house", "shelter_id": shelter }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(app.occupancy(&token, &shelter).await, 5);
    app.transition(
        &token,
        a["id"].as_str().unwrap(),
        json!({ "to": "transit" }),
    )
    .await;
    assert_eq!(
        app.occupancy(&token, &shelter).await,
        2,
        "leaving frees the places"
    );
    app.patch(&format!("cases/{}", b["id"].as_str().unwrap()))
        .token(&token)
        .json(json!({ "household_size": 4 }))
        .await;
    assert_eq!(app.occupancy(&token, &shelter).await, 4);
    let list = app.get("shelters").token(&token).send().await;
    assert_eq!(list.body["items"][0]["occupancy"], 4);
}

async fn a_full_shelter_refuses_a_placement_unless_overridden(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let shelter = app.create_shelter(&token, 3).await;
    let first = app
        .create_case(&token, json!({ "household_size": 2 }))
        .await;
    let second = app
        .create_case(&token, json!({ "household_size": 2 }))
        .await;
    let place = |id: &str, extra: serde_json::Value| {
        let mut body = json!({ "to": "safe_house", "shelter_id": shelter });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let id = id.to_string();
        let (app, token) = (&app, &token);
        async move { app.transition(token, &id, body).await }
    };
    assert_eq!(
        place(first["id"].as_str().unwrap(), json!({})).await.status,
        200
    );
    let full = place(second["id"].as_str().unwrap(), json!({})).await;
    full.assert_problem(409, "shelter-full");
    assert_eq!(
        (
            full.body["capacity"].as_i64(),
            full.body["occupancy"].as_i64()
        ),
        (Some(3), Some(2))
    );
    let unchanged = app
        .get(&format!("cases/{}", second["id"].as_str().unwrap()))
        .token(&token)
        .send()
        .await;
    assert_eq!(unchanged.body["stage"], "intake");
    let forced = place(
        second["id"].as_str().unwrap(),
        json!({ "override_capacity": true }),
    )
    .await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    let events = app
        .get(&format!("cases/{}/events", second["id"].as_str().unwrap()))
        .token(&token)
        .send()
        .await;
    assert_eq!(events.body["items"][1]["detail"]["override_capacity"], true);
    // Growing a placed household past capacity is refused the same way.
    let grow = app
        .patch(&format!("cases/{}", first["id"].as_str().unwrap()))
        .token(&token)
        .json(json!({ "household_size": 3 }))
        .await;
    grow.assert_problem(409, "shelter-full");
}

async fn concurrent_placements_never_overfill_a_shelter(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let shelter = app.create_shelter(&token, 3).await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(
            app.create_case(&token, json!({})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let attempts = ids.iter().map(|id| {
        app.transition(
            &token,
            id,
            json!({ "to": "safe_house", "shelter_id": shelter }),
        )
    });
    let replies = join_all(attempts).await;
    let placed = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (placed, refused),
        (3, 5),
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let read = app
        .get(&format!("shelters/{shelter}"))
        .token(&token)
        .send()
        .await;
    assert_eq!(read.body["occupancy"], 3);
}

async fn an_inactive_shelter_takes_no_placements(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let shelter = app.create_shelter(&token, 3).await;
    app.patch(&format!("shelters/{shelter}"))
        .token(&token)
        .json(json!({ "active": false }))
        .await;
    let case = app.create_case(&token, json!({})).await;
    let reply = app
        .transition(
            &token,
            case["id"].as_str().unwrap(),
            json!({ "to": "safe_house", "shelter_id": shelter }),
        )
        .await;
    assert_eq!(reply.error_fields(), vec!["shelter_id"]);
}

backend_tests!(
    a_shelter_is_created_read_and_changed,
    invalid_shelter_fields_are_listed,
    occupancy_counts_the_households_placed_there_now,
    a_full_shelter_refuses_a_placement_unless_overridden,
    concurrent_placements_never_overfill_a_shelter,
    an_inactive_shelter_takes_no_placements,
);
