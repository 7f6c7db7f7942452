//! Background work: the stall scanner and alerts, the outbox sender, the
//! weekly digest. `corridor serve` runs them on timers; the CLI runs them once.
//! All of it is coordinated through the database, so several instances send
//! nothing twice.

pub mod alerts;
pub mod digest;
pub mod sender;

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{self, Pool};
use crate::domain::stall::StallRules;
use crate::email::Links;
use crate::operations;

/// Runs the stall scanner and the digest check every `[stall] scan_every`,
/// and the outbox sender every `[email] send_every`, on the current actix
/// system, for as long as it runs.
pub fn spawn_background(
    config: Arc<Config>,
    pool: Pool,
    clock: SharedClock,
    sender: sender::Sender,
) {
    let rules = StallRules::from(&config.stall);
    let links = Links::new(&config.server.public_url);
    let scan_every = config.stall.scan_every.std();
    let send_every = config.email.send_every.std();
    let schedule = config.digest.schedule().ok();
    let scan_pool = pool.clone();
    let scan_clock = clock.clone();
    actix_web::rt::spawn(async move {
        loop {
            let now = scan_clock.now();
            let links = links.clone();
            let scanned = db::run(&scan_pool, move |conn| {
                let report = alerts::scan(conn, now.naive_utc(), &rules, &links)?;
                let digest = match schedule.and_then(|s| digest::due_week(now, &s)) {
                    Some(week) => db::write(conn, |conn| {
                        operations::digest::queue(conn, &week, now.naive_utc(), &links)
                    })?,
                    None => None,
                };
                Ok((report, digest))
            })
            .await;
            match scanned {
                Ok((report, digest)) => {
                    for (alert, code) in &report.raised {
                        log::info!("alert {} raised on {code}: {}", alert.id, alert.kind);
                    }
                    for (alert, code) in &report.escalated {
                        log::info!("alert {} on {code} escalated to the admins", alert.id);
                    }
                    if let Some(queued) = digest {
                        log::info!("weekly status email queued for {queued} recipient(s)");
                    }
                }
                Err(e) => log::error!("stall scan failed: {e}"),
            }
            actix_web::rt::time::sleep(scan_every).await;
        }
    });
    actix_web::rt::spawn(async move {
        loop {
            if let Err(e) = sender.deliver_due().await {
                log::error!("email sender failed: {e}");
            }
            actix_web::rt::time::sleep(send_every).await;
        }
    });
}
