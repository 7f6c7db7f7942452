//! The legs of a person's journey: planned, moved between states (each move
//! on the timeline), and watched: a leg still on the way when it should
//! have arrived raises `leg_overdue` at once, to the coordinator and every
//! admin (a person in transit unaccounted for is the most dangerous state).
//! A partner's `arrived` check-in at the leg's shelter ends it.

use chrono::NaiveDateTime;
use serde_json::json;
use zeroize::Zeroizing;

use super::alerts::{self, Owed};
use super::{sealing, Change};
use crate::db::DbConnection;
use crate::domain::journey::{LegStatus, Money, Place, TravelMode};
use crate::domain::stall::humane;
use crate::domain::Stage;
use crate::domain::{AlertKind, CaseCode, CaseId, DomainError, EventKind, LegId, ShelterId};
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::event::Event;
use crate::models::leg::Leg;
use crate::models::shelter::Shelter;

/// A new leg, as the edge parsed it.
pub struct LegDraft {
    pub mode: TravelMode,
    pub from: Place,
    pub to: Place,
    pub depart_at: NaiveDateTime,
    pub arrive_by: NaiveDateTime,
    pub status: LegStatus,
    pub carrier: Option<String>,
    pub cost: Option<Money>,
    pub booking_reference: Option<Zeroizing<String>>,
    pub to_shelter_id: Option<ShelterId>,
}

/// What a PATCH changes: `None` leaves a field, `Some(None)` clears it.
#[derive(Default)]
pub struct LegPatch {
    pub status: Option<LegStatus>,
    pub depart_at: Option<NaiveDateTime>,
    pub arrive_by: Option<NaiveDateTime>,
    pub carrier: Option<Option<String>>,
    pub cost: Option<Option<Money>>,
    pub booking_reference: Option<Option<Zeroizing<String>>>,
    pub to_shelter_id: Option<Option<ShelterId>>,
}

pub fn add(
    conn: &mut DbConnection,
    case_id: &CaseId,
    draft: LegDraft,
    change: &Change<'_>,
) -> Result<Leg, DomainError> {
    let case = Case::get_locked(conn, case_id)?;
    if case.stage == Stage::Closed {
        return Err(DomainError::CaseClosed);
    }
    check_times(draft.depart_at, draft.arrive_by)?;
    if let Some(shelter) = &draft.to_shelter_id {
        check_shelter(conn, shelter)?;
    }
    let (cost_amount, cost_currency) = split(draft.cost);
    let mut leg = Leg {
        id: LegId::new(),
        case_id: case.id.clone(),
        mode: draft.mode,
        from_city: draft.from.city.trim().to_string(),
        from_country: draft.from.country,
        to_city: draft.to.city.trim().to_string(),
        to_country: draft.to.country,
        depart_at: draft.depart_at,
        arrive_by: draft.arrive_by,
        status: draft.status,
        carrier: draft.carrier,
        cost_amount,
        cost_currency,
        booking_sealed: None,
        to_shelter_id: draft.to_shelter_id,
        alert_at: None,
        version: 1,
        created_at: change.now,
        updated_at: change.now,
    };
    if let Some(reference) = draft.booking_reference {
        leg.booking_sealed = Some(seal_booking(conn, &leg, &reference, change)?);
    }
    leg.alert_at = leg.look_at();
    leg.insert(conn)?;
    timeline(conn, &leg, None, change)?;
    Ok(leg)
}

pub fn update(
    conn: &mut DbConnection,
    case_id: &CaseId,
    id: &LegId,
    patch: LegPatch,
    change: &Change<'_>,
) -> Result<Leg, DomainError> {
    Case::get_locked(conn, case_id)?;
    let before = Leg::get_locked(conn, case_id, id)?;
    change.check_version(before.version)?;
    let mut leg = before.clone();
    if let Some(to) = patch.status {
        if !before.status.may_move_to(to) {
            return Err(DomainError::IllegalLegMove {
                from: before.status,
                to,
            });
        }
        leg.status = to;
    }
    if let Some(at) = patch.depart_at {
        leg.depart_at = at;
    }
    if let Some(at) = patch.arrive_by {
        leg.arrive_by = at;
    }
    check_times(leg.depart_at, leg.arrive_by)?;
    if let Some(carrier) = patch.carrier {
        leg.carrier = carrier;
    }
    if let Some(cost) = patch.cost {
        (leg.cost_amount, leg.cost_currency) = split(cost);
    }
    if let Some(shelter) = patch.to_shelter_id {
        if let Some(shelter) = &shelter {
            check_shelter(conn, shelter)?;
        }
        leg.to_shelter_id = shelter;
    }
    match patch.booking_reference {
        None => {}
        Some(None) => leg.booking_sealed = None,
        Some(Some(reference)) => {
            leg.booking_sealed = Some(seal_booking(conn, &leg, &reference, change)?);
        }
    }
    save(conn, leg, &before, change)
}

