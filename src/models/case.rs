//! Cases: the row, its queries, and the changes that move a case on. Each
//! change runs inside the caller's writing transaction, locks the case row
//! first, bumps `version`, recomputes the stall deadline and appends its
//! event, so a case and its timeline never disagree.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::alert::Alert;
use super::event::{Actor, Event};
use super::shelter::Shelter;
use super::user::User;
use crate::db::{self, DbConnection};
use crate::domain::stage::{check_transition, TransitionError, TransitionRequest};
use crate::domain::stall::{self, StallInput, StallRules};
use crate::domain::{CaseCode, Need, Outcome, RiskLevel, Stage};
use crate::error::AppError;
use crate::schema::cases;

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct Case {
    pub id: String,
    pub code: String,
    pub stage: String,
    pub outcome: Option<String>,
    pub risk_level: String,
    pub household_size: i32,
    /// A JSON array of need names.
    pub needs: String,
    pub origin_region: Option<String>,
    pub destination_country: Option<String>,
    pub shelter_id: Option<String>,
    pub assigned_to: Option<String>,
    pub stage_entered_at: NaiveDateTime,
    pub last_contact_at: Option<NaiveDateTime>,
    pub snoozed_until: Option<NaiveDateTime>,
    pub stall_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// Filters of `GET /cases`, already parsed.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub stage: Option<Stage>,
    pub shelter_id: Option<String>,
    pub assigned_to: Option<String>,
    pub risk_level: Option<RiskLevel>,
    pub stalled: Option<bool>,
    pub code_prefix: Option<String>,
}

/// The operational fields a coordinator sets when creating a case.
#[derive(Debug, Clone)]
pub struct CaseDraft {
    pub risk_level: RiskLevel,
    pub household_size: i32,
    pub needs: Vec<Need>,
    pub origin_region: Option<String>,
    pub destination_country: Option<String>,
    pub assigned_to: Option<String>,
}

/// A PATCH: `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    pub risk_level: Option<RiskLevel>,
    pub household_size: Option<i32>,
    pub needs: Option<Vec<Need>>,
    pub origin_region: Option<Option<String>>,
    pub destination_country: Option<Option<String>>,
    pub assigned_to: Option<Option<String>>,
    pub override_capacity: bool,
}

/// A transition request, already parsed.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: Stage,
    pub shelter_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub note: Option<String>,
    pub override_capacity: bool,
}

/// Who changes a case, when, and under which stall rules.
pub struct Change<'a> {
    pub actor: &'a Actor,
    pub now: NaiveDateTime,
    pub rules: &'a StallRules,
    /// The version the client last saw (`If-Match`), if it sent one.
    pub if_match: Option<i32>,
}

