//! Staff operations on a case: create, update, move through the stages,
//! record a contact, snooze.

use chrono::Duration;
use serde_json::json;

use super::{alerts, sealing, Change};
use crate::db::DbConnection;
use crate::domain::stage::{check_transition, TransitionRequest};
use crate::domain::stall::{self, StallInput};
use crate::domain::{
    AlertKind, CaseCode, CaseId, Channel, DomainError, EventKind, Needs, Outcome, RiskLevel,
    ShelterId, Stage, UserId,
};
use crate::models::case::{Case, NewCase};
use crate::models::event::Event;
use crate::models::shelter::Shelter;
use crate::models::user::User;

/// The operational fields a coordinator sets when creating a case.
#[derive(Debug, Clone)]
pub struct CaseDraft {
    pub risk_level: RiskLevel,
    pub household_size: i32,
    pub needs: Needs,
    pub origin_region: Option<String>,
    pub destination_country: Option<String>,
    pub assigned_to: Option<UserId>,
}

/// A PATCH: `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    pub risk_level: Option<RiskLevel>,
    pub household_size: Option<i32>,
    pub needs: Option<Needs>,
    pub origin_region: Option<Option<String>>,
    pub destination_country: Option<Option<String>>,
    pub assigned_to: Option<Option<UserId>>,
    pub override_capacity: bool,
}

/// A move to another stage.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: Stage,
    pub shelter_id: Option<ShelterId>,
    pub outcome: Option<Outcome>,
    pub note: Option<String>,
    pub override_capacity: bool,
}

