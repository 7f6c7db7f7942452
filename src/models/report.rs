//! The numbers reports are made of: counts and lists by case code and id,
//! never anything personal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::{AlertKind, AlertState, CaseCode, EventKind, Outcome, ShelterId, Stage};
use crate::schema::{alerts, case_events, cases, shelters};

/// How many cases are in each stage (stages without cases are absent).
pub fn cases_by_stage(conn: &mut DbConnection) -> QueryResult<Vec<(Stage, i64)>> {
    cases::table
        .group_by(cases::stage)
        .select((cases::stage, diesel::dsl::count_star()))
        .load(conn)
}

/// A move on a case's timeline: (code, from, to).
pub type Move = (CaseCode, Option<Stage>, Option<Stage>);

/// Moves since `since`, oldest first.
pub fn moves_since(conn: &mut DbConnection, since: NaiveDateTime) -> QueryResult<Vec<Move>> {
    case_events::table
        .inner_join(cases::table)
        .filter(case_events::kind.eq(EventKind::Transition))
        .filter(case_events::at.gt(since))
        .order(case_events::id.asc())
        .select((cases::code, case_events::from_stage, case_events::to_stage))
        .load(conn)
}

/// An open case stalled: its code, stage, shelter, and since when.
pub type Stalled = (CaseCode, Stage, Option<ShelterId>, Option<NaiveDateTime>);

/// Open cases stalled at `now`, longest stalled first.
pub fn stalled(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<Stalled>> {
    cases::table
        .filter(cases::stall_at.le(now))
        .filter(cases::stage.ne(Stage::Closed))
        .order(cases::stall_at.asc())
        .select((
            cases::code,
            cases::stage,
            cases::shelter_id,
            cases::stall_at,
        ))
        .load(conn)
}

/// Alerts not resolved yet, oldest first: (code, kind, state).
pub fn open_alerts(conn: &mut DbConnection) -> QueryResult<Vec<(CaseCode, AlertKind, AlertState)>> {
    alerts::table
        .inner_join(cases::table)
        .filter(alerts::state.ne(AlertState::Resolved))
        .order(alerts::raised_at.asc())
        .select((cases::code, alerts::kind, alerts::state))
        .load(conn)
}

/// Active shelters and their capacity, by id.
pub fn shelter_capacities(conn: &mut DbConnection) -> QueryResult<Vec<(ShelterId, i32)>> {
    shelters::table
        .filter(shelters::active.eq(true))
        .order(shelters::id.asc())
        .select((shelters::id, shelters::capacity))
        .load(conn)
}

/// How many closed cases ended with each outcome (outcomes without cases
/// are absent).
pub fn closed_by_outcome(conn: &mut DbConnection) -> QueryResult<Vec<(Option<Outcome>, i64)>> {
    cases::table
        .filter(cases::stage.eq(Stage::Closed))
        .group_by(cases::outcome)
        .select((cases::outcome, diesel::dsl::count_star()))
        .load(conn)
}

/// How many open cases are stalled at `now`.
pub fn stalled_count(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<i64> {
    cases::table
        .filter(cases::stall_at.le(now))
        .filter(cases::stage.ne(Stage::Closed))
        .count()
        .get_result(conn)
}

/// How many alerts are open (neither acknowledged nor resolved).
pub fn open_alert_count(conn: &mut DbConnection) -> QueryResult<i64> {
    alerts::table
        .filter(alerts::state.eq(AlertState::Open))
        .count()
        .get_result(conn)
}

/// One finished stay in a stage, from the timeline.
#[derive(Debug, QueryableByName)]
pub struct Stay {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub stage: Stage,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub entered_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub left_at: NaiveDateTime,
}

/// Every finished stay: each move out of a stage, with when the case
/// entered it (the move before, or the case's creation for its first).
pub fn stays(conn: &mut DbConnection) -> QueryResult<Vec<Stay>> {
    let sql = "SELECT e.from_stage AS stage, e.at AS left_at, \
               COALESCE(LAG(e.at) OVER (PARTITION BY e.case_id ORDER BY e.id), c.created_at) \
               AS entered_at \
               FROM case_events e JOIN cases c ON c.id = e.case_id \
               WHERE e.kind = 'transition' AND e.from_stage IS NOT NULL";
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c),
        DbConnection::Postgresql(c) => diesel::sql_query(sql).load(c),
    }
}

/// Active shelters by id: (id, name, capacity).
pub fn active_shelters(conn: &mut DbConnection) -> QueryResult<Vec<(ShelterId, String, i32)>> {
    shelters::table
        .filter(shelters::active.eq(true))
        .order(shelters::id.asc())
        .select((shelters::id, shelters::name, shelters::capacity))
        .load(conn)
}

/// Open alerts by kind (kinds without any are absent).
pub fn open_alerts_by_kind(conn: &mut DbConnection) -> QueryResult<Vec<(AlertKind, i64)>> {
    alerts::table
        .filter(alerts::state.eq(AlertState::Open))
        .group_by(alerts::kind)
        .select((alerts::kind, diesel::dsl::count_star()))
        .load(conn)
}

/// Emails waiting to go out, and emails given up on.
pub fn outbox_counts(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    use crate::schema::outbox;
    let pending = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::dead_at.is_null())
        .count()
        .get_result(conn)?;
    let dead = outbox::table
        .filter(outbox::dead_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((pending, dead))
}

/// Legs still on the way past their `arrive_by` (partial index).
pub fn legs_overdue(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<i64> {
    use crate::schema::case_legs;
    case_legs::table
        .filter(case_legs::status.eq(crate::domain::journey::LegStatus::Departed))
        .filter(case_legs::arrive_by.le(now))
        .count()
        .get_result(conn)
}

/// Legs on the way now (departed), with their case's code and `arrive_by`.
pub fn legs_on_the_way(conn: &mut DbConnection) -> QueryResult<Vec<(CaseCode, NaiveDateTime)>> {
    use crate::schema::case_legs;
    case_legs::table
        .inner_join(cases::table)
        .filter(case_legs::status.eq(crate::domain::journey::LegStatus::Departed))
        .select((cases::code, case_legs::arrive_by))
        .load(conn)
}

/// Documents needing attention: their unresolved overdue or expiring alerts.
pub fn documents_alerting(conn: &mut DbConnection) -> QueryResult<i64> {
    alerts::table
        .filter(alerts::state.ne(AlertState::Resolved))
        .filter(alerts::kind.eq_any([AlertKind::DocumentOverdue, AlertKind::DocumentExpiring]))
        .count()
        .get_result(conn)
}
