//! Stalls raise alerts, alerts email people, nothing is lost when SMTP is
//! down, and the weekly status email goes out once a week — through a real
//! SMTP server in this process, on the test clock.

use std::net::TcpListener;

use chrono::Duration;
use corridor::domain::{AlertKind, Role};
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, Mail, MailSink, TestApp};

/// Strings planted in every field an email must never show.
const CANARIES: [&str; 7] = [
    "Canary-Origin-7731",
    "Canary-Shelter-5520",
    "Canary-City-4410",
    "canary-desk@shelter.example",
    "Canary-Note-9913",
    "Canary-Contact-2211",
    "Canary-Reason-6645",
];

fn assert_no_canaries(mail: &Mail) {
    for canary in CANARIES {
        assert!(
            !mail.data.contains(canary),
            "{canary} leaked into an email:\n{}",
            mail.data
        );
    }
    assert!(
        !mail.data.to_lowercase().contains("destination"),
        "{}",
        mail.data
    );
}

/// A coordinator, and a case assigned to them placed in a shelter, with
/// canaries in every free field. Returns (coordinator email, case).
async fn canary_case(app: &TestApp, admin: &str) -> (String, Value) {
    let (coordinator, email, _) = app.user(Role::Coordinator).await;
    let shelter = app
        .post("shelters")
        .token(admin)
        .json(json!({ "name": CANARIES[1], "city": CANARIES[2], "country": "LT", "capacity": 5, "contact_email": CANARIES[3] }))
        .await
        .str("id");
    let case = app
        .create_case(admin, json!({ "origin_region": CANARIES[0], "destination_country": "NL", "assigned_to": coordinator, "household_size": 2 }))
        .await;
    let id = case["id"].as_str().unwrap();
    let placed = app
        .transition(
            admin,
            id,
            json!({ "to": "safe_house", "shelter_id": shelter, "note": CANARIES[4] }),
        )
        .await;
    assert_eq!(placed.status, 200, "{}", placed.text);
    let contact = app
        .post(&format!("cases/{id}/contacts"))
        .token(admin)
        .json(json!({ "channel": "signal", "note": CANARIES[5] }))
        .await;
    assert_eq!(contact.status, 201);
    (email, case)
}

/// The shelter a case is placed at.
async fn case_shelter(app: &TestApp, token: &str, case: &Value) -> String {
    let path = format!("cases/{}", case["id"].as_str().unwrap());
    app.get(&path).token(token).send().await.str("shelter_id")
}

async fn alerts_of(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("alerts{query}")).token(token).send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

async fn a_stalled_case_raises_one_alert_and_one_email_without_personal_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    let (coordinator, case) = canary_case(&app, &admin).await;
    app.clock.advance(Duration::days(7) - Duration::minutes(1));
    assert!(app.scan().await.raised.is_empty(), "not stalled yet");
    app.clock.advance(Duration::minutes(1));
    let report = app.scan().await;
    assert_eq!(report.raised.len(), 1);
    assert_eq!(report.raised[0].0.kind, AlertKind::NoContact);
    for _ in 0..3 {
        assert!(
            app.scan().await.raised.is_empty(),
            "one alert per episode, however often the scan runs"
        );
    }
    let delivery = app.deliver(&sink.url).await;
    assert_eq!((delivery.sent, delivery.failed), (1, 0));
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(
        mail.to,
        vec![coordinator.clone()],
        "to the assigned coordinator only"
    );
    assert!(mail.data.contains(case["code"].as_str().unwrap()));
    let short = &case_shelter(&app, &app.admin_token().await, &case).await[..8];
    assert!(
        mail.data
            .contains(&format!("(safe house at shelter {short})"))
            && mail.data.contains("no contact for 7 days (limit 7 days)"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains(&format!(
        "GET http://127.0.0.1:8080/api/v1/cases/{}",
        case["code"].as_str().unwrap()
    )));
    // The one link to follow opens the API's page at the operation.
    assert!(
        mail.data
            .contains("<a href=3D\"http://127.0.0.1:8080/docs#/alerts/alerts_acknowledge\">"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("multipart/alternative") && mail.data.contains("text/html"));
    assert_no_canaries(mail);
    assert_eq!(app.deliver(&sink.url).await.sent, 0, "sent once");
    let admin = app.admin_token().await;
    let open = alerts_of(&app, &admin, "?state=open").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["case_code"], case["code"]);
    let events = app
        .get(&format!("cases/{}/events", case["id"].as_str().unwrap()))
        .token(&admin)
        .send()
        .await;
    let items = events.body["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "assignment",
            "transition",
            "contact",
            "alert_raised"
        ]
    );
    let raised = items.last().unwrap();
    assert_eq!(raised["actor"]["kind"], "system");
    assert_eq!(
        raised["detail"],
        json!({ "alert_id": open[0]["id"], "kind": "no_contact", "rule": "no contact for 7 days (limit 7 days)" })
    );
    app.assert_outbox_drained().await;
}

