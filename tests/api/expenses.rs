//! Money spent on cases: recorded with its note sealed, summed by month in
//! /stats (per currency, no conversion), and reported to donors as CSV with
//! nothing personal in it.

use chrono::Duration;
use corridor::domain::Role;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{spawn_app, Backend, MailSink, TestApp};

const NOTE: &str = "CANARY-EXP paid the smuggler's cousin in Nalchik";

fn day(app: &TestApp, days: i64) -> String {
    (app.clock_now() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn spend(app: &TestApp, token: &str, case: &str, body: Value) -> Value {
    let reply = app
        .post(&format!("cases/{case}/expenses"))
        .token(token)
        .json(body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn spending_is_recorded_summed_and_reported_without_its_notes(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let (_, _, observer) = app.user(Role::Observer).await;
    let case = app.create_case(&admin, json!({})).await;
    let (id, code) = (
        case["id"].as_str().unwrap().to_string(),
        case["code"].as_str().unwrap().to_string(),
    );
    let ticket = spend(
        &app,
        &admin,
        &code,
        json!({ "category": "transport", "amount": "84.5", "currency": "EUR", "spent_on": day(&app, -1), "note": NOTE }),
    )
    .await;
    assert_eq!(ticket["amount"], "84.50");
    assert_eq!(ticket["has_note"], true);
    assert!(!ticket.to_string().contains("CANARY"));
    spend(
        &app,
        &admin,
        &code,
        json!({ "category": "transport", "amount": "15.5", "currency": "EUR", "spent_on": day(&app, 0) }),
    )
    .await;
    spend(
        &app,
        &admin,
        &code,
        json!({ "category": "housing", "amount": "12000", "currency": "RUB", "spent_on": day(&app, 0) }),
    )
    .await;
    // Bad input changes nothing.
    for body in [
        json!({ "category": "transport", "amount": 84.5, "currency": "EUR", "spent_on": day(&app, 0) }),
        json!({ "category": "transport", "amount": "0", "currency": "EUR", "spent_on": day(&app, 0) }),
        json!({ "category": "transport", "amount": "-3", "currency": "EUR", "spent_on": day(&app, 0) }),
        json!({ "category": "transport", "amount": "3", "currency": "EURO", "spent_on": day(&app, 0) }),
        json!({ "category": "bribes", "amount": "3", "currency": "EUR", "spent_on": day(&app, 0) }),
        json!({ "category": "transport", "amount": "3", "currency": "EUR", "spent_on": day(&app, 2) }),
    ] {
        let reply = app
            .post(&format!("cases/{code}/expenses"))
            .token(&admin)
            .json(body.clone())
            .await;
        assert!(
            reply.status == 422 || reply.status == 400,
            "{body}: {}",
            reply.text
        );
    }
    app.post(&format!("cases/{code}/expenses"))
        .token(&observer)
        .json(json!({ "category": "other", "amount": "1", "currency": "EUR", "spent_on": day(&app, 0) }))
        .await
        .assert_problem(403, "forbidden");
    let list = app
        .get(&format!("cases/{id}/expenses"))
        .token(&observer)
        .send()
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    assert!(!list.text.contains("CANARY"));

    // The note: to coordinators, audited; observers see only that it exists.
    let path = format!("cases/{id}/expenses/{}", ticket["id"].as_str().unwrap());
    let seen = app.get(&path).token(&observer).send().await;
    assert!(seen.body.get("note").is_none(), "{}", seen.text);
    let read = app.get(&path).token(&admin).send().await;
    assert_eq!(read.body["note"], NOTE);

    // /stats: this month by category and currency.
    let stats = app.get("stats").token(&admin).send().await;
    let spending = stats.body["spending"].as_array().unwrap();
    let month = &day(&app, 0)[..7];
    let this_month: Vec<(Value, Value, Value)> = spending
        .iter()
        .filter(|s| s["month"] == month)
        .map(|s| {
            (
                s["category"].clone(),
                s["currency"].clone(),
                s["amount"].clone(),
            )
        })
        .collect();
    let yesterday_month = &day(&app, -1)[..7];
    if yesterday_month == month {
        assert!(this_month.contains(&(json!("transport"), json!("EUR"), json!("100.00"))));
    }
    assert!(this_month.contains(&(json!("housing"), json!("RUB"), json!("12000.00"))));

    // The donors' report: the period, no notes, formula-safe.
    let csv = app
        .get(&format!(
            "expenses.csv?from={}&to={}",
            day(&app, -7),
            day(&app, 0)
        ))
        .token(&observer)
        .send()
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "spent_on,case_code,category,amount,currency,id");
    assert_eq!(lines.len(), 4, "{}", csv.text);
    assert!(lines
        .iter()
        .any(|l| l.contains(&code) && l.contains("84.50,EUR")));
    assert!(!csv.text.contains("CANARY"));
    let none = app
        .get(&format!(
            "expenses.csv?from={}&to={}",
            day(&app, -30),
            day(&app, -20)
        ))
        .token(&admin)
        .send()
        .await;
    assert_eq!(none.text.lines().count(), 1);
    app.get(&format!(
        "expenses.csv?from={}&to={}",
        day(&app, 0),
        day(&app, -1)
    ))
    .token(&admin)
    .send()
    .await
    .assert_problem(422, "validation");
    app.get("expenses.csv?from=yesterday&to=today")
        .token(&admin)
        .send()
        .await
        .assert_problem(422, "validation");

    if backend == Backend::Sqlite {
        let file = app.db.url.strip_prefix("sqlite://").unwrap().to_string();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
        let canary = b"CANARY-EXP";
        assert!(!bytes.windows(canary.len()).any(|w| w == canary));
    }
    // A shred takes the note; the amounts stay for the accounts.
    app.shred(&admin, &id).await;
    let after = app.get(&path).token(&admin).send().await;
    assert_eq!(after.body["note"], Value::Null);
    assert_eq!(after.body["amount"], "84.50");
}

async fn the_weekly_status_tells_of_documents_journeys_and_spending(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let (id, code) = (
        case["id"].as_str().unwrap().to_string(),
        case["code"].as_str().unwrap().to_string(),
    );
    let arrive_by = (app.clock_now() + Duration::hours(5)).to_rfc3339();
    let leg = app
        .post(&format!("cases/{id}/legs"))
        .token(&admin)
        .json(json!({
            "mode": "bus", "status": "departed",
            "from": { "city": "Nalchik", "country": "RU" }, "to": { "city": "Tbilisi", "country": "GE" },
            "depart_at": app.clock_now().to_rfc3339(), "arrive_by": arrive_by,
        }))
        .await;
    assert_eq!(leg.status, 201, "{}", leg.text);
    let document = app
        .post(&format!("cases/{id}/documents"))
        .token(&admin)
        .json(json!({ "kind": "visa", "country": "DE", "status": "applied", "expected_by": day(&app, -2) }))
        .await;
    assert_eq!(document.status, 201, "{}", document.text);
    spend(
        &app,
        &admin,
        &id,
        json!({ "category": "transport", "amount": "40", "currency": "GEL", "spent_on": day(&app, 0), "note": NOTE }),
    )
    .await;
    app.clock.advance(Duration::hours(6));
    app.scan().await;
    let sink = MailSink::start();
    let (pool, now, context) = (app.pool().await, app.clock_now(), app.context.clone());
    corridor::db::run(&pool, move |conn| {
        Ok(corridor::operations::digest::queue(
            conn,
            "2026-W49",
            now.naive_utc(),
            &context.links,
        )?)
    })
    .await
    .unwrap();
    app.deliver(&sink.url).await;
    let mail = sink
        .mails()
        .into_iter()
        .find(|m| m.subject().contains("Weekly status"))
        .expect("the weekly status");
    for line in [
        format!("{code}: document overdue"),
        format!("{code}: overdue by 60 minutes"),
        "transport: 40.00 GEL".to_string(),
    ] {
        assert!(mail.data.contains(&line), "{line} in {}", mail.data);
    }
    for personal in ["CANARY", "Nalchik", "Tbilisi"] {
        assert!(!mail.data.contains(personal), "{personal}");
    }
}

backend_tests!(
    spending_is_recorded_summed_and_reported_without_its_notes,
    the_weekly_status_tells_of_documents_journeys_and_spending,
);
