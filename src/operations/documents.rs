//! A case's documents: added, moved between states (each move on the
//! timeline), and watched by the stall scan for what is overdue or about to
//! expire. The number is sealed under the case's key and never leaves in a
//! list, a CSV file, a log line or an email.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;
use zeroize::Zeroizing;

use super::alerts::{self, Owed};
use super::{sealing, Change};
use crate::db::DbConnection;
use crate::domain::document::{DocumentDue, DocumentKind, DocumentStatus, Holder};
use crate::domain::stall::humane;
use crate::domain::{AlertKind, CaseCode, CaseId, DocumentId, DomainError, EventKind, Stage};
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::document::Document;
use crate::models::event::Event;

/// A new document, as the edge parsed it.
pub struct DocumentDraft {
    pub kind: DocumentKind,
    pub country: String,
    pub status: DocumentStatus,
    pub applied_on: Option<NaiveDate>,
    pub appointment_at: Option<NaiveDateTime>,
    pub expected_by: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub held_by: Option<Holder>,
    pub number: Option<Zeroizing<String>>,
}

/// What a PATCH changes: `None` leaves a field, `Some(None)` clears it.
#[derive(Default)]
pub struct DocumentPatch {
    pub country: Option<String>,
    pub status: Option<DocumentStatus>,
    pub applied_on: Option<Option<NaiveDate>>,
    pub appointment_at: Option<Option<NaiveDateTime>>,
    pub expected_by: Option<Option<NaiveDate>>,
    pub valid_until: Option<Option<NaiveDate>>,
    pub held_by: Option<Option<Holder>>,
    pub number: Option<Option<Zeroizing<String>>>,
}

pub fn add(
    conn: &mut DbConnection,
    case_id: &CaseId,
    draft: DocumentDraft,
    change: &Change<'_>,
) -> Result<Document, DomainError> {
    let case = Case::get_locked(conn, case_id)?;
    if case.stage == Stage::Closed {
        return Err(DomainError::CaseClosed);
    }
    let id = DocumentId::new();
    let mut document = Document {
        id,
        case_id: case.id.clone(),
        kind: draft.kind,
        country: draft.country,
        status: draft.status,
        applied_on: draft.applied_on,
        appointment_at: draft.appointment_at,
        expected_by: draft.expected_by,
        valid_until: draft.valid_until,
        held_by: draft.held_by,
        number_sealed: None,
        alert_at: None,
        version: 1,
        created_at: change.now,
        updated_at: change.now,
    };
    if let Some(number) = draft.number {
        document.number_sealed = Some(seal_number(conn, &document, &number, change)?);
    }
    document.alert_at = first_look(&document, change);
    document.insert(conn)?;
    timeline(conn, &document, None, change)?;
    Ok(document)
}

pub fn update(
    conn: &mut DbConnection,
    case_id: &CaseId,
    id: &DocumentId,
    patch: DocumentPatch,
    change: &Change<'_>,
) -> Result<Document, DomainError> {
    Case::get_locked(conn, case_id)?;
    let before = Document::get_locked(conn, case_id, id)?;
    change.check_version(before.version)?;
    let mut document = before.clone();
    if let Some(to) = patch.status {
        if !before.status.may_move_to(to) {
            return Err(DomainError::IllegalDocumentMove {
                from: before.status,
                to,
            });
        }
        document.status = to;
    }
    if let Some(country) = patch.country {
        document.country = country;
    }
    set(&mut document.applied_on, patch.applied_on);
    set(&mut document.appointment_at, patch.appointment_at);
    set(&mut document.expected_by, patch.expected_by);
    set(&mut document.valid_until, patch.valid_until);
    set(&mut document.held_by, patch.held_by);
    match patch.number {
        None => {}
        Some(None) => document.number_sealed = None,
        Some(Some(number)) => {
            document.number_sealed = Some(seal_number(conn, &document, &number, change)?);
        }
    }
    document.version += 1;
    document.updated_at = change.now;
    document.alert_at = first_look(&document, change);
    document.save(conn)?;
    if document.status != before.status {
        timeline(conn, &document, Some(before.status), change)?;
    }
    // What no longer applies ends: a document issued or refused is not
    // overdue, one no longer issued (or with a new date) is not expiring.
    let dates_changed = document.dates().deadlines(change.expiring_within)
        != before.dates().deadlines(change.expiring_within);
    if dates_changed || document.status != before.status {
        resolve(conn, &document, change)?;
    }
    Ok(document)
}

/// The number, opened: for the single-document read of coordinators.
pub fn number(
    conn: &mut DbConnection,
    document: &Document,
    change: &Change<'_>,
) -> Result<Option<String>, DomainError> {
    let purpose = Document::number_purpose(&document.id);
    let sealed = document.number_sealed.as_deref();
    sealing::open_field(
        conn,
        change.keys,
        &document.case_id,
        &purpose,
        sealed,
        change.now,
    )
}

