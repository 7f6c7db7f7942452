//! The stall scan: an alert for each stalled case whose episode has none,
//! then escalations of alerts nobody acknowledged in time. Each alert is
//! raised in a transaction of its own (`operations::alerts`), so one scan
//! makes progress however many cases are due.

use std::collections::HashSet;

use chrono::NaiveDateTime;

use crate::db::{self, DbConnection};
use crate::domain::stall::{self, Breach};
use crate::domain::{CaseCode, DomainError};
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::event::Actor;
use crate::operations::{alerts, Context};

/// What one scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub raised: Vec<(Alert, CaseCode)>,
    pub escalated: Vec<(Alert, CaseCode)>,
}

/// One stall scan at `now`. Reads only the cases that are due (index on
/// `stall_at`).
pub fn scan(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    context: &Context,
) -> Result<ScanReport, DomainError> {
    let actor = Actor::system();
    let change = context.change(&actor, now);
    let rules = &context.rules;
    let due = Case::due(conn, now)?;
    let ids: Vec<_> = due.iter().map(|c| c.id.clone()).collect();
    let known: HashSet<String> = Alert::episodes_of(conn, &ids)?.into_iter().collect();
    let mut report = ScanReport::default();
    for case in due {
        let input = case.stall_input();
        let kind = Breach::of(rules, &input, now).kind();
        if known.contains(&stall::episode(&case.id, kind, &input)) {
            continue;
        }
        let raised = db::write(conn, |conn| alerts::raise_stall(conn, &case.id, &change))?;
        report.raised.extend(raised);
    }
    for due in Alert::due_for_escalation(conn, now - rules.escalate_after)? {
        let escalated = db::write(conn, |conn| alerts::escalate(conn, &due, &change))?;
        report.escalated.extend(escalated);
    }
    Ok(report)
}