async fn an_unassigned_case_alerts_every_coordinator(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    let (_, first, _) = app.user(Role::Coordinator).await;
    let (_, second, _) = app.user(Role::Coordinator).await;
    app.create_case(&admin, json!({})).await;
    app.clock.advance(Duration::days(3));
    assert_eq!(app.scan().await.raised[0].0.kind, AlertKind::StageOverdue);
    app.deliver(&sink.url).await;
    let mut to: Vec<String> = sink.mails().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(to, expected);
    app.assert_outbox_drained().await;
}

async fn two_scanners_at_once_still_raise_one_alert_per_episode(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.user(Role::Coordinator).await;
    for _ in 0..12 {
        app.create_case(&admin, json!({})).await;
    }
    app.clock.advance(Duration::days(4));
    let (a, b) = futures_util::future::join(app.scan(), app.scan()).await;
    assert_eq!(
        a.raised.len() + b.raised.len(),
        12,
        "{} + {}",
        a.raised.len(),
        b.raised.len()
    );
    let admin = app.admin_token().await;
    assert_eq!(alerts_of(&app, &admin, "?limit=100").await.len(), 12);
    let pending = app.get("admin/outbox").token(&admin).send().await;
    assert_eq!(
        pending.body["items"].as_array().unwrap().len(),
        12,
        "one email per alert"
    );
}

async fn an_unacknowledged_alert_is_escalated_to_the_admins_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    let (_, admin_two, _) = app.user(Role::Admin).await;
    let (_, coordinator_email, _) = app.user(Role::Coordinator).await;
    let ignored = app.create_case(&admin, json!({})).await;
    let handled = app.create_case(&admin, json!({})).await;
    app.clock.advance(Duration::days(3));
    assert_eq!(app.scan().await.raised.len(), 2);
    let coordinator = app.token_for(&coordinator_email).await;
    let handled_alert = alerts_of(
        &app,
        &coordinator,
        &format!("?case_id={}", handled["id"].as_str().unwrap()),
    )
    .await;
    let ack = app
        .post(&format!(
            "alerts/{}/ack",
            handled_alert[0]["id"].as_str().unwrap()
        ))
        .token(&coordinator)
        .json(json!({ "note": "calling now" }))
        .await;
    assert_eq!(ack.status, 200, "{}", ack.text);
    assert_eq!(ack.body["state"], "acknowledged");
    let again = app
        .post(&format!(
            "alerts/{}/ack",
            handled_alert[0]["id"].as_str().unwrap()
        ))
        .token(&coordinator)
        .json(json!({}))
        .await;
    assert_eq!(
        again.body["acknowledged_at"], ack.body["acknowledged_at"],
        "acknowledging twice changes nothing"
    );
    let timeline = app
        .get(&format!("cases/{}/events", handled["id"].as_str().unwrap()))
        .token(&coordinator)
        .send()
        .await;
    let acks: Vec<&Value> = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "alert_acknowledged")
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0]["detail"]["note"], "calling now");
    app.clock
        .advance(Duration::hours(24) - Duration::seconds(1));
    assert!(app.scan().await.escalated.is_empty());
    app.clock.advance(Duration::seconds(1));
    let report = app.scan().await;
    assert_eq!(report.escalated.len(), 1);
    assert_eq!(
        report.escalated[0].1.as_str(),
        ignored["code"].as_str().unwrap()
    );
    assert!(app.scan().await.escalated.is_empty(), "once");
    app.deliver(&sink.url).await;
    let escalations: Vec<Mail> = sink
        .mails()
        .into_iter()
        .filter(|m| m.subject().starts_with("[Corridor] Escalation"))
        .collect();
    let mut to: Vec<String> = escalations.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    let mut admins = vec![crate::helpers::ADMIN_EMAIL.to_string(), admin_two];
    admins.sort();
    assert_eq!(to, admins);
    let code = ignored["code"].as_str().unwrap();
    assert!(escalations.iter().all(
        |m| m.subject() == format!("[Corridor] Escalation: {code} unacknowledged for 24 hours")
    ));
    assert_eq!(sink.mails().len(), 2 + 2, "two raised, two escalations");
    app.assert_outbox_drained().await;
}

