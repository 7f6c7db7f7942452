//! Health, readiness and what an operator sees: metrics, request ids,
//! logs, the version, a clean stop.

use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{
    command, run, spawn_app, spawn_unmigrated_app, Backend, MailSink, Served, ADMIN_EMAIL, PASSWORD,
};

async fn health_and_readiness_answer_200_on_a_migrated_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.get("/healthz").send().await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

async fn readiness_is_503_while_the_database_is_not_migrated(backend: Backend) {
    let app = spawn_unmigrated_app(backend).await;
    assert_eq!(app.get("/healthz").send().await.status, 200);
    let ready = app.get("/readyz").send().await;
    ready.assert_problem(503, "unavailable");
    assert!(
        !ready.text.contains("migration"),
        "5xx bodies say nothing internal: {}",
        ready.text
    );
}

/// PostgreSQL only: SQLite is a file in the process and cannot go away.
#[actix_web::test]
#[cfg_attr(
    not(corridor_postgres_tests),
    ignore = "set CORRIDOR_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
async fn readiness_is_503_while_postgresql_refuses_connections_and_recovers_after() {
    let app = spawn_app(Backend::Postgres).await;
    let admin = app.admin_token().await;
    assert_eq!(app.get("/readyz").send().await.status, 200);
    // Connections in the pool, to be dropped under the server.
    assert_eq!(app.get("cases").token(&admin).send().await.status, 200);
    app.db.postgres_admin(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'; \
         DO $$ BEGIN \
           FOR i IN 1..20 LOOP \
             EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '{db}'); \
             PERFORM pg_sleep(0.1); \
           END LOOP; \
         END $$;",
    );
    // A terminated backend may answer one last query before its socket
    // closes; from then on the database refuses every connection.
    let mut down = app.get("/readyz").send().await;
    for _ in 0..5 {
        if down.status == 503 {
            break;
        }
        down = app.get("/readyz").send().await;
    }
    down.assert_problem(503, "unavailable");
    // An API request: 503 with Retry-After, never a 500, however the
    // connection was lost (dropped under it, or refused).
    for _ in 0..3 {
        let reply = app
            .get("cases")
            .token(&admin)
            .header("X-Request-Id", "outage-1")
            .send()
            .await;
        reply.assert_problem(503, "unavailable");
        assert_eq!(reply.header("retry-after").as_deref(), Some("5"));
        assert_eq!(reply.body["request_id"], "outage-1");
    }
    assert_eq!(
        app.get("/healthz").send().await.status,
        200,
        "the process still runs"
    );
    app.db
        .postgres_admin("ALTER DATABASE {db} ALLOW_CONNECTIONS true");
    let mut status = 0;
    for _ in 0..10 {
        status = app.get("/readyz").send().await.status;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "ready again once the database is back");
    let back = app.get("cases").token(&admin).send().await;
    assert_eq!(
        back.status, 200,
        "the pool replaced its broken connections: {}",
        back.text
    );
}

