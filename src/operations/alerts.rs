//! Alerts: raised once per episode with an email to whoever looks after the
//! case, acknowledged by a person, escalated once to the admins, resolved
//! when the case moves on. Each is an event on the case's timeline.

use serde_json::json;

use super::{notify, sealing, Change};
use crate::db::DbConnection;
use crate::domain::stall::{self, Breach};
use crate::domain::{AlertId, AlertKind, AlertState, CaseCode, CaseId, DomainError, EventKind};
use crate::domain::{Role, Stage, UserId};
use crate::email::{self, AlertFacts};
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::event::Event;
use crate::models::shelter::Shelter;
use crate::models::user::User;

/// Raises an alert on `case` for `episode` and queues its emails. `None`
/// when the episode has its alert already.
/// An alert a record of a case owes: what kind, its episode, its rule in
/// words, and the deadline that passed.
pub struct Owed {
    pub kind: AlertKind,
    pub episode: String,
    pub rule: String,
    pub due: chrono::NaiveDateTime,
}

pub fn raise(
    conn: &mut DbConnection,
    case: &Case,
    kind: AlertKind,
    episode: String,
    rule: &str,
    change: &Change<'_>,
) -> Result<Option<Alert>, DomainError> {
    raise_for(conn, case, kind, episode, rule, change, false)
}

/// As [`raise`], emailed at once to every admin as well: for what cannot
/// wait for an escalation (a person in transit unaccounted for).
pub fn raise_to_all(
    conn: &mut DbConnection,
    case: &Case,
    kind: AlertKind,
    episode: String,
    rule: &str,
    change: &Change<'_>,
) -> Result<Option<Alert>, DomainError> {
    raise_for(conn, case, kind, episode, rule, change, true)
}

fn raise_for(
    conn: &mut DbConnection,
    case: &Case,
    kind: AlertKind,
    episode: String,
    rule: &str,
    change: &Change<'_>,
    admins: bool,
) -> Result<Option<Alert>, DomainError> {
    let alert = Alert::open(&case.id, kind, case.stage, episode, change.now);
    if !alert.insert_once(conn)? {
        return Ok(None);
    }
    Event::new(&case.id, EventKind::AlertRaised, change.actor, change.now)
        .detail(json!({ "alert_id": alert.id, "kind": kind, "rule": rule }))
        .insert(conn)?;
    let message = with_facts(conn, case, &alert.id, case.stage, rule, kind, change, |f| {
        email::alert_raised(f)
    })?;
    let mut recipients = User::alert_recipients(conn, case.assigned_to.as_ref())?;
    if admins {
        recipients.extend(User::active_with_roles(conn, &[Role::Admin])?);
    }
    // An admin who is also the coordinator gets one: the key is per user.
    for (user, address) in recipients {
        let key = format!("alert:{}:raised:{user}", alert.id);
        notify(conn, key, &address, &message, change.now)?;
    }
    Ok(Some(alert))
}

/// Raises the stall alert of a case the scanner found due, if it is still
/// stalled under its row lock (it may have moved since the scan began).
pub fn raise_stall(
    conn: &mut DbConnection,
    id: &CaseId,
    change: &Change<'_>,
) -> Result<Option<(Alert, CaseCode)>, DomainError> {
    let case = Case::get_locked(conn, id)?;
    if !case.is_stalled(change.now) || case.stage == Stage::Closed {
        // Moved on since: the scan looks again at its new deadline, if any.
        Case::set_scan_at(
            conn,
            id,
            case.stall_at.filter(|_| case.stage != Stage::Closed),
        )?;
        return Ok(None);
    }
    // Alerted for this deadline (now, or by an earlier scan): not read again.
    Case::set_scan_at(conn, id, None)?;
    let breach = Breach::of(change.rules, &case.stall_input(), change.now);
    let episode = stall::episode(&case.id, breach.kind(), &case.stall_input());
    let raised = raise(
        conn,
        &case,
        breach.kind(),
        episode,
        &breach.to_string(),
        change,
    )?;
    Ok(raised.map(|alert| (alert, case.code)))
}