async fn moving_on_resolves_alerts_and_a_contact_resolves_silence(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.user(Role::Coordinator).await;
    let shelter = app.create_shelter(&admin, 5).await;
    let case = app.create_case(&admin, json!({})).await;
    let id = case["id"].as_str().unwrap().to_string();
    app.transition(&admin, &id, json!({ "to": "transit" }))
        .await;
    app.clock.advance(Duration::hours(48));
    let admin = app.admin_token().await;
    assert_eq!(app.scan().await.raised[0].0.kind, AlertKind::NoContact);
    app.post(&format!("cases/{id}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "phone" }))
        .await;
    let resolved = alerts_of(&app, &admin, "?state=resolved").await;
    assert_eq!(resolved.len(), 1, "the contact resolved the silence alert");
    assert_eq!(resolved[0]["resolved_at"], "2026-11-25T08:00:00Z");
    app.clock.advance(Duration::days(3));
    let admin = app.admin_token().await;
    assert_eq!(app.scan().await.raised[0].0.kind, AlertKind::StageOverdue);
    app.post(&format!("cases/{id}/contacts"))
        .token(&admin)
        .json(json!({ "channel": "phone" }))
        .await;
    assert_eq!(
        alerts_of(&app, &admin, "?state=open").await.len(),
        1,
        "a contact does not end a stage alert"
    );
    app.transition(
        &admin,
        &id,
        json!({ "to": "safe_house", "shelter_id": shelter }),
    )
    .await;
    assert!(
        alerts_of(&app, &admin, "?state=open").await.is_empty(),
        "moving on resolves it"
    );
    let events = app
        .get(&format!("cases/{id}/events"))
        .token(&admin)
        .send()
        .await;
    let kinds: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "alert_raised").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "alert_resolved").count(), 2);
    let missing = uuid::Uuid::now_v7();
    app.post(&format!("alerts/{missing}/ack"))
        .token(&admin)
        .json(json!({}))
        .await
        .assert_problem(404, "not-found");
    let resolved_id = resolved[0]["id"].as_str().unwrap();
    app.post(&format!("alerts/{resolved_id}/ack"))
        .token(&admin)
        .json(json!({}))
        .await
        .assert_problem(409, "alert-resolved");
    app.get("alerts?state=sleeping")
        .token(&admin)
        .send()
        .await
        .assert_problem(422, "validation");
}

