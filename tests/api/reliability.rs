//! Faults a reliability probe found: a stall scan of any size, senders
//! that never send one message twice, several instances on one PostgreSQL.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{corridor, spawn_app, Backend, MailSink, Served, ADMIN_EMAIL, PASSWORD};
use corridor::db;
use corridor::domain::Role;
use corridor::models::outbox::OutboxMessage;

async fn count(app: &crate::helpers::TestApp, sql: &str) -> usize {
    app.texts(&format!("SELECT CAST(COUNT(*) AS TEXT) AS t FROM {sql}"))
        .await[0]
        .parse()
        .unwrap()
}

async fn the_stall_scan_makes_progress_in_batches_whatever_the_number_stalled(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ok, out) = corridor(&app, "", &["demo", "--cases", "4000", "--seed", "5"]);
    assert!(ok, "{out}");
    // A year on, every open case is past its deadline: far more than one batch.
    app.clock.set(Utc::now() + Duration::days(365));
    let open_before = count(&app, "alerts WHERE resolved_at IS NULL").await;
    // A scan asked to stop (SIGTERM) stops at the next batch, writing nothing half.
    let (pool, context) = (app.pool().await, app.context.clone());
    let now = app.clock_now().naive_utc();
    let stopped = db::run(&pool, move |conn| {
        let stop = corridor::jobs::Stop::default();
        stop.ask();
        Ok(corridor::jobs::alerts::scan(conn, now, &context, &stop)?)
    })
    .await
    .unwrap();
    assert!(stopped.raised.is_empty());
    let report = app.scan().await;
    assert!(report.raised.len() > 200, "raised {}", report.raised.len());
    let open_after = count(&app, "alerts WHERE resolved_at IS NULL").await;
    assert_eq!(
        open_after - open_before,
        report.raised.len(),
        "one alert per stall"
    );
    let stalled_without_alert = count(
        &app,
        "cases c WHERE c.outcome IS NULL AND c.snoozed_until IS NULL AND NOT EXISTS \
         (SELECT 1 FROM alerts a WHERE a.case_id = c.id AND a.stage = c.stage \
          AND a.kind IN ('stage_overdue', 'no_contact') AND a.resolved_at IS NULL)",
    )
    .await;
    assert_eq!(stalled_without_alert, 0, "every stalled case alerted");
    let again = app.scan().await;
    assert_eq!(
        again.raised.len(),
        0,
        "alerted cases left the set the scan reads"
    );
}

async fn senders_claim_one_message_at_a_time_and_never_send_one_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let admin = app.admin_token().await;
    for _ in 0..12 {
        app.create_case(&admin, json!({})).await;
    }
    app.clock.set(app.clock_now() + Duration::days(4));
    assert_eq!(app.scan().await.raised.len(), 12);
    // A sender that claimed a message and died before sending it.
    let pool = app.pool().await;
    let now = app.clock_now().naive_utc();
    let orphan = db::run(&pool, move |conn| {
        Ok(OutboxMessage::claim_next(
            conn,
            now,
            chrono::Duration::seconds(180),
        )?)
    })
    .await
    .unwrap()
    .expect("a due message");
    // Two senders at once share out the rest, each message once.
    let (a, b) = futures_util::future::join(app.deliver(&sink.url), app.deliver(&sink.url)).await;
    assert_eq!(a.sent + b.sent, 11, "{a:?} {b:?}");
    assert_eq!(sink.mails().len(), 11);
    // The dead sender's claim runs out and the message goes, once.
    app.clock.set(app.clock_now() + Duration::minutes(4));
    assert_eq!(app.deliver(&sink.url).await.sent, 1);
    let mut subjects: Vec<String> = sink.mails().iter().map(|m| m.subject()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 12, "twelve different emails");
    assert!(sink.mails().iter().any(|m| m.data.contains(&orphan.id)));
    app.assert_outbox_drained().await;
}

backend_tests!(
    the_stall_scan_makes_progress_in_batches_whatever_the_number_stalled,
    senders_claim_one_message_at_a_time_and_never_send_one_twice,
);

/// PostgreSQL only: two `corridor serve` on one database do each job once
/// and share their limits.
#[actix_web::test]
#[cfg_attr(
    not(corridor_postgres_tests),
    ignore = "set CORRIDOR_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
async fn two_servers_on_one_postgresql_alert_once_and_share_tokens_and_limits() {
    let app = spawn_app(Backend::Postgres).await;
    let sink = MailSink::start();
    let (admin, code) = app.case_overdue_by_the_real_clock().await;
    let shelter = app.create_shelter(&admin, 10).await;
    let (_, key) = app.issue_key(&admin, &shelter).await;
    let (_, coordinator, _) = app.user(Role::Coordinator).await;
    let envs = [
        ("CORRIDOR_SMTP_URL", sink.url.as_str()),
        ("CORRIDOR_STALL_SCAN_EVERY", "1s"),
        ("CORRIDOR_EMAIL_SEND_EVERY", "1s"),
        ("CORRIDOR_PARTNER_RATE_LIMIT_PER_MINUTE", "10"),
    ];
    let servers = [Served::start(&app, &envs), Served::start(&app, &envs)];
    for served in &servers {
        served.wait_until_up(&app).await;
    }
    // One stall, one alert, one email, whichever instance scanned.
    let subject = format!("[Corridor] {code} needs attention: stage overdue");
    servers[0]
        .wait_for("the alert email", async || {
            sink.mails()
                .iter()
                .any(|m| m.subject() == subject)
                .then_some(())
        })
        .await;
    // Both go on scanning and sending every second; nothing more may come.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    let alerts = sink
        .mails()
        .iter()
        .filter(|m| m.subject() == subject)
        .count();
    assert_eq!(alerts, 1, "one email, not one per instance");
    assert_eq!(count(&app, "alerts").await, 1, "one alert");
    let mut digests: Vec<Vec<String>> = sink
        .mails()
        .into_iter()
        .filter(|m| m.subject().contains("Weekly status"))
        .map(|m| m.to)
        .collect();
    let sent = digests.len();
    digests.sort();
    digests.dedup();
    assert_eq!(
        digests.len(),
        sent,
        "one digest a recipient, not one per instance"
    );

    // A token from one is good on the other.
    let token = servers[0].token(&app, ADMIN_EMAIL).await;
    let me = app
        .client
        .get(servers[1].url("me"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // A key's budget is one, not one per instance: 10 a minute in all.
    // The minute is the wall clock's (these servers run on the real one):
    // the 14 requests must not straddle its turn, or the count starts over.
    let into_minute = Utc::now().timestamp_millis().rem_euclid(60_000) as u64;
    if into_minute > 58_000 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(60_050 - into_minute)).await;
    }
    let mut answered = Vec::new();
    for i in 0..14 {
        let reply = app
            .client
            .get(servers[i % 2].url("partner/cases"))
            .insert_header(("X-API-Key", key.as_str()))
            .send()
            .await
            .unwrap();
        answered.push(reply.status().as_u16());
    }
    assert_eq!(
        answered.iter().filter(|s| **s == 200).count(),
        10,
        "{answered:?}"
    );
    assert_eq!(
        answered.iter().filter(|s| **s == 429).count(),
        4,
        "{answered:?}"
    );

    // Failed sign-ins count across both: five, spread over the two, lock
    // the account for this address on both.
    for i in 0..5 {
        let status = servers[i % 2]
            .login(&app, &coordinator, "a wrong password guess")
            .await;
        assert_eq!(status, 401);
    }
    for served in &servers {
        assert_eq!(served.login(&app, &coordinator, PASSWORD).await, 429);
    }
}