/// Creates a case in `intake` with a fresh random code, and its first events.
pub fn create(
    conn: &mut DbConnection,
    draft: CaseDraft,
    change: &Change<'_>,
) -> Result<Case, DomainError> {
    if let Some(user) = &draft.assigned_to {
        check_assignable(conn, user)?;
    }
    let (id, now) = (CaseId::new(), change.now);
    let stall_at = stall::deadline(
        change.rules,
        StallInput {
            stage: Stage::Intake,
            stage_entered_at: now,
            last_contact_at: None,
            snoozed_until: None,
        },
    );
    // A clash of random codes is rare; draw again.
    let mut attempts = 0;
    let case = loop {
        let code = CaseCode::generate();
        let inserted = NewCase {
            id: &id,
            code: &code,
            stage: Stage::Intake,
            risk_level: draft.risk_level,
            household_size: draft.household_size,
            needs: &draft.needs,
            origin_region: draft.origin_region.as_deref(),
            destination_country: draft.destination_country.as_deref(),
            assigned_to: draft.assigned_to.as_ref(),
            stage_entered_at: now,
            stall_at,
            created_at: now,
            updated_at: now,
            version: 1,
            scan_at: stall_at,
        }
        .insert(conn);
        match inserted {
            Ok(case) => break case,
            Err(e) if crate::db::is_unique_violation(&e) && attempts < 5 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    };
    Event::new(&case.id, EventKind::Created, change.actor, now)
        .detail(json!({ "stage": Stage::Intake }))
        .insert(conn)?;
    if let Some(user) = &case.assigned_to {
        Event::new(&case.id, EventKind::Assignment, change.actor, now)
            .detail(json!({ "assigned_to": user }))
            .insert(conn)?;
    }
    Ok(case)
}

/// Changes operational fields; records which changed, and a reassignment.
pub fn update(
    conn: &mut DbConnection,
    id: &CaseId,
    patch: CasePatch,
    change: &Change<'_>,
) -> Result<Case, DomainError> {
    let before = Case::get_locked(conn, id)?;
    let mut case = before.clone();
    change.check_version(case.version)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(risk) = patch.risk_level.filter(|r| *r != case.risk_level) {
        case.risk_level = risk;
        changed.push("risk_level");
    }
    if let Some(size) = patch.household_size.filter(|s| *s != case.household_size) {
        if let (Some(shelter), true) = (&case.shelter_id, size > case.household_size) {
            let more = size - case.household_size;
            check_capacity(conn, shelter, more, patch.override_capacity)?;
        }
        case.household_size = size;
        changed.push("household_size");
    }
    if let Some(needs) = patch.needs.filter(|n| *n != case.needs) {
        case.needs = needs;
        changed.push("needs");
    }
    if let Some(region) = patch.origin_region.filter(|r| *r != case.origin_region) {
        case.origin_region = region;
        changed.push("origin_region");
    }
    if let Some(country) = patch
        .destination_country
        .filter(|c| *c != case.destination_country)
    {
        case.destination_country = country;
        changed.push("destination_country");
    }
    let assignee = patch.assigned_to.filter(|a| *a != case.assigned_to);
    if let Some(Some(user)) = &assignee {
        check_assignable(conn, user)?;
    }
    if changed.is_empty() && assignee.is_none() {
        return Ok(case);
    }
    if let Some(assignee) = assignee.clone() {
        case.assigned_to = assignee;
    }
    case.save(&before, conn, change.now, change.rules)?;
    if !changed.is_empty() {
        Event::new(&case.id, EventKind::Updated, change.actor, change.now)
            .detail(json!({ "fields": changed }))
            .insert(conn)?;
    }
    if assignee.is_some() {
        Event::new(&case.id, EventKind::Assignment, change.actor, change.now)
            .detail(json!({ "assigned_to": case.assigned_to }))
            .insert(conn)?;
    }
    Ok(case)
}

/// Moves a case to another stage, per the table of PRODUCT.md. Moving on
/// resolves every alert of the stage left behind.
pub fn transition(
    conn: &mut DbConnection,
    id: &CaseId,
    req: Move,
    change: &Change<'_>,
) -> Result<Case, DomainError> {
    let before = Case::get_locked(conn, id)?;
    let mut case = before.clone();
    change.check_version(case.version)?;
    let from = case.stage;
    let request = TransitionRequest {
        to: req.to,
        shelter_id: req.shelter_id.as_ref(),
        outcome: req.outcome,
    };
    check_transition(from, case.shelter_id.as_ref(), &request)?;
    let overrode = match &req.shelter_id {
        Some(shelter) => check_capacity(conn, shelter, case.household_size, req.override_capacity)?,
        None => false,
    };
    case.stage = req.to;
    case.stage_entered_at = change.now;
    case.shelter_id = req.shelter_id.clone();
    case.outcome = req.outcome;
    case.snoozed_until = None;
    case.save(&before, conn, change.now, change.rules)?;
    let mut detail = serde_json::Map::new();
    if let Some(outcome) = req.outcome {
        detail.insert("outcome".into(), outcome.as_str().into());
    }
    if overrode {
        detail.insert("override_capacity".into(), true.into());
    }
    alerts::resolve(conn, &case.id, &[], change)?;
    let mut event = Event::new(&case.id, EventKind::Transition, change.actor, change.now);
    event.from_stage = Some(from);
    event.to_stage = Some(req.to);
    event.shelter_id = req.shelter_id;
    let event = event.detail(detail.into());
    sealing::insert_with_note(conn, change.keys, event, req.note, change.now)?;
    Ok(case)
}

/// Someone heard from the person: `last_contact_at` moves, the silence
/// deadline with it.
pub fn contact(
    conn: &mut DbConnection,
    id: &CaseId,
    channel: Channel,
    note: Option<String>,
    change: &Change<'_>,
) -> Result<Event, DomainError> {
    let case = Case::get_locked(conn, id)?;
    check_open(&case)?;
    let detail = json!({ "channel": channel });
    heard_from(conn, case, EventKind::Contact, detail, note, change)
}

/// Holds the stall deadline at `until` while the case stays in its stage.
pub fn snooze(
    conn: &mut DbConnection,
    id: &CaseId,
    until: chrono::NaiveDateTime,
    reason: String,
    change: &Change<'_>,
) -> Result<Case, DomainError> {
    let before = Case::get_locked(conn, id)?;
    let mut case = before.clone();
    change.check_version(case.version)?;
    check_open(&case)?;
    if until <= change.now {
        return Err(DomainError::invalid("until", "must be in the future"));
    }
    if until > change.now + Duration::days(366) {
        return Err(DomainError::invalid("until", "must be within a year"));
    }
    case.snoozed_until = Some(until);
    case.save(&before, conn, change.now, change.rules)?;
    let event = Event::new(&case.id, EventKind::Snooze, change.actor, change.now)
        .detail(json!({ "until": until.and_utc() }));
    sealing::insert_with_note(conn, change.keys, event, Some(reason), change.now)?;
    Ok(case)
}

/// Someone heard from the person (a contact, a check-in): `last_contact_at`
/// moves, a silence alert ends, and the event goes on the timeline. `case`
/// is the row as read under its lock.
pub(super) fn heard_from(
    conn: &mut DbConnection,
    mut case: Case,
    kind: EventKind,
    detail: serde_json::Value,
    note: Option<String>,
    change: &Change<'_>,
) -> Result<Event, DomainError> {
    let before = case.clone();
    case.last_contact_at = Some(change.now);
    case.save(&before, conn, change.now, change.rules)?;
    alerts::resolve(conn, &case.id, &[AlertKind::NoContact], change)?;
    let event = Event::new(&case.id, kind, change.actor, change.now).detail(detail);
    sealing::insert_with_note(conn, change.keys, event, note, change.now)
}

fn check_open(case: &Case) -> Result<(), DomainError> {
    if case.stage == Stage::Closed {
        return Err(DomainError::CaseClosed);
    }
    Ok(())
}

fn check_assignable(conn: &mut DbConnection, user: &UserId) -> Result<(), DomainError> {
    if User::is_assignable(conn, user)? {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "assigned_to",
            "must be the id of an active coordinator or admin",
        ))
    }
}

/// Refuses to place `people` more at a full shelter unless overridden.
/// Returns whether the placement goes over capacity (and was overridden).
/// The shelter stays locked until the transaction ends, so two placements
/// cannot both take the last bed.
fn check_capacity(
    conn: &mut DbConnection,
    shelter_id: &ShelterId,
    people: i32,
    override_capacity: bool,
) -> Result<bool, DomainError> {
    let shelter = match Shelter::get_locked(conn, shelter_id) {
        Err(diesel::result::Error::NotFound) => {
            return Err(DomainError::invalid("shelter_id", "no such shelter"))
        }
        other => other?,
    };
    if !shelter.active {
        return Err(DomainError::invalid(
            "shelter_id",
            "the shelter is not active",
        ));
    }
    let occupancy = Shelter::occupancy(conn, shelter_id)?;
    let over = occupancy + i64::from(people) > i64::from(shelter.capacity);
    if over && !override_capacity {
        return Err(DomainError::ShelterFull {
            capacity: shelter.capacity,
            occupancy,
            requested: people,
        });
    }
    Ok(over)
}