async fn a_missing_report_from_a_shelter_alerts_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    let (coordinator, case) = canary_case(&app, &admin).await;
    let shelter = case["id"].as_str().unwrap();
    let read = app
        .get(&format!("cases/{shelter}"))
        .token(&admin)
        .send()
        .await;
    let shelter_id = read.str("shelter_id");
    let (_, key) = app.issue_key(&admin, &shelter_id).await;
    let code = case["code"].as_str().unwrap();
    let reply = app
        .post(&format!("partner/cases/{code}/checkins"))
        .token(&key)
        .json(json!({ "kind": "missing", "note": CANARIES[6] }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let open = alerts_of(&app, &admin, "?state=open").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["kind"], "reported_missing");
    app.post(&format!("partner/cases/{code}/checkins"))
        .token(&key)
        .json(json!({ "kind": "needs_help" }))
        .await;
    assert_eq!(
        alerts_of(&app, &admin, "?kind=help_requested").await.len(),
        1
    );
    app.post(&format!("partner/cases/{code}/checkins"))
        .token(&key)
        .json(json!({ "kind": "welfare_ok" }))
        .await;
    assert_eq!(
        alerts_of(&app, &admin, "").await.len(),
        2,
        "welfare_ok raises nothing"
    );
    app.deliver(&sink.url).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().all(|m| m.to == vec![coordinator.clone()]));
    let mut subjects: Vec<String> = mails.iter().map(Mail::subject).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            format!("[Corridor] {code} needs attention: help requested"),
            format!("[Corridor] {code} needs attention: reported missing"),
        ]
    );
    mails.iter().for_each(assert_no_canaries);
    app.assert_outbox_drained().await;
}

/// An address where nothing listens (yet).
fn free_port() -> std::net::SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn an_smtp_outage_loses_nothing_and_sends_each_email_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.user(Role::Coordinator).await;
    for _ in 0..3 {
        app.create_case(&admin, json!({})).await;
    }
    app.clock.advance(Duration::days(3));
    assert_eq!(app.scan().await.raised.len(), 3);
    let down = free_port();
    let url = format!("smtp://{down}");
    let failed = app.deliver(&url).await;
    assert_eq!((failed.sent, failed.failed, failed.dead), (0, 3, 0));
    let admin = app.admin_token().await;
    let pending = app.get("admin/outbox").token(&admin).send().await;
    let items = pending.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|m| m["attempts"] == 1 && m["last_error"].is_string()));
    assert_eq!(
        app.deliver(&url).await,
        Default::default(),
        "nothing is due before the back-off ends"
    );
    // SMTP comes back on the same address.
    let sink = MailSink::start_on(TcpListener::bind(down).unwrap());
    app.clock.advance(Duration::seconds(36));
    let delivered = app.deliver(&sink.url).await;
    assert_eq!((delivered.sent, delivered.failed), (3, 0));
    assert_eq!(app.deliver(&sink.url).await.sent, 0);
    assert_eq!(sink.mails().len(), 3, "each email once");
    let message_ids: std::collections::HashSet<String> = sink
        .mails()
        .iter()
        .filter_map(|m| {
            m.data
                .lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(message_ids.len(), 3);
    let pending = app.get("admin/outbox").token(&admin).send().await;
    assert_eq!(pending.body["items"], json!([]));
    app.assert_outbox_drained().await;
}

async fn an_email_undelivered_for_72_hours_is_dead_and_shown_to_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.create_case(&admin, json!({})).await;
    app.clock.advance(Duration::days(3));
    app.scan().await;
    let url = format!("smtp://{}", free_port());
    assert_eq!(app.deliver(&url).await.failed, 1);
    app.clock.advance(Duration::hours(72));
    let last = app.deliver(&url).await;
    assert_eq!((last.failed, last.dead), (1, 1));
    let admin = app.admin_token().await;
    let dead = app
        .get("admin/outbox?state=dead")
        .token(&admin)
        .send()
        .await;
    assert_eq!(dead.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(dead.body["items"][0]["dead_at"], "2026-11-29T08:00:00Z");
    app.clock.advance(Duration::days(1));
    assert_eq!(
        app.deliver(&url).await,
        Default::default(),
        "a dead email is not retried"
    );
    let (_, _, coordinator) = app.user(Role::Coordinator).await;
    app.get("admin/outbox")
        .token(&coordinator)
        .send()
        .await
        .assert_problem(403, "forbidden");
}

async fn queue_digest(app: &TestApp, timezone: &str) -> Option<usize> {
    let mut config = app.config.clone();
    config.digest.timezone = timezone.to_string();
    let schedule = config.digest.schedule().unwrap();
    let now = app.clock_now();
    let pool = app.pool().await;
    let links = corridor::email::Links::new(&config.server.public_url);
    corridor::db::run(&pool, move |conn| {
        let queued = corridor::jobs::digest::queue_if_due(conn, now, &schedule, &links)?;
        Ok(queued.map(|(_, n)| n))
    })
    .await
    .unwrap()
}

async fn the_weekly_status_email_goes_out_once_a_week_on_schedule(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    let (_, coordinator, _) = app.user(Role::Coordinator).await;
    let (_, observer, _) = app.user(Role::Observer).await;
    let (assigned, case) = canary_case(&app, &admin).await;
    let shelter = case_shelter(&app, &admin, &case).await;
    // The test clock starts on Monday 2026-11-23 at 08:00 UTC, the default moment.
    app.clock.advance(Duration::minutes(-1));
    assert_eq!(
        queue_digest(&app, "UTC").await,
        None,
        "not before Monday 08:00"
    );
    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        queue_digest(&app, "UTC").await,
        Some(3),
        "admin and both coordinators, not the observer"
    );
    assert_eq!(queue_digest(&app, "UTC").await, None, "once a week");
    // Down until Wednesday: still nothing new this week.
    app.clock.advance(Duration::days(2));
    assert_eq!(queue_digest(&app, "UTC").await, None);
    app.deliver(&sink.url).await;
    let mails = sink.mails();
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    let mut expected = vec![
        crate::helpers::ADMIN_EMAIL.to_string(),
        coordinator,
        assigned,
    ];
    expected.sort();
    assert_eq!(to, expected, "not the observer {observer}");
    let mail = &mails[0];
    assert_eq!(mail.subject(), "[Corridor] Weekly status 2026-W48");
    for line in [
        "intake: 0",
        "safe house: 1",
        "transit: 0",
        "resettlement: 0",
        "closed: 0",
    ] {
        assert!(mail.data.contains(line), "{line} in {}", mail.data);
    }
    let code = case["code"].as_str().unwrap();
    assert!(
        mail.data
            .contains(&format!("{code}: intake =E2=86=92 safe house")),
        "moves list the code: {}",
        mail.data
    );
    assert!(
        mail.data
            .contains(&format!("shelter {}: 2 of 5 places taken", &shelter[..8])),
        "occupancy by the start of the shelter's id: {}",
        mail.data
    );
    assert_no_canaries(mail);
    app.assert_outbox_drained().await;
    // Next Monday, a new week.
    app.clock.advance(Duration::days(5));
    assert_eq!(queue_digest(&app, "UTC").await, Some(3));
}