/// The stall scan's look at a document whose moment came: raises what is
/// due (once per deadline), and sets the next moment to look.
pub fn raise_due(
    conn: &mut DbConnection,
    id: &DocumentId,
    change: &Change<'_>,
) -> Result<Vec<(Alert, CaseCode)>, DomainError> {
    let document = Document::get_locked_by_id(conn, id)?;
    let case = Case::find(conn, &document.case_id)?;
    let mut raised = Vec::new();
    // A snooze holds these as it holds stalls: look again when it ends.
    if let Some(until) = case.snoozed_until.filter(|until| *until > change.now) {
        Document::set_alert_at(conn, id, Some(until))?;
        return Ok(raised);
    }
    let within = change.expiring_within;
    for owed in due_alerts(&document, case.stage, within, change.now) {
        let (kind, rule) = (owed.kind, owed.rule);
        if let Some(alert) = alerts::raise(conn, &case, kind, owed.episode, &rule, change)? {
            raised.push((alert, case.code.clone()));
        }
    }
    let next = document
        .dates()
        .next_look(change.expiring_within, change.now);
    Document::set_alert_at(conn, id, next)?;
    Ok(raised)
}

/// The alerts `document` owes at `now` on a case in `stage`: each deadline
/// passed. The scan raises them; the demo writes them as raised.
pub fn due_alerts(
    document: &Document,
    stage: Stage,
    within: chrono::Duration,
    now: NaiveDateTime,
) -> Vec<Owed> {
    let mut owed = Vec::new();
    for due in document.dates().deadlines(within) {
        if due.at() > now {
            continue;
        }
        let (kind, rule) = match due {
            DocumentDue::Overdue(at) if stage != Stage::Closed => {
                (AlertKind::DocumentOverdue, overdue_rule(document, at, now))
            }
            DocumentDue::Expiring(at) if !matches!(stage, Stage::Resettlement | Stage::Closed) => (
                AlertKind::DocumentExpiring,
                expiring_rule(document, at, now, within),
            ),
            _ => continue,
        };
        owed.push(Owed {
            kind,
            episode: Alert::episode_of(kind, document.id.as_str(), due.at()),
            rule,
            due: due.at(),
        });
    }
    owed
}

fn first_look(document: &Document, change: &Change<'_>) -> Option<NaiveDateTime> {
    // A deadline already past is looked at on the next scan.
    document
        .dates()
        .deadlines(change.expiring_within)
        .into_iter()
        .map(DocumentDue::at)
        .min()
        .map(|at| at.max(change.now))
}

// Emails carry codes, stages and durations only: the kind of document,
// never its country, number or dates.
fn overdue_rule(document: &Document, due: NaiveDateTime, now: NaiveDateTime) -> String {
    let what = crate::email::words(document.kind.as_str());
    match document.status {
        DocumentStatus::AppointmentBooked => format!(
            "the {what} had its appointment and there has been no news for {}",
            humane(now - due + chrono::Duration::days(1))
        ),
        _ => format!(
            "the {what} is {} past when it was expected",
            humane(now - due)
        ),
    }
}

fn expiring_rule(
    document: &Document,
    due: NaiveDateTime,
    now: NaiveDateTime,
    within: chrono::Duration,
) -> String {
    let left = (due + within) - now;
    format!(
        "the {} expires in {}",
        crate::email::words(document.kind.as_str()),
        humane(left.max(chrono::Duration::zero()))
    )
}

fn seal_number(
    conn: &mut DbConnection,
    document: &Document,
    number: &str,
    change: &Change<'_>,
) -> Result<Vec<u8>, DomainError> {
    let purpose = Document::number_purpose(&document.id);
    sealing::seal_field(
        conn,
        change.keys,
        &document.case_id,
        &purpose,
        number,
        change.now,
    )
}

fn timeline(
    conn: &mut DbConnection,
    document: &Document,
    from: Option<DocumentStatus>,
    change: &Change<'_>,
) -> Result<(), DomainError> {
    let detail = json!({
        "document_id": document.id,
        "kind": document.kind,
        "country": document.country,
        "from": from,
        "to": document.status,
    });
    Event::new(
        &document.case_id,
        EventKind::Document,
        change.actor,
        change.now,
    )
    .detail(detail)
    .insert(conn)?;
    Ok(())
}

/// Resolves this document's alerts whose reason is gone.
fn resolve(
    conn: &mut DbConnection,
    document: &Document,
    change: &Change<'_>,
) -> Result<(), DomainError> {
    let still = document.dates().deadlines(change.expiring_within);
    let mut kinds = Vec::new();
    if !still
        .iter()
        .any(|d| matches!(d, DocumentDue::Overdue(at) if *at <= change.now))
    {
        kinds.push(AlertKind::DocumentOverdue);
    }
    if !still
        .iter()
        .any(|d| matches!(d, DocumentDue::Expiring(at) if *at <= change.now))
    {
        kinds.push(AlertKind::DocumentExpiring);
    }
    let prefixes: Vec<String> = kinds
        .iter()
        .map(|kind| Alert::episode_prefix(*kind, document.id.as_str()))
        .collect();
    alerts::resolve_episodes(conn, &document.case_id, &prefixes, change)
}

fn set<T>(field: &mut Option<T>, to: Option<Option<T>>) {
    if let Some(to) = to {
        *field = to;
    }
}
