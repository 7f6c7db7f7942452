//! Prometheus metrics (`GET /metrics`): requests by method, route template
//! and status with their latency; cases by stage, stalled cases, open alerts
//! by kind, the outbox, failed sign-ins, the last stall scan's duration, the
//! connection pool, whether the disk is full, and the build. Labels never
//! hold an id or a raw path.
//! Numbers that need a query are refreshed at most every few seconds,
//! whatever the scrape rate.

use std::sync::Mutex;

use actix_web::http::Method;
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::db::{self, DbConnection, Pool};
use crate::domain::{AlertKind, Stage};
use crate::models::report;

/// How stale the numbers that need a query may be.
const REFRESH: Duration = Duration::from_secs(5);

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub login_failures: IntCounter,
    pub scan_seconds: Gauge,
    cases: IntGaugeVec,
    stalled: IntGauge,
    alerts_open: IntGaugeVec,
    outbox_pending: IntGauge,
    outbox_dead: IntGauge,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    /// 1 while writes fail for lack of disk space.
    pub storage_full: IntGauge,
    refreshed: Mutex<Option<Instant>>,
}

fn must<T>(made: prometheus::Result<T>) -> T {
    // Names and labels are fixed here: an error is a bug caught by the tests.
    made.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = must(IntCounterVec::new(
            Opts::new("corridor_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        ));
        let latency = must(HistogramVec::new(
            HistogramOpts::new(
                "corridor_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route", "status"],
        ));
        let login_failures = must(IntCounter::new(
            "corridor_login_failures_total",
            "Failed sign-ins",
        ));
        let scan_seconds = must(Gauge::new(
            "corridor_scan_seconds",
            "How long the last stall scan took",
        ));
        let cases = must(IntGaugeVec::new(
            Opts::new("corridor_cases", "Cases by stage"),
            &["stage"],
        ));
        let stalled = must(IntGauge::new(
            "corridor_cases_stalled",
            "Open cases past their stall deadline",
        ));
        let alerts_open = must(IntGaugeVec::new(
            Opts::new("corridor_alerts_open", "Open alerts by kind"),
            &["kind"],
        ));
        let outbox_pending = must(IntGauge::new(
            "corridor_outbox_pending",
            "Emails waiting to go out",
        ));
        let outbox_dead = must(IntGauge::new("corridor_outbox_dead", "Emails given up on"));
        let pool_connections = must(IntGauge::new(
            "corridor_db_pool_connections",
            "Database connections open in the pool",
        ));
        let pool_idle = must(IntGauge::new(
            "corridor_db_pool_idle_connections",
            "Database connections idle in the pool",
        ));
        let storage_full = must(IntGauge::new(
            "corridor_storage_full",
            "1 while writes fail for lack of disk space, else 0",
        ));
        let build = must(IntGaugeVec::new(
            Opts::new("corridor_build_info", "The build: version and commit"),
            &["version", "commit"],
        ));
        build
            .with_label_values(&[crate::version::VERSION, crate::version::COMMIT])
            .set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(login_failures.clone()),
            Box::new(scan_seconds.clone()),
            Box::new(cases.clone()),
            Box::new(stalled.clone()),
            Box::new(alerts_open.clone()),
            Box::new(outbox_pending.clone()),
            Box::new(outbox_dead.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(storage_full.clone()),
            Box::new(build),
            Box::new(db::POOL_WAIT.clone()),
        ] {
            must(registry.register(collector));
        }
        Self {
            registry,
            requests,
            latency,
            login_failures,
            scan_seconds,
            cases,
            stalled,
            alerts_open,
            outbox_pending,
            outbox_dead,
            pool_connections,
            pool_idle,
            storage_full,
            refreshed: Mutex::new(None),
        }
    }

    /// Counts an answered request; `route` is its template.
    pub fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// Whether the numbers that need a query are older than a few seconds
    /// (and, if so, marks them as being refreshed now).
    pub fn stale(&self) -> bool {
        let mut refreshed = self.refreshed.lock().unwrap_or_else(|e| e.into_inner());
        let stale = refreshed.is_none_or(|at| at.elapsed() >= REFRESH);
        if stale {
            *refreshed = Some(Instant::now());
        }
        stale
    }

    /// Reads the numbers that need a query.
    pub fn refresh(
        &self,
        conn: &mut DbConnection,
        now: chrono::NaiveDateTime,
    ) -> diesel::QueryResult<()> {
        let by_stage = report::cases_by_stage(conn)?;
        for stage in Stage::ALL {
            let n = by_stage
                .iter()
                .find(|(s, _)| s == stage)
                .map_or(0, |(_, n)| *n);
            self.cases.with_label_values(&[stage.as_str()]).set(n);
        }
        self.stalled.set(report::stalled_count(conn, now)?);
        let by_kind = report::open_alerts_by_kind(conn)?;
        for kind in AlertKind::ALL {
            let n = by_kind
                .iter()
                .find(|(k, _)| k == kind)
                .map_or(0, |(_, n)| *n);
            self.alerts_open.with_label_values(&[kind.as_str()]).set(n);
        }
        let (pending, dead) = report::outbox_counts(conn)?;
        self.outbox_pending.set(pending);
        self.outbox_dead.set(dead);
        Ok(())
    }

    /// The pool's size now.
    pub fn pool(&self, pool: &Pool) {
        let state = pool.state();
        self.pool_connections.set(i64::from(state.connections));
        self.pool_idle.set(i64::from(state.idle_connections));
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A method as a label: the standard ones by name, any other as `other`,
/// so that made-up methods (a client may send any token) cannot grow the
/// series without bound.
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, name)| *name)
}
