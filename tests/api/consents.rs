//! Consent: a history per case, the latest per scope counts; recorded and
//! read by coordinators and admins; its note sealed on the timeline.

use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend};

const NOTE: &str = "CANARY-CONSENT agreed on the phone with her sister present";

async fn consent_is_a_history_recorded_by_coordinators_with_its_note_sealed(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app.create_case(&admin, json!({})).await;
    let code = case["code"].as_str().unwrap().to_string();
    let path = format!("cases/{code}/consents");
    for (given, method) in [(true, "verbal"), (false, "written")] {
        let reply = app
            .post(&path)
            .token(&admin)
            .json(json!({ "scope": "contact_by_messenger", "given": given, "method": method, "note": NOTE }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(reply.body["given"], given);
        assert!(!reply.text.contains("CANARY"));
    }
    let list = app.get(&path).token(&admin).send().await;
    let history: Vec<(Value, Value)> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["given"].clone(), c["method"].clone()))
        .collect();
    assert_eq!(
        history,
        [
            (json!(true), json!("verbal")),
            (json!(false), json!("written"))
        ]
    );
    assert!(!list.text.contains("CANARY"));
    // Observers neither record nor read it.
    app.get(&path)
        .token(&observer)
        .send()
        .await
        .assert_problem(403, "forbidden");
    app.post(&path)
        .token(&observer)
        .json(json!({ "scope": "contact_by_messenger", "given": true, "method": "verbal" }))
        .await
        .assert_problem(403, "forbidden");
    // Bad input changes nothing.
    for body in [
        json!({ "scope": "share_everything", "given": true, "method": "verbal" }),
        json!({ "scope": "contact_by_messenger", "given": "yes", "method": "verbal" }),
        json!({ "scope": "contact_by_messenger", "given": true, "method": "telepathy" }),
        json!({ "scope": "contact_by_messenger", "given": true, "method": "verbal", "note": " " }),
    ] {
        let reply = app.post(&path).token(&admin).json(body.clone()).await;
        assert!(
            reply.status == 400 || reply.status == 422,
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(
        app.get(&path).token(&admin).send().await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The note is on the timeline, for coordinators; an observer sees that
    // there is one.
    let timeline = app
        .get(&format!("cases/{code}/events"))
        .token(&admin)
        .send()
        .await;
    let notes: Vec<&Value> = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "consent")
        .map(|e| &e["detail"]["note"])
        .collect();
    assert_eq!(notes, [&json!(NOTE), &json!(NOTE)]);
    let seen = app
        .get(&format!("cases/{code}/events"))
        .token(&observer)
        .send()
        .await;
    assert!(!seen.text.contains("CANARY"));
    // Unknown case: 404.
    app.get("cases/EV-222222/consents")
        .token(&admin)
        .send()
        .await
        .assert_problem(404, "not-found");
}

backend_tests!(consent_is_a_history_recorded_by_coordinators_with_its_note_sealed);