async fn a_fresh_install_sends_its_first_digest_at_the_first_moment_after_it(backend: Backend) {
    let app = spawn_app(backend).await;
    // Installed on Monday at 09:00 UTC, an hour after that week's moment.
    app.sql("UPDATE users SET created_at = '2026-11-23 09:00:00'")
        .await;
    app.clock.advance(Duration::hours(1));
    assert_eq!(
        queue_digest(&app, "UTC").await,
        None,
        "nothing to report yet"
    );
    app.clock
        .advance(Duration::days(6) + Duration::hours(22) + Duration::minutes(59));
    assert_eq!(queue_digest(&app, "UTC").await, None, "Monday 07:59");
    app.clock.advance(Duration::minutes(1));
    assert_eq!(
        queue_digest(&app, "UTC").await,
        Some(1),
        "the next Monday, 08:00"
    );
}

async fn the_weekly_email_keeps_local_time_across_a_daylight_saving_change(backend: Backend) {
    let app = spawn_app(backend).await;
    // Installed in January, so that October's rounds are due.
    app.sql("UPDATE users SET created_at = '2026-01-05 00:00:00'")
        .await;
    // Monday 19 October 2026, 08:00 in Berlin is 06:00 UTC (summer time) ...
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-10-19T05:59:00Z")
            .unwrap()
            .into(),
    );
    assert_eq!(queue_digest(&app, "Europe/Berlin").await, None);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(queue_digest(&app, "Europe/Berlin").await, Some(1));
    // ... and on Monday 26 October, after the change, 07:00 UTC.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-10-26T06:30:00Z")
            .unwrap()
            .into(),
    );
    assert_eq!(
        queue_digest(&app, "Europe/Berlin").await,
        None,
        "06:30 UTC is 07:30 in Berlin now"
    );
    app.clock.advance(Duration::minutes(30));
    assert_eq!(queue_digest(&app, "Europe/Berlin").await, Some(1));
}