/// A free port on the loopback address.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The value of the sample `series` (name and labels as written) in a
/// Prometheus text page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn metrics_count_requests_by_route_template_and_show_the_cases(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let case = app.create_case(&admin, json!({})).await;
    let (id, code) = (case["id"].as_str().unwrap(), case["code"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(
            app.get(&format!("cases/{id}"))
                .token(&admin)
                .send()
                .await
                .status,
            200
        );
    }
    assert_eq!(
        app.login(ADMIN_EMAIL, "not the password at all")
            .await
            .status,
        401
    );
    let page = app.get("/metrics").send().await;
    assert_eq!(page.status, 200, "no token needed");
    assert!(
        page.content_type().starts_with("text/plain"),
        "{}",
        page.content_type()
    );
    let text = &page.text;
    let series =
        r#"corridor_http_requests_total{method="GET",route="/api/v1/cases/{id}",status="200"}"#;
    assert_eq!(sample(text, series), Some(2.0), "{text}");
    let latency = r#"corridor_http_request_duration_seconds_count{method="GET",route="/api/v1/cases/{id}",status="200"}"#;
    assert_eq!(sample(text, latency), Some(2.0), "{text}");
    assert!(
        !text.contains(id) && !text.contains(code),
        "no ids in labels"
    );
    assert!(!text.contains(ADMIN_EMAIL), "no personal data");
    for (series, value) in [
        (r#"corridor_cases{stage="intake"}"#, 1.0),
        (r#"corridor_cases{stage="transit"}"#, 0.0),
        ("corridor_cases_stalled", 0.0),
        (r#"corridor_alerts_open{kind="stage_overdue"}"#, 0.0),
        ("corridor_outbox_pending", 0.0),
        ("corridor_outbox_dead", 0.0),
        ("corridor_login_failures_total", 1.0),
        ("corridor_scan_seconds", 0.0),
    ] {
        assert_eq!(sample(text, series), Some(value), "{series} in\n{text}");
    }
    assert!(
        sample(text, "corridor_db_pool_connections").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("corridor_db_pool_wait_seconds_count"),
        "{text}"
    );
    let build = format!(
        r#"corridor_build_info{{commit="{}",version="{}"}} 1"#,
        corridor::version::COMMIT,
        corridor::version::VERSION
    );
    assert!(text.contains(&build), "{text}");
    // The counts that need a query are a few seconds old at most, not per scrape.
    app.create_case(&admin, json!({})).await;
    let again = app.get("/metrics").send().await.text;
    assert_eq!(
        sample(&again, r#"corridor_cases{stage="intake"}"#),
        Some(1.0)
    );
    let series = r#"corridor_http_requests_total{method="GET",route="/metrics",status="200"}"#;
    assert_eq!(sample(&again, series), Some(1.0), "{again}");
}

async fn metrics_move_to_an_address_of_their_own_when_configured(backend: Backend) {
    let app = spawn_app(backend).await;
    let metrics = free_address();
    let served = Served::start(&app, &[("CORRIDOR_METRICS_BIND", &metrics)]);
    served.wait_until_up(&app).await;
    let main = app.client.get(served.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404, "not on the main address any more");
    let mut own = app
        .client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let text = String::from_utf8(own.body().await.unwrap().to_vec()).unwrap();
    assert!(text.contains("corridor_build_info"), "{text}");
    let api = app
        .client
        .get(format!("http://{metrics}/api/v1/cases"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404, "the metrics address serves nothing else");
    assert!(served
        .output()
        .contains(&format!("metrics on http://{metrics}/metrics")));
}

async fn request_ids_are_kept_when_sane_replaced_otherwise_and_named_in_5xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let kept = app
        .get("/healthz")
        .header("X-Request-Id", "report-42.a_B")
        .send()
        .await;
    assert_eq!(
        kept.header("x-request-id").as_deref(),
        Some("report-42.a_B")
    );
    let long = "a".repeat(65);
    for insane in ["bad id", "ünïcode", "semi;colon", long.as_str()] {
        let reply = app
            .get("/healthz")
            .header("X-Request-Id", insane)
            .send()
            .await;
        let id = reply.header("x-request-id").unwrap();
        assert_ne!(id, insane);
        assert_eq!(id.len(), 16, "a fresh id: {id}");
    }
    let fresh = app
        .get("/healthz")
        .send()
        .await
        .header("x-request-id")
        .unwrap();
    assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()), "{fresh}");
    let unmigrated = spawn_unmigrated_app(backend).await;
    let down = unmigrated
        .get("/readyz")
        .header("X-Request-Id", "user-report-7")
        .send()
        .await;
    down.assert_problem(503, "unavailable");
    assert_eq!(down.body["request_id"], "user-report-7", "{}", down.text);
    assert_eq!(down.header("retry-after").as_deref(), Some("5"));
    let client_error = app.get("cases/nope").send().await;
    assert!(
        client_error.body.get("request_id").is_none(),
        "only 5xx name it"
    );
}

async fn json_logs_carry_the_request_and_never_its_query_or_secrets(backend: Backend) {
    let app = spawn_app(backend).await;
    let served = Served::start(&app, &[("CORRIDOR_LOG_FORMAT", "json")]);
    served.wait_until_up(&app).await;
    let token = served.token(&app, ADMIN_EMAIL).await;
    let reply = app
        .client
        .get(served.url("cases?q=EV-ZQ7W"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("X-Request-Id", "json-log-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let line = served
        .wait_for("the request's log line", async || {
            served.output().lines().find_map(|line| {
                let line: Value = serde_json::from_str(line).ok()?;
                (line["request_id"] == "json-log-1" && line.get("status").is_some()).then_some(line)
            })
        })
        .await;
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/v1/cases");
    assert_eq!(line["status"], 200);
    assert!(line["duration_ms"].is_number(), "{line}");
    assert_eq!(line["principal_kind"], "user");
    assert_eq!(line["principal_id"], app.admin_id.as_str());
    assert_eq!(line["level"], "INFO");
    assert!(
        line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );
    let output = served.output();
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "not a JSON line: {line}"
        );
    }
    for secret in ["EV-ZQ7W", token.as_str(), PASSWORD] {
        assert!(!output.contains(secret), "{secret} in the log:\n{output}");
    }
}

async fn the_version_endpoint_matches_the_binary(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.get("version").send().await;
    assert_eq!(reply.status, 200, "anyone: {}", reply.text);
    let (version, commit) = (reply.str("version"), reply.str("commit"));
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let newest = app
        .texts("SELECT MAX(version) AS t FROM __diesel_schema_migrations")
        .await;
    assert_eq!(reply.str("schema_version"), newest[0]);
    let (ok, out) = run(command(&app, "", &["--version"]), "");
    assert!(ok, "{out}");
    assert_eq!(out.trim(), format!("corridor {version} ({commit})"));
}

async fn sigterm_stops_serve_cleanly_and_exits_0(backend: Backend) {
    let app = spawn_app(backend).await;
    let sink = MailSink::start();
    let served = Served::start(
        &app,
        &[
            ("CORRIDOR_SMTP_URL", &sink.url),
            ("CORRIDOR_EMAIL_SEND_EVERY", "1s"),
        ],
    );
    served.wait_until_up(&app).await;
    assert_eq!(served.login(&app, ADMIN_EMAIL, PASSWORD).await, 200);
    let (status, output) = served.terminate();
    assert!(status.success(), "{status:?}\n{output}");
    assert!(output.contains("stopped"), "{output}");
    for trouble in ["panicked", "no reactor", "ERROR"] {
        assert!(!output.contains(trouble), "{trouble}:\n{output}");
    }
}

async fn made_up_methods_count_as_one_series_not_one_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("corridor_http_requests_total{"))
            .count()
    };
    // One of each to begin with, so that only new methods could add series.
    let probe = actix_web::http::Method::from_bytes(b"PROBE").unwrap();
    app.call(probe, "cases").send().await;
    app.get("/metrics").send().await;
    let before = series(&app.get("/metrics").send().await.text);
    for n in 0..1000 {
        let method = actix_web::http::Method::from_bytes(format!("M{n}X").as_bytes()).unwrap();
        let reply = app.call(method, "cases").send().await;
        assert_eq!(reply.status, 405);
    }
    let text = app.get("/metrics").send().await.text;
    assert!(series(&text) <= before + 1, "{text}");
    assert!(!text.contains("M17X"), "{text}");
    assert!(
        text.contains(r#"corridor_http_requests_total{method="other",route="/api/v1/cases",status="405"} 1001"#),
        "{text}"
    );
}

backend_tests!(
    made_up_methods_count_as_one_series_not_one_each,
    health_and_readiness_answer_200_on_a_migrated_database,
    readiness_is_503_while_the_database_is_not_migrated,
    metrics_count_requests_by_route_template_and_show_the_cases,
    metrics_move_to_an_address_of_their_own_when_configured,
    request_ids_are_kept_when_sane_replaced_otherwise_and_named_in_5xx,
    json_logs_carry_the_request_and_never_its_query_or_secrets,
    the_version_endpoint_matches_the_binary,
    sigterm_stops_serve_cleanly_and_exits_0,
);
