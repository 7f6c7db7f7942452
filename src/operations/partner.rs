//! What a partner shelter does: list the guests placed with it now (their
//! aliases opened, the read audited) and report check-ins on them.

use std::collections::HashMap;

use serde_json::json;

use super::{alerts, cases, personal, Audited, Change};
use crate::db::DbConnection;
use crate::domain::{AlertKind, AuditAction, CaseCode, CaseId, CheckinKind, DomainError};
use crate::domain::{ConsentScope, EventKind, ShelterId};
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::consent::Consent;
use crate::models::event::Event;
use crate::models::PageRequest;

/// The cases placed at `shelter` now, by code, with their aliases (the only
/// personal field a shelter sees, and only while `share_alias_with_shelter`
/// is given), and the one audit entry the list owes.
pub fn guests(
    conn: &mut DbConnection,
    shelter: &ShelterId,
    page: &PageRequest,
    change: &Change<'_>,
) -> Result<Audited<Guests>, DomainError> {
    let placed = Case::list_placed(conn, shelter, page)?;
    let ids: Vec<CaseId> = placed.iter().map(|c| c.id.clone()).collect();
    // An alias travels to a shelter only while the person agrees to it.
    let agreed = Consent::given_now(conn, &ids, ConsentScope::ShareAliasWithShelter)?;
    let aliases = personal::aliases(conn, change.keys, &agreed)?;
    let target = Some(shelter.to_string());
    let listed = (placed, aliases);
    Ok(change.audited(listed, AuditAction::PartnerCasesListed, None, target))
}

/// The guests placed at a shelter, and their aliases by case.
pub type Guests = (Vec<Case>, HashMap<CaseId, String>);

/// Records a check-in on the case with `code` placed at `shelter` now: it
/// counts as contact, goes on the timeline with the shelter as actor, and a
/// `needs_help` or `missing` raises its alert at once — unless one of that
/// kind is open for the case already: a repeat only goes on the timeline, so
/// a flood of check-ins is not a flood of alerts and emails. Any other case (placed
/// elsewhere, moved on, or no such code) is the same `NotFound`. `departed`
/// does not move the case: coordinators decide the next stage. `arrived`
/// also ends the case's legs to this shelter, and is accepted for a case on
/// its way here that is not placed yet.
pub fn check_in(
    conn: &mut DbConnection,
    code: &CaseCode,
    shelter: &ShelterId,
    kind: CheckinKind,
    note: Option<String>,
    change: &Change<'_>,
) -> Result<(Case, Event), DomainError> {
    let case = match Case::get_placed_locked(conn, code, shelter) {
        Ok(case) => {
            if kind == CheckinKind::Arrived {
                super::legs::arrived_at(conn, code, shelter, change)?;
            }
            case
        }
        // Someone on the way here (a leg to this shelter) may be reported
        // arrived, and nothing else, before being placed.
        Err(diesel::result::Error::NotFound) if kind == CheckinKind::Arrived => {
            let arrived = super::legs::arrived_at(conn, code, shelter, change)?;
            let Some(leg) = arrived.first() else {
                return Err(DomainError::NotFound);
            };
            Case::get_locked(conn, &leg.case_id)?
        }
        Err(e) => return Err(e.into()),
    };
    let detail = json!({ "kind": kind });
    let event = cases::heard_from(conn, case.clone(), EventKind::CheckIn, detail, note, change)?;
    if let Some((alert_kind, rule)) = AlertKind::of_checkin(kind) {
        if Alert::has_open(conn, &case.id, alert_kind)? {
            return Ok((case, event));
        }
        let episode = format!("{}:{alert_kind}:{}", case.id, event.id);
        alerts::raise(conn, &case, alert_kind, episode, rule, change)?;
    }
    Ok((case, event))
}
