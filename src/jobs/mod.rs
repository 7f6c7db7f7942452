//! Background work: the stall scanner and alerts, the outbox sender, the
//! weekly digest, the retention sweep. `corridor serve` runs them on timers;
//! the CLI runs them once. All of it is coordinated through the database,
//! so several instances send nothing twice.

pub mod alerts;
pub mod audit;
pub mod digest;
pub mod retention;
pub mod sender;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{self, Pool};
use crate::operations::Context;

/// Runs the stall scanner and the digest check every `[stall] scan_every`,
/// the outbox sender every `[email] send_every` and the retention sweep
/// every `[retention] sweep_every`, on the current actix system, for as long
/// as it runs.
pub fn spawn_background(
    config: Arc<Config>,
    pool: Pool,
    clock: SharedClock,
    context: Arc<Context>,
    sender: sender::Sender,
) {
    let schedule = config.digest.schedule().ok();
    let (scan_context, scan_clock) = (context.clone(), clock.clone());
    every(
        "stall scan",
        config.stall.scan_every.std(),
        pool.clone(),
        move |conn| {
            let now = scan_clock.now();
            let report = alerts::scan(conn, now.naive_utc(), &scan_context)?;
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
    every(
        "retention sweep",
        config.retention.sweep_every.std(),
        pool,
        move |conn| {
            let shredded = retention::sweep(conn, clock.now().naive_utc(), keep, &context)?;
            if shredded > 0 {
                log::info!("retention: shredded the personal data of {shredded} closed case(s)");
            }
            Ok(())
        },
    );
    actix_web::rt::spawn(async move {
        let send_every = config.email.send_every.std();
        loop {
            if let Err(e) = sender.deliver_due().await {
                log::error!("email sender failed: {e}");
            }
            actix_web::rt::time::sleep(send_every).await;
        }
    });
}

/// Runs `work` on a pooled connection now and then every `period`; a
/// failure is logged and the next round comes as planned.
fn every<F>(name: &'static str, period: Duration, pool: Pool, work: F)
where
    F: Fn(&mut db::DbConnection) -> Result<(), crate::domain::DomainError> + Send + Sync + 'static,
{
    let work = Arc::new(work);
    actix_web::rt::spawn(async move {
        loop {
            let work = work.clone();
            if let Err(e) = db::run(&pool, move |conn| Ok(work(conn)?)).await {
                log::error!("{name} failed: {e}");
            }
            actix_web::rt::time::sleep(period).await;
        }
    });
}
