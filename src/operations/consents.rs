//! Consent: recorded as a history (each on the timeline, its note sealed),
//! and asked before an alias travels to a shelter.

use serde_json::json;
use zeroize::Zeroizing;

use super::{sealing, Change};
use crate::db::DbConnection;
use crate::domain::{CaseId, ConsentId, ConsentMethod, ConsentScope, DomainError, EventKind};
use crate::models::case::Case;
use crate::models::consent::Consent;
use crate::models::event::Event;

pub struct ConsentDraft {
    pub scope: ConsentScope,
    pub given: bool,
    pub method: ConsentMethod,
    pub note: Option<Zeroizing<String>>,
}

pub fn record(
    conn: &mut DbConnection,
    case_id: &CaseId,
    draft: ConsentDraft,
    change: &Change<'_>,
) -> Result<Consent, DomainError> {
    let case = Case::get_locked(conn, case_id)?;
    let consent = Consent {
        id: ConsentId::new(),
        case_id: case.id,
        scope: draft.scope,
        given: draft.given,
        method: draft.method,
        recorded_by: change.actor.id.clone(),
        recorded_at: change.now,
    };
    consent.insert(conn)?;
    // The note is the event's: sealed, read in the timeline (audited),
    // deleted by a shred.
    let detail = json!({
        "consent_id": consent.id,
        "scope": consent.scope,
        "given": consent.given,
        "method": consent.method,
    });
    let event = Event::new(
        &consent.case_id,
        EventKind::Consent,
        change.actor,
        change.now,
    )
    .detail(detail);
    let note = draft.note.map(|n| n.to_string());
    sealing::insert_with_note(conn, change.keys, event, note, change.now)?;
    Ok(consent)
}