async fn emails_name_the_shelter_by_its_label_and_link_to_how_to_act(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    let refused = app
        .post("shelters")
        .token(&admin)
        .json(json!({ "name": "X", "country": "LT", "capacity": 5, "email_label": "two\nlines" }))
        .await;
    refused.assert_problem(422, "validation");
    assert_eq!(refused.error_fields(), ["email_label"]);
    let shelter = app
        .post("shelters")
        .token(&admin)
        .json(json!({ "name": CANARIES[1], "city": CANARIES[2], "country": "LT", "capacity": 5, "email_label": "House 3" }))
        .await;
    assert_eq!(shelter.status, 201, "{}", shelter.text);
    assert_eq!(shelter.body["email_label"], "House 3");
    let shelter = shelter.str("id");
    let case = app.create_case(&admin, json!({})).await;
    let code = case["code"].as_str().unwrap().to_string();
    app.transition(
        &admin,
        &code,
        json!({ "to": "safe_house", "shelter_id": shelter }),
    )
    .await;
    app.clock.advance(Duration::days(8));
    assert_eq!(app.scan().await.raised.len(), 1);
    app.clock.advance(Duration::hours(25));
    assert_eq!(app.scan().await.escalated.len(), 1);
    assert_eq!(queue_digest(&app, "UTC").await, Some(1));
    app.deliver(&sink.url).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 3, "raised, escalated, weekly");
    for mail in &mails {
        assert_no_canaries(mail);
        assert!(mail.data.contains("House 3"), "{}", mail.data);
        assert!(!mail.data.contains("safe_house"), "{}", mail.data);
        assert!(
            !mail.data.contains(&shelter),
            "no shelter ids: {}",
            mail.data
        );
    }
    let raised = mails
        .iter()
        .find(|m| m.subject().contains("needs attention"))
        .unwrap();
    assert!(
        raised.data.contains(&format!(
            "{code} (safe house at House 3) raised an alert: no contact"
        )),
        "{}",
        raised.data
    );
    let weekly = mails
        .iter()
        .find(|m| m.subject().contains("Weekly status"))
        .unwrap();
    for line in [
        "House 3: 1 of 5 places taken",
        "safe house: 1",
        "stalled=3Dtrue&sort=3Dstall_at",
        "/docs#/cases/cases_list",
    ] {
        assert!(weekly.data.contains(line), "{line} in {}", weekly.data);
    }
    // The link opens a page, not a bare 401: the docs page (the fragment
    // picks the operation in the browser).
    let page = app.get("/docs").send().await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"));
    // The label can go again: emails then use the start of the id.
    let admin = app.admin_token().await;
    let cleared = app
        .patch(&format!("shelters/{shelter}"))
        .token(&admin)
        .json(json!({ "email_label": null }))
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.body["email_label"], Value::Null);
}

backend_tests!(
    emails_name_the_shelter_by_its_label_and_link_to_how_to_act,
    a_stalled_case_raises_one_alert_and_one_email_without_personal_data,
    an_unassigned_case_alerts_every_coordinator,
    two_scanners_at_once_still_raise_one_alert_per_episode,
    an_unacknowledged_alert_is_escalated_to_the_admins_once,
    moving_on_resolves_alerts_and_a_contact_resolves_silence,
    a_missing_report_from_a_shelter_alerts_at_once,
    an_smtp_outage_loses_nothing_and_sends_each_email_once,
    an_email_undelivered_for_72_hours_is_dead_and_shown_to_admins,
    the_weekly_status_email_goes_out_once_a_week_on_schedule,
    the_weekly_email_keeps_local_time_across_a_daylight_saving_change,
    a_fresh_install_sends_its_first_digest_at_the_first_moment_after_it,
);