/// Someone is on it: the alert stops escalating. Acknowledging twice
/// changes nothing; a resolved alert needs no acknowledgement.
pub fn acknowledge(
    conn: &mut DbConnection,
    id: &AlertId,
    user: &UserId,
    note: Option<String>,
    change: &Change<'_>,
) -> Result<(Alert, CaseCode), DomainError> {
    let current = Alert::get_locked(conn, id)?;
    if current.state == AlertState::Resolved {
        return Err(DomainError::AlertResolved);
    }
    if Alert::acknowledge(conn, id, user, change.now)? {
        let detail = json!({ "alert_id": id, "kind": current.kind });
        let kind = EventKind::AlertAcknowledged;
        let event = Event::new(&current.case_id, kind, change.actor, change.now).detail(detail);
        sealing::insert_with_note(conn, change.keys, event, note, change.now)?;
    }
    Ok(Alert::find_with_code(conn, id)?)
}

/// Escalates an alert nobody acknowledged in time to every admin, once:
/// `None` when another scanner did it first.
pub fn escalate(
    conn: &mut DbConnection,
    due: &Alert,
    change: &Change<'_>,
) -> Result<Option<(Alert, CaseCode)>, DomainError> {
    if !Alert::mark_escalated(conn, &due.id, change.now)? {
        return Ok(None);
    }
    let case = Case::find(conn, &due.case_id)?;
    Event::new(
        &case.id,
        EventKind::AlertEscalated,
        change.actor,
        change.now,
    )
    .detail(json!({ "alert_id": due.id, "kind": due.kind }))
    .insert(conn)?;
    let rule = if due.kind.is_stall() {
        Breach::of(change.rules, &case.stall_input(), change.now).to_string()
    } else {
        due.kind.as_str().replace('_', " ")
    };
    let waited = change.now - due.raised_at;
    let message = with_facts(
        conn,
        &case,
        &due.id,
        due.stage,
        &rule,
        due.kind,
        change,
        |f| email::alert_escalated(f, waited),
    )?;
    for (admin, address) in User::active_with_roles(conn, &[Role::Admin])? {
        let key = format!("alert:{}:escalated:{admin}", due.id);
        notify(conn, key, &address, &message, change.now)?;
    }
    Ok(Some((due.clone(), case.code)))
}

/// The email `write` makes of what an alert email says of its case: its
/// code, its stage and shelter in words (the shelter by its email label),
/// the calls to make and the API's page that shows how.
#[allow(clippy::too_many_arguments)]
fn with_facts(
    conn: &mut DbConnection,
    case: &Case,
    alert: &AlertId,
    stage: Stage,
    rule: &str,
    kind: AlertKind,
    change: &Change<'_>,
    write: impl FnOnce(&AlertFacts<'_>) -> email::Email,
) -> Result<email::Email, DomainError> {
    let shelter = match &case.shelter_id {
        Some(id) => Shelter::email_labels(conn, std::slice::from_ref(id))?.remove(id),
        None => None,
    };
    let (case_url, ack_url) = (
        change.links.case_by_code(&case.code),
        change.links.alert_ack(alert),
    );
    let docs_url = change.links.docs("alerts", "alerts_acknowledge");
    Ok(write(&AlertFacts {
        code: &case.code,
        case_url: &case_url,
        ack_url: &ack_url,
        docs_url: &docs_url,
        stage,
        shelter: shelter.as_deref(),
        rule,
        kind,
    }))
}

/// Resolves the case's unresolved alerts of `kinds` (all when empty), each
/// with its event on the timeline.
pub fn resolve(
    conn: &mut DbConnection,
    case_id: &CaseId,
    kinds: &[AlertKind],
    change: &Change<'_>,
) -> Result<(), DomainError> {
    for alert in Alert::resolve_for_case(conn, case_id, kinds, change.now)? {
        Event::new(case_id, EventKind::AlertResolved, change.actor, change.now)
            .detail(json!({ "alert_id": alert.id, "kind": alert.kind }))
            .insert(conn)?;
    }
    Ok(())
}

/// Resolves the case's unresolved alerts whose episode starts with one of
/// `prefixes` (one document's, say), each with its event on the timeline.
pub fn resolve_episodes(
    conn: &mut DbConnection,
    case_id: &CaseId,
    prefixes: &[String],
    change: &Change<'_>,
) -> Result<(), DomainError> {
    if prefixes.is_empty() {
        return Ok(());
    }
    let unresolved = Alert::resolve_for_case_where(conn, case_id, change.now, |alert| {
        prefixes
            .iter()
            .any(|p| alert.episode.starts_with(p.as_str()))
    })?;
    for alert in unresolved {
        Event::new(case_id, EventKind::AlertResolved, change.actor, change.now)
            .detail(json!({ "alert_id": alert.id, "kind": alert.kind }))
            .insert(conn)?;
    }
    Ok(())
}
