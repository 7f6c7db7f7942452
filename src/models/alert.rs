//! Alerts on cases: raised once per stall episode (the episode is unique),
//! acknowledged by a person, escalated once, resolved when the case moves on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::schema::{alerts, cases};

pub const OPEN: &str = "open";
pub const ACKNOWLEDGED: &str = "acknowledged";
pub const RESOLVED: &str = "resolved";

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub stage: String,
    pub state: String,
    /// What makes this stall episode itself: a second alert for it is refused.
    pub episode: String,
    pub raised_at: NaiveDateTime,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub state: Option<String>,
    pub case_id: Option<String>,
    pub kind: Option<String>,
}

impl Alert {
    /// Inserts the alert unless its episode has one already; true when inserted.
    pub fn insert_once(&self, conn: &mut DbConnection) -> QueryResult<bool> {
        let existing: i64 = alerts::table
            .filter(alerts::episode.eq(&self.episode))
            .count()
            .get_result(conn)?;
        if existing > 0 {
            return Ok(false);
        }
        match conn.transaction(|c| diesel::insert_into(alerts::table).values(self).execute(c)) {
            Ok(_) => Ok(true),
            Err(e) if db::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn find_with_code(conn: &mut DbConnection, id: &str) -> QueryResult<(Alert, String)> {
        alerts::table
            .inner_join(cases::table)
            .filter(alerts::id.eq(id))
            .select((alerts::all_columns, cases::code))
            .first(conn)
    }

    pub fn list(
        conn: &mut DbConnection,
        filter: &AlertFilter,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<(Alert, String)>> {
        let mut query = alerts::table
            .inner_join(cases::table)
            .select((alerts::all_columns, cases::code))
            .order(alerts::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(state) = &filter.state {
            query = query.filter(alerts::state.eq(state.clone()));
        }
        if let Some(case_id) = &filter.case_id {
            query = query.filter(alerts::case_id.eq(case_id.clone()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(alerts::kind.eq(kind.clone()));
        }
        if let Some(after) = after {
            query = query.filter(alerts::id.gt(after.to_string()));
        }
        query.load(conn)
    }

    /// Episodes already alerted among these cases, for the scanner.
    pub fn episodes_of(conn: &mut DbConnection, case_ids: &[String]) -> QueryResult<Vec<String>> {
        alerts::table
            .filter(alerts::case_id.eq_any(case_ids))
            .select(alerts::episode)
            .load(conn)
    }

    /// Resolves the case's unresolved alerts of these kinds (all kinds when
    /// empty) and returns them.
    pub fn resolve_for_case(
        conn: &mut DbConnection,
        case_id: &str,
        kinds: &[&str],
        now: NaiveDateTime,
    ) -> QueryResult<Vec<Alert>> {
        let mut query = alerts::table
            .filter(alerts::case_id.eq(case_id))
            .filter(alerts::state.ne(RESOLVED))
            .into_boxed();
        if !kinds.is_empty() {
            query = query.filter(alerts::kind.eq_any(kinds.to_vec()));
        }
        let unresolved: Vec<Alert> = query.load(conn)?;
        let ids: Vec<&str> = unresolved.iter().map(|a| a.id.as_str()).collect();
        diesel::update(alerts::table.filter(alerts::id.eq_any(ids)))
            .set((alerts::state.eq(RESOLVED), alerts::resolved_at.eq(now)))
            .execute(conn)?;
        Ok(unresolved)
    }

    pub fn acknowledge(
        conn: &mut DbConnection,
        id: &str,
        user_id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(alerts::table.find(id).filter(alerts::state.eq(OPEN)))
            .set((
                alerts::state.eq(ACKNOWLEDGED),
                alerts::acknowledged_by.eq(user_id),
                alerts::acknowledged_at.eq(now),
            ))
            .execute(conn)
    }

    /// Open, unacknowledged, not yet escalated, raised at or before `raised_before`.
    pub fn due_for_escalation(
        conn: &mut DbConnection,
        raised_before: NaiveDateTime,
    ) -> QueryResult<Vec<Alert>> {
        alerts::table
            .filter(alerts::state.eq(OPEN))
            .filter(alerts::escalated_at.is_null())
            .filter(alerts::raised_at.le(raised_before))
            .order(alerts::raised_at.asc())
            .load(conn)
    }

    /// Marks the alert escalated, once: false when another scanner did it first.
    pub fn mark_escalated(
        conn: &mut DbConnection,
        id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            alerts::table
                .find(id)
                .filter(alerts::escalated_at.is_null())
                .filter(alerts::state.eq(OPEN)),
        )
        .set(alerts::escalated_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    }
}
