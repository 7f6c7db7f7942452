//! Background work: the stall scanner and alerts, the outbox sender, the
//! weekly digest, the retention sweep. `corridor serve` runs them on timers;
//! the CLI runs them once. All of it is coordinated through the database,
//! so several instances send nothing twice.

pub mod alerts;
pub mod audit;
pub mod digest;
pub mod retention;
pub mod sender;
pub mod storage;

/// How often, while the disk is full, a probe asks whether space came back.
const STORAGE_PROBE_EVERY: Duration = Duration::from_secs(5);

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{self, Pool};
use crate::metrics::Metrics;
use crate::operations::Context;

/// Asks background work to stop at its next safe point: between scan
/// batches, between emails, instead of the next round.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn ask(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn asked(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps `period`, or less when asked to stop; false when asked.
    pub async fn sleep(&self, period: Duration) -> bool {
        let until = Instant::now() + period;
        while !self.asked() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            actix_web::rt::time::sleep(left.min(Duration::from_millis(100))).await;
        }
        false
    }
}

/// The background work of a server, to be stopped with it.
pub struct Background {
    stop: Stop,
    tasks: Vec<actix_web::rt::task::JoinHandle<()>>,
}

impl Background {
    /// Asks every task to stop at its next safe point and waits for them,
    /// at most `timeout`.
    pub async fn stop(self, timeout: Duration) {
        self.stop.ask();
        let all = futures_util::future::join_all(self.tasks);
        if actix_web::rt::time::timeout(timeout, all).await.is_err() {
            log::warn!("background work did not stop within {timeout:?}; leaving it");
        }
    }
}

/// Runs the stall scanner and the digest check every `[stall] scan_every`,
/// the outbox sender every `[email] send_every` and the retention sweep
/// every `[retention] sweep_every`, on the current actix system, until
/// stopped.
pub fn spawn_background(
    config: Arc<Config>,
    pool: Pool,
    clock: SharedClock,
    context: Arc<Context>,
    metrics: Arc<Metrics>,
    sender: sender::Sender,
) -> Background {
    let stop = Stop::default();
    let place = Place {
        pool: pool.clone(),
        context: context.clone(),
        clock: clock.clone(),
    };
    // Touches the database only while the disk is full or an email of an
    // episode is owed: most rounds cost nothing.
    let (watch_place, watch_stop) = (place.clone(), stop.clone());
    let watching = actix_web::rt::spawn(async move {
        while watch_stop.sleep(STORAGE_PROBE_EVERY).await {
            let Place {
                pool,
                context,
                clock,
            } = watch_place.clone();
            if !context.storage.needs_check() {
                continue;
            }
            let now = clock.now();
            let checked = db::run(&pool, move |conn| Ok(storage::check(conn, &context, now)?));
            match checked.await {
                // Still full: the watch knows, and logged it once.
                Err(e) if e.is_storage_full() => {}
                Err(e) => log::error!("storage check failed: {e}"),
                Ok(_) => {}
            }
        }
    });
    let schedule = config.digest.schedule().ok();
    let (scan_context, scan_clock, scan_stop) = (context.clone(), clock.clone(), stop.clone());
    let scanning = every(
        "stall scan",
        config.stall.scan_every.std(),
        place.clone(),
        stop.clone(),
        move |conn| {
            let now = scan_clock.now();
            let started = Instant::now();
            let report = alerts::scan(conn, now.naive_utc(), &scan_context, &scan_stop)?;
            if !report.skipped {
                metrics.scan_seconds.set(started.elapsed().as_secs_f64());
            }
            for (alert, code) in &report.raised {
                log::info!("alert {} raised on {code}: {}", alert.id, alert.kind);
            }
            for (alert, code) in &report.escalated {
                log::info!("alert {} on {code} escalated to the admins", alert.id);
            }
            if let Some(schedule) = &schedule {
                let links = &scan_context.links;
                if let Some((week, n)) = digest::queue_if_due(conn, now, schedule, links)? {
                    log::info!("weekly status {week} queued for {n} recipient(s)");
                }
            }
            Ok(())
        },
    );
    let keep = config.retention.closed_personal_data.0;
    let sweeping = every(
        "retention sweep",
        config.retention.sweep_every.std(),
        place,
        stop.clone(),
        move |conn| {
            let shredded = retention::sweep(conn, clock.now().naive_utc(), keep, &context)?;
            if shredded > 0 {
                log::info!("retention: shredded the personal data of {shredded} closed case(s)");
            }
            Ok(())
        },
    );
    let sender_stop = stop.clone();
    let sending = actix_web::rt::spawn(async move {
        let send_every = config.email.send_every.std();
        loop {
            if let Err(e) = sender.deliver_due(&sender_stop).await {
                log::error!("email sender failed: {e}");
            }
            if !sender_stop.sleep(send_every).await {
                break;
            }
        }
        // The SMTP pool goes here, on the runtime it needs to close.
        drop(sender);
    });
    Background {
        stop,
        tasks: vec![scanning, sweeping, sending, watching],
    }
}

/// Runs `work` on a pooled connection now and then every `period` until
/// stopped; a failure is logged and the next round comes as planned.
/// Where a job runs: the pool, and what tells of a full disk.
#[derive(Clone)]
struct Place {
    pool: Pool,
    context: Arc<Context>,
    clock: SharedClock,
}

fn every<F>(
    name: &'static str,
    period: Duration,
    place: Place,
    stop: Stop,
    work: F,
) -> actix_web::rt::task::JoinHandle<()>
where
    F: Fn(&mut db::DbConnection) -> Result<(), crate::domain::DomainError> + Send + Sync + 'static,
{
    let work = Arc::new(work);
    actix_web::rt::spawn(async move {
        while !stop.asked() {
            let work = work.clone();
            match db::run(&place.pool, move |conn| Ok(work(conn)?)).await {
                // Logged once an episode, by the watch.
                Err(e) if e.is_storage_full() => {
                    place.context.storage.failed(place.clock.now());
                }
                Err(e) => log::error!("{name} failed: {e}"),
                Ok(()) => {}
            }
            if !stop.sleep(period).await {
                break;
            }
        }
    })
}