fn needs_json(needs: &[Need]) -> String {
    let mut names: Vec<&str> = needs.iter().map(|n| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

impl Case {
    pub fn stage(&self) -> Stage {
        Stage::parse(&self.stage).unwrap_or(Stage::Intake)
    }

    pub fn needs(&self) -> Vec<String> {
        serde_json::from_str(&self.needs).unwrap_or_default()
    }

    pub fn is_stalled(&self, now: NaiveDateTime) -> bool {
        self.stall_at.is_some_and(|at| at <= now)
    }

    fn refresh_stall(&mut self, rules: &StallRules) {
        self.stall_at = stall::deadline(
            rules,
            StallInput {
                stage: self.stage(),
                stage_entered_at: self.stage_entered_at,
                last_contact_at: self.last_contact_at,
                snoozed_until: self.snoozed_until,
            },
        );
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Case> {
        cases::table.find(id).first(conn)
    }

    /// Open cases whose stall deadline has passed (index on `stall_at`).
    pub fn due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<Case>> {
        cases::table
            .filter(cases::stall_at.le(now))
            .filter(cases::stage.ne(Stage::Closed.as_str()))
            .order(cases::stall_at.asc())
            .load(conn)
    }

    /// The case under its row lock, if it is (still) stalled.
    pub fn lock_if_stalled(
        conn: &mut DbConnection,
        id: &str,
        now: NaiveDateTime,
    ) -> Result<Option<Case>, AppError> {
        let case = Self::lock(conn, id)?;
        Ok((case.is_stalled(now) && case.stage() != Stage::Closed).then_some(case))
    }

    /// Takes the case's row lock and reads it (404 when missing).
    fn lock(conn: &mut DbConnection, id: &str) -> Result<Case, AppError> {
        let locked = diesel::update(cases::table.find(id))
            .set(cases::version.eq(cases::version))
            .execute(conn)?;
        if locked == 0 {
            return Err(AppError::not_found());
        }
        Ok(Self::find(conn, id)?)
    }

    pub fn list(
        conn: &mut DbConnection,
        filter: &CaseFilter,
        now: NaiveDateTime,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Case>> {
        let mut query = cases::table
            .order(cases::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(cases::id.gt(after.to_string()));
        }
        if let Some(stage) = filter.stage {
            query = query.filter(cases::stage.eq(stage.as_str()));
        }
        if let Some(shelter) = &filter.shelter_id {
            query = query.filter(cases::shelter_id.eq(shelter.clone()));
        }
        if let Some(user) = &filter.assigned_to {
            query = query.filter(cases::assigned_to.eq(user.clone()));
        }
        if let Some(risk) = filter.risk_level {
            query = query.filter(cases::risk_level.eq(risk.as_str()));
        }
        match filter.stalled {
            Some(true) => query = query.filter(cases::stall_at.le(now)),
            Some(false) => {
                query = query.filter(cases::stall_at.is_null().or(cases::stall_at.gt(now)))
            }
            None => {}
        }
        if let Some(prefix) = &filter.code_prefix {
            // The prefix holds only code characters, so it has no LIKE wildcards.
            query = query.filter(cases::code.like(format!("{prefix}%")));
        }
        query.load(conn)
    }

    /// Writes every column back and bumps `version`; the row is locked.
    fn save(&mut self, conn: &mut DbConnection, change: &Change<'_>) -> Result<(), AppError> {
        let expected = self.version;
        self.version += 1;
        self.updated_at = change.now;
        self.refresh_stall(change.rules);
        let written = diesel::update(
            cases::table
                .filter(cases::id.eq(&self.id))
                .filter(cases::version.eq(expected)),
        )
        .set(&*self)
        .execute(conn)?;
        if written == 0 {
            return Err(AppError::internal("case changed under its row lock"));
        }
        Ok(())
    }

    /// Creates a case in `intake` with a fresh random code, and its first event.
    pub fn create(
        conn: &mut DbConnection,
        draft: CaseDraft,
        change: &Change<'_>,
    ) -> Result<Case, AppError> {
        if let Some(user) = &draft.assigned_to {
            check_assignable(conn, user)?;
        }
        let now = change.now;
        let mut case = Case {
            id: super::new_id(),
            code: String::new(),
            stage: Stage::Intake.as_str().into(),
            outcome: None,
            risk_level: draft.risk_level.as_str().into(),
            household_size: draft.household_size,
            needs: needs_json(&draft.needs),
            origin_region: draft.origin_region,
            destination_country: draft.destination_country,
            shelter_id: None,
            assigned_to: draft.assigned_to,
            stage_entered_at: now,
            last_contact_at: None,
            snoozed_until: None,
            stall_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        case.refresh_stall(change.rules);
        // A clash of random codes is rare; draw again inside a savepoint.
        let mut attempts = 0;
        loop {
            case.code = CaseCode::generate().to_string();
            let inserted =
                conn.transaction(|c| diesel::insert_into(cases::table).values(&case).execute(c));
            match inserted {
                Ok(_) => break,
                Err(e) if db::is_unique_violation(&e) && attempts < 5 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Event::new(&case.id, "created", change.actor, now)
            .detail(json!({ "stage": Stage::Intake.as_str() }))
            .insert(conn)?;
        if let Some(user) = &case.assigned_to {
            Event::new(&case.id, "assignment", change.actor, now)
                .detail(json!({ "assigned_to": user }))
                .insert(conn)?;
        }
        Ok(case)
    }

    pub fn update(
        conn: &mut DbConnection,
        id: &str,
        patch: CasePatch,
        change: &Change<'_>,
    ) -> Result<Case, AppError> {
        let mut case = Self::lock(conn, id)?;
        check_version(&case, change.if_match)?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(risk) = patch.risk_level.filter(|r| r.as_str() != case.risk_level) {
            case.risk_level = risk.as_str().into();
            changed.push("risk_level");
        }
        if let Some(size) = patch.household_size.filter(|s| *s != case.household_size) {
            if let (Some(shelter), true) = (&case.shelter_id, size > case.household_size) {
                let shelter = shelter.clone();
                check_capacity(
                    conn,
                    &shelter,
                    size - case.household_size,
                    patch.override_capacity,
                )?;
            }
            case.household_size = size;
            changed.push("household_size");
        }
        if let Some(needs) = patch
            .needs
            .map(|n| needs_json(&n))
            .filter(|n| *n != case.needs)
        {
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
        let reassigned = match patch.assigned_to.filter(|a| *a != case.assigned_to) {
            Some(assignee) => {
                if let Some(user) = &assignee {
                    check_assignable(conn, user)?;
                }
                case.assigned_to = assignee;
                true
            }
            None => false,
        };
        if changed.is_empty() && !reassigned {
            return Ok(case);
        }
        case.save(conn, change)?;
        if !changed.is_empty() {
            Event::new(&case.id, "updated", change.actor, change.now)
                .detail(json!({ "fields": changed }))
                .insert(conn)?;
        }
        if reassigned {
            Event::new(&case.id, "assignment", change.actor, change.now)
                .detail(json!({ "assigned_to": case.assigned_to }))
                .insert(conn)?;
        }
        Ok(case)
    }

    /// Moves a case to another stage, per the table of PRODUCT.md.
    pub fn transition(
        conn: &mut DbConnection,
        id: &str,
        req: Move,
        change: &Change<'_>,
    ) -> Result<Case, AppError> {
        let mut case = Self::lock(conn, id)?;
        check_version(&case, change.if_match)?;
        let from = case.stage();
        let request = TransitionRequest {
            to: req.to,
            shelter_id: req.shelter_id.as_deref(),
            outcome: req.outcome,
        };
        match check_transition(from, case.shelter_id.as_deref(), &request) {
            Ok(()) => {}
            Err(TransitionError::Illegal { from, to }) => {
                let allowed: Vec<&str> =
                    from.allowed_targets().iter().map(|s| s.as_str()).collect();
                let detail = if allowed.is_empty() {
                    format!("A case in {from} cannot move to {to}: it cannot move at all.")
                } else {
                    format!(
                        "A case in {from} cannot move to {to}; it may move to {}.",
                        allowed.join(", ")
                    )
                };
                return Err(
                    AppError::conflict("illegal-transition", "Illegal transition", detail)
                        .with("from", from.as_str())
                        .with("to", to.as_str())
                        .with("allowed", allowed),
                );
            }
            Err(TransitionError::Field { field, message }) => {
                return Err(AppError::invalid(field, message))
            }
        }
        let mut overrode = false;
        if let Some(shelter) = &req.shelter_id {
            overrode = check_capacity(conn, shelter, case.household_size, req.override_capacity)?;
        }
        case.stage = req.to.as_str().into();
        case.stage_entered_at = change.now;
        case.shelter_id = req.shelter_id.clone();
        case.outcome = req.outcome.map(|o| o.as_str().into());
        case.snoozed_until = None;
        case.save(conn, change)?;
        let mut detail = serde_json::Map::new();
        if let Some(outcome) = req.outcome {
            detail.insert("outcome".into(), outcome.as_str().into());
        }
        if let Some(note) = req.note {
            detail.insert("note".into(), note.into());
        }
        if overrode {
            detail.insert("override_capacity".into(), true.into());
        }
        // Moving on ends every alert of the stage left behind.
        resolve_alerts(conn, &case.id, &[], change)?;
        let mut event = Event::new(&case.id, "transition", change.actor, change.now);
        event.from_stage = Some(from.as_str().into());
        event.to_stage = Some(req.to.as_str().into());
        event.shelter_id = req.shelter_id;
        event.detail(detail.into()).insert(conn)?;
        Ok(case)
    }

    /// Someone heard from the person: `last_contact_at` moves, the silence
    /// deadline with it.
    pub fn record_contact(
        conn: &mut DbConnection,
        id: &str,
        channel: &str,
        note: Option<String>,
        change: &Change<'_>,
    ) -> Result<Event, AppError> {
        let case = Self::lock(conn, id)?;
        check_open(&case)?;
        let mut detail = json!({ "channel": channel });
        if let Some(note) = note {
            detail["note"] = note.into();
        }
        case.heard_from(conn, "contact", detail, change)
    }

    /// A partner shelter reports on a guest placed with it now. Any other
    /// case (elsewhere, moved on, or no such code) is the same 404.
    pub fn record_checkin(
        conn: &mut DbConnection,
        code: &str,
        shelter_id: &str,
        kind: &str,
        note: Option<String>,
        change: &Change<'_>,
    ) -> Result<(Case, Event), AppError> {
        let placed = || {
            cases::table
                .filter(cases::code.eq(code))
                .filter(cases::shelter_id.eq(shelter_id))
                .filter(cases::stage.eq(Stage::SafeHouse.as_str()))
        };
        if diesel::update(placed())
            .set(cases::version.eq(cases::version))
            .execute(conn)?
            == 0
        {
            return Err(AppError::not_found());
        }
        let case: Case = placed().first(conn)?;
        let mut detail = json!({ "kind": kind });
        if let Some(note) = note {
            detail["note"] = note.into();
        }
        let event = case.clone().heard_from(conn, "check_in", detail, change)?;
        Ok((case, event))
    }

    /// Someone heard from the person: `last_contact_at` moves, and the
    /// silence deadline with it; the event goes on the timeline.
    fn heard_from(
        mut self,
        conn: &mut DbConnection,
        kind: &str,
        detail: serde_json::Value,
        change: &Change<'_>,
    ) -> Result<Event, AppError> {
        self.last_contact_at = Some(change.now);
        self.save(conn, change)?;
        // Hearing from the person ends a silence alert.
        resolve_alerts(conn, &self.id, &["no_contact"], change)?;
        let event = Event::new(&self.id, kind, change.actor, change.now).detail(detail);
        event.insert(conn)?;
        Ok(event)
    }

    /// The cases placed at a shelter now, by code, after the cursor code.
    pub fn list_placed(
        conn: &mut DbConnection,
        shelter_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Case>> {
        let mut query = cases::table
            .filter(cases::shelter_id.eq(shelter_id))
            .filter(cases::stage.eq(Stage::SafeHouse.as_str()))
            .order(cases::code.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(cases::code.gt(after.to_string()));
        }
        query.load(conn)
    }

    /// Holds the stall deadline at `until` while the case stays in its stage.
    pub fn snooze(
        conn: &mut DbConnection,
        id: &str,
        until: NaiveDateTime,
        reason: String,
        change: &Change<'_>,
    ) -> Result<Case, AppError> {
        let mut case = Self::lock(conn, id)?;
        check_version(&case, change.if_match)?;
        check_open(&case)?;
        if until <= change.now {
            return Err(AppError::invalid("until", "must be in the future"));
        }
        if until > change.now + Duration::days(366) {
            return Err(AppError::invalid("until", "must be within a year"));
        }
        case.snoozed_until = Some(until);
        case.save(conn, change)?;
        Event::new(&case.id, "snooze", change.actor, change.now)
            .detail(json!({ "until": until.and_utc(), "reason": reason }))
            .insert(conn)?;
        Ok(case)
    }
}

/// Resolves the case's unresolved alerts of `kinds` (all when empty), each
/// with its event on the timeline.
fn resolve_alerts(
    conn: &mut DbConnection,
    case_id: &str,
    kinds: &[&str],
    change: &Change<'_>,
) -> Result<(), AppError> {
    for alert in Alert::resolve_for_case(conn, case_id, kinds, change.now)? {
        Event::new(case_id, "alert_resolved", change.actor, change.now)
            .detail(json!({ "alert_id": alert.id, "kind": alert.kind }))
            .insert(conn)?;
    }
    Ok(())
}

fn check_version(case: &Case, if_match: Option<i32>) -> Result<(), AppError> {
    match if_match {
        Some(version) if version != case.version => Err(AppError::precondition_failed()),
        _ => Ok(()),
    }
}

fn check_open(case: &Case) -> Result<(), AppError> {
    if case.stage() == Stage::Closed {
        return Err(AppError::conflict(
            "case-closed",
            "Case closed",
            "The case is closed; it takes no more contacts or snoozes.",
        ));
    }
    Ok(())
}

fn check_assignable(conn: &mut DbConnection, user: &str) -> Result<(), AppError> {
    if User::is_assignable(conn, user)? {
        Ok(())
    } else {
        Err(AppError::invalid(
            "assigned_to",
            "must be the id of an active coordinator or admin",
        ))
    }
}

/// Refuses to place `people` more at a full shelter unless overridden.
/// Returns whether the placement goes over capacity (and was overridden).
fn check_capacity(
    conn: &mut DbConnection,
    shelter_id: &str,
    people: i32,
    override_capacity: bool,
) -> Result<bool, AppError> {
    if Shelter::lock(conn, shelter_id)? == 0 {
        return Err(AppError::invalid("shelter_id", "no such shelter"));
    }
    let shelter = Shelter::find(conn, shelter_id)?;
    if !shelter.active {
        return Err(AppError::invalid("shelter_id", "the shelter is not active"));
    }
    let occupancy = Shelter::occupancy(conn, shelter_id)?;
    let over = occupancy + i64::from(people) > i64::from(shelter.capacity);
    if over && !override_capacity {
        return Err(AppError::conflict(
            "shelter-full",
            "Shelter full",
            format!(
                "The shelter has {} of {} places taken and this needs {people}; \
                 send \"override_capacity\": true to place anyway.",
                occupancy, shelter.capacity
            ),
        )
        .with("capacity", shelter.capacity)
        .with("occupancy", occupancy)
        .with("requested", people));
    }
    Ok(over)
}
