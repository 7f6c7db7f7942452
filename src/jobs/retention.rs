//! The retention sweep: the personal data of cases closed longer than
//! `[retention] closed_personal_data` is shredded, each case in a
//! transaction of its own, audited with the system as actor. Several
//! instances sweep one at a time (an advisory lock on PostgreSQL), and a
//! case already shredded is passed over.
//! Kept idempotent answers older than 24 hours go too.

use chrono::{Duration, NaiveDateTime};

use crate::db::{self, DbConnection};
use crate::domain::{AuditAction, DomainError};
use crate::models::case_key::CaseKeyRow;
use crate::models::event::Actor;
use crate::models::idempotency::IdempotencyRow;
use crate::operations::{personal, Context};

const BATCH: i64 = 200;
/// The advisory lock that keeps the sweep to one instance at a time.
const SWEEP_LOCK: i64 = 0x636f_7272_0002;

/// Shreds every case due at `now`; returns how many this sweep shredded.
pub fn sweep(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    keep: Duration,
    context: &Context,
) -> Result<usize, DomainError> {
    let swept = db::with_job_lock(conn, SWEEP_LOCK, |conn| {
        sweep_locked(conn, now, keep, context)
    })?;
    Ok(swept.unwrap_or(0))
}

fn sweep_locked(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    keep: Duration,
    context: &Context,
) -> Result<usize, DomainError> {
    IdempotencyRow::sweep(conn, now)?;
    let actor = Actor::system();
    let change = context.change(&actor, now);
    let mut shredded = Vec::new();
    let result = loop {
        let due = match CaseKeyRow::due_for_retention(conn, now - keep, BATCH) {
            Ok(due) => due,
            Err(e) => break Err(e.into()),
        };
        let mut failed = None;
        for case in &due {
            let action = AuditAction::RetentionShredded;
            match db::write(conn, |conn| personal::shred(conn, case, action, &change)) {
                Ok(()) => shredded.push(case.clone()),
                Err(DomainError::Shredded) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        if (due.len() as i64) < BATCH {
            break Ok(shredded.len());
        }
    };
    // What was shredded stays shredded, whatever stopped the sweep.
    if !shredded.is_empty() {
        personal::after_shred(conn, context.keys.as_ref(), &shredded);
    }
    result
}