/// Writes a changed leg: its version, its next look, its move on the
/// timeline, and the end of an alert whose reason is gone.
fn save(
    conn: &mut DbConnection,
    mut leg: Leg,
    before: &Leg,
    change: &Change<'_>,
) -> Result<Leg, DomainError> {
    leg.version += 1;
    leg.updated_at = change.now;
    leg.alert_at = leg.look_at().map(|at| at.max(change.now));
    leg.save(conn)?;
    if leg.status != before.status {
        timeline(conn, &leg, Some(before.status), change)?;
    }
    if leg.status != LegStatus::Departed || leg.arrive_by != before.arrive_by {
        let prefix = Alert::episode_prefix(AlertKind::LegOverdue, leg.id.as_str());
        alerts::resolve_episodes(conn, &leg.case_id, &[prefix], change)?;
    }
    Ok(leg)
}

/// The booking reference, opened: for the single-leg read of coordinators.
pub fn booking_reference(
    conn: &mut DbConnection,
    leg: &Leg,
    change: &Change<'_>,
) -> Result<Option<String>, DomainError> {
    let purpose = Leg::booking_purpose(&leg.id);
    let sealed = leg.booking_sealed.as_deref();
    sealing::open_field(
        conn,
        change.keys,
        &leg.case_id,
        &purpose,
        sealed,
        change.now,
    )
}

/// The scan's look at a leg whose `arrive_by` came: still on the way, it
/// raises `leg_overdue` to the coordinator and every admin at once.
pub fn raise_due(
    conn: &mut DbConnection,
    id: &LegId,
    change: &Change<'_>,
) -> Result<Vec<(Alert, CaseCode)>, DomainError> {
    let leg = Leg::get_locked_by_id(conn, id)?;
    let Some(owed) = due_alert(&leg, change.now) else {
        Leg::set_alert_at(conn, id, leg.look_at().filter(|at| *at > change.now))?;
        return Ok(Vec::new());
    };
    Leg::set_alert_at(conn, id, None)?;
    let case = Case::find(conn, &leg.case_id)?;
    let (kind, rule) = (owed.kind, owed.rule);
    let raised = alerts::raise_to_all(conn, &case, kind, owed.episode, &rule, change)?;
    Ok(raised.map(|alert| (alert, case.code)).into_iter().collect())
}

/// The alert `leg` owes at `now`, if it is on the way past its
/// `arrive_by`. The scan raises it; the demo writes it as raised. Emails
/// carry codes, stages and durations only: no place, no date.
pub fn due_alert(leg: &Leg, now: NaiveDateTime) -> Option<Owed> {
    if leg.status != LegStatus::Departed || leg.arrive_by > now {
        return None;
    }
    let kind = AlertKind::LegOverdue;
    let rule = format!(
        "a leg by {} is {} past its arrival time and nobody has said the person arrived",
        crate::email::words(leg.mode.as_str()),
        humane(now - leg.arrive_by),
    );
    Some(Owed {
        kind,
        episode: Alert::episode_of(kind, leg.id.as_str(), leg.arrive_by),
        rule,
        due: leg.arrive_by,
    })
}

/// A partner's `arrived` check-in for the case with `code` at `shelter`:
/// its legs to that shelter arrive. The legs that did; none when it had none.
pub fn arrived_at(
    conn: &mut DbConnection,
    code: &CaseCode,
    shelter: &ShelterId,
    change: &Change<'_>,
) -> Result<Vec<Leg>, DomainError> {
    let mut arrived = Vec::new();
    for before in Leg::inbound_locked(conn, code, shelter)? {
        let mut leg = before.clone();
        // A planned leg the person took without anyone saying so.
        leg.status = LegStatus::Arrived;
        arrived.push(save(conn, leg, &before, change)?);
    }
    Ok(arrived)
}

fn check_times(depart_at: NaiveDateTime, arrive_by: NaiveDateTime) -> Result<(), DomainError> {
    if arrive_by <= depart_at {
        return Err(DomainError::invalid("arrive_by", "must be after depart_at"));
    }
    Ok(())
}

fn check_shelter(conn: &mut DbConnection, shelter: &ShelterId) -> Result<(), DomainError> {
    match Shelter::find(conn, shelter) {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::NotFound) => Err(DomainError::invalid(
            "to_shelter_id",
            "must be the id of a shelter",
        )),
        Err(e) => Err(e.into()),
    }
}

fn split(cost: Option<Money>) -> (Option<String>, Option<String>) {
    match cost {
        Some(money) => (Some(money.amount), Some(money.currency)),
        None => (None, None),
    }
}

fn seal_booking(
    conn: &mut DbConnection,
    leg: &Leg,
    reference: &str,
    change: &Change<'_>,
) -> Result<Vec<u8>, DomainError> {
    let purpose = Leg::booking_purpose(&leg.id);
    sealing::seal_field(
        conn,
        change.keys,
        &leg.case_id,
        &purpose,
        reference,
        change.now,
    )
}

fn timeline(
    conn: &mut DbConnection,
    leg: &Leg,
    from: Option<LegStatus>,
    change: &Change<'_>,
) -> Result<(), DomainError> {
    let detail = json!({
        "leg_id": leg.id,
        "mode": leg.mode,
        "from_city": leg.from_city,
        "to_city": leg.to_city,
        "from": from,
        "to": leg.status,
    });
    Event::new(&leg.case_id, EventKind::Leg, change.actor, change.now)
        .detail(detail)
        .insert(conn)?;
    Ok(())
}
