//! The stall scan: an alert for each stalled case not alerted for its
//! deadline yet, and for each document overdue or about to expire (index on
//! `alert_at`), then escalations of alerts nobody acknowledged in time.
//! It reads only cases that are due (index on `scan_at`, which a case
//! leaves once alerted for its deadline), in batches of a few hundred, each
//! batch one transaction: a scan of any size makes progress, binds no list
//! of ids, and stops between batches when asked to. On PostgreSQL one
//! instance scans at a time (an advisory lock); the others skip the round.

use chrono::NaiveDateTime;

use super::Stop;
use crate::db::{self, DbConnection};
use crate::domain::{CaseCode, DomainError};
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::document::Document;
use crate::models::event::Actor;
use crate::models::leg::Leg;
use crate::operations::{alerts, documents, legs, Context};

/// Cases (or alerts) per transaction.
const BATCH: i64 = 200;
/// The advisory lock the scanning instance holds.
const SCAN_LOCK: i64 = 0x636f_7272_0001;

/// What one scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub raised: Vec<(Alert, CaseCode)>,
    pub escalated: Vec<(Alert, CaseCode)>,
    /// Another instance was scanning: this one did nothing.
    pub skipped: bool,
}

/// One stall scan at `now`.
pub fn scan(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    context: &Context,
    stop: &Stop,
) -> Result<ScanReport, DomainError> {
    let report = db::with_job_lock(conn, SCAN_LOCK, |conn| {
        scan_locked(conn, now, context, stop)
    })?;
    Ok(report.unwrap_or(ScanReport {
        skipped: true,
        ..ScanReport::default()
    }))
}

fn scan_locked(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    context: &Context,
    stop: &Stop,
) -> Result<ScanReport, DomainError> {
    let actor = Actor::system();
    let change = context.change(&actor, now);
    let raised = in_batches(
        conn,
        stop,
        |conn| Case::due_ids(conn, now, BATCH),
        |conn, id| {
            Ok(alerts::raise_stall(conn, id, &change)?
                .into_iter()
                .collect())
        },
    )?;
    let documents = in_batches(
        conn,
        stop,
        |conn| Document::due(conn, now, BATCH),
        |conn, id| documents::raise_due(conn, id, &change),
    )?;
    let legs = in_batches(
        conn,
        stop,
        |conn| Leg::due(conn, now, BATCH),
        |conn, id| legs::raise_due(conn, id, &change),
    )?;
    let raised = raised.into_iter().chain(documents).chain(legs).collect();
    let cutoff = now - context.rules.escalate_after;
    let escalated = in_batches(
        conn,
        stop,
        |conn| Alert::due_for_escalation(conn, cutoff, BATCH),
        |conn, alert| {
            Ok(alerts::escalate(conn, alert, &change)?
                .into_iter()
                .collect())
        },
    )?;
    let report = ScanReport {
        raised,
        escalated,
        skipped: false,
    };
    Ok(report)
}

/// Works through what `due` finds, a batch at a time, each batch one
/// writing transaction, until nothing is due or a stop is asked for.
fn in_batches<T>(
    conn: &mut DbConnection,
    stop: &Stop,
    mut due: impl FnMut(&mut DbConnection) -> diesel::QueryResult<Vec<T>>,
    mut act: impl FnMut(&mut DbConnection, &T) -> Result<Vec<(Alert, CaseCode)>, DomainError>,
) -> Result<Vec<(Alert, CaseCode)>, DomainError> {
    let mut done = Vec::new();
    while !stop.asked() {
        let batch = due(conn)?;
        if batch.is_empty() {
            break;
        }
        let acted = db::write(conn, |conn| {
            let mut acted = Vec::new();
            for item in &batch {
                acted.extend(act(conn, item)?);
            }
            Ok::<_, DomainError>(acted)
        })?;
        done.extend(acted);
    }
    Ok(done)
}
