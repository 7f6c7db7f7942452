//! A partner shelter reports on a guest placed with it now.

use serde_json::json;

use super::{alerts, cases, Change};
use crate::db::DbConnection;
use crate::domain::{AlertKind, CaseCode, CheckinKind, DomainError, EventKind, ShelterId};
use crate::models::case::Case;
use crate::models::event::Event;

/// Records a check-in on the case with `code` placed at `shelter` now: it
/// counts as contact, goes on the timeline with the shelter as actor, and a
/// `needs_help` or `missing` raises its alert at once. Any other case (placed
/// elsewhere, moved on, or no such code) is the same `NotFound`. `departed`
/// does not move the case: coordinators decide the next stage.
pub fn check_in(
    conn: &mut DbConnection,
    code: &CaseCode,
    shelter: &ShelterId,
    kind: CheckinKind,
    note: Option<String>,
    change: &Change<'_>,
) -> Result<(Case, Event), DomainError> {
    let case = Case::get_placed_locked(conn, code, shelter)?;
    let mut detail = json!({ "kind": kind });
    if let Some(note) = note {
        detail["note"] = note.into();
    }
    let event = cases::heard_from(conn, case.clone(), EventKind::CheckIn, detail, change)?;
    if let Some((alert_kind, rule)) = AlertKind::of_checkin(kind) {
        let episode = format!("{}:{alert_kind}:{}", case.id, event.id);
        alerts::raise(conn, &case, alert_kind, episode, rule, change)?;
    }
    Ok((case, event))
}
