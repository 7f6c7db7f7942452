//! The numbers reports are made of: counts and lists by case code and id,
//! never anything personal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::{AlertKind, AlertState, CaseCode, EventKind, ShelterId, Stage};
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

/// Open cases stalled at `now`, longest stalled first: (code, stage, since).
pub fn stalled(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> QueryResult<Vec<(CaseCode, Stage, Option<NaiveDateTime>)>> {
    cases::table
        .filter(cases::stall_at.le(now))
        .filter(cases::stage.ne(Stage::Closed))
        .order(cases::stall_at.asc())
        .select((cases::code, cases::stage, cases::stall_at))
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
