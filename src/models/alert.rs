//! Alerts on cases: raised once per stall episode (the episode is unique),
//! acknowledged by a person, escalated once, resolved when the case moves on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::domain::{AlertId, AlertKind, AlertState, CaseCode, CaseId, Stage, UserId};
use crate::schema::{alerts, cases};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    pub id: AlertId,
    pub case_id: CaseId,
    pub kind: AlertKind,
    pub stage: Stage,
    pub state: AlertState,
    /// What makes this stall episode itself: a second alert for it is refused.
    pub episode: String,
    pub raised_at: NaiveDateTime,
    pub acknowledged_by: Option<UserId>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
}

/// Filters of `GET /alerts`, as the query string names them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub case_id: Option<CaseId>,
    pub kind: Option<AlertKind>,
}

impl Alert {
    /// A new open alert on a case in `stage`.
    pub fn open(
        case_id: &CaseId,
        kind: AlertKind,
        stage: Stage,
        episode: String,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            id: AlertId::new(),
            case_id: case_id.clone(),
            kind,
            stage,
            state: AlertState::Open,
            episode,
            raised_at: now,
            acknowledged_by: None,
            acknowledged_at: None,
            escalated_at: None,
            resolved_at: None,
        }
    }

    /// The episode of a `kind` alert on one record of a case (a document, a
    /// leg) for its deadline `due`: once per deadline.
    pub fn episode_of(kind: AlertKind, subject: &str, due: NaiveDateTime) -> String {
        format!(
            "{}{}",
            Self::episode_prefix(kind, subject),
            due.and_utc().timestamp()
        )
    }

    /// What every episode of `kind` on `subject` begins with.
    pub fn episode_prefix(kind: AlertKind, subject: &str) -> String {
        format!("{kind}:{subject}:")
    }

    /// Inserts the alert unless its episode has one already; true when inserted.
    pub fn insert_once(&self, conn: &mut DbConnection) -> QueryResult<bool> {
        db::insert_once(conn, |c| {
            diesel::insert_into(alerts::table).values(self).execute(c)
        })
    }

    pub fn find_with_code(conn: &mut DbConnection, id: &AlertId) -> QueryResult<(Alert, CaseCode)> {
        alerts::table
            .inner_join(cases::table)
            .filter(alerts::id.eq(id))
            .select((alerts::all_columns, cases::code))
            .first(conn)
    }

    /// The alert, locked for the rest of the writing transaction.
    pub fn get_locked(conn: &mut DbConnection, id: &AlertId) -> QueryResult<Alert> {
        db::get_locked!(conn, alerts::table.find(id))
    }

    pub fn list(
        conn: &mut DbConnection,
        filter: &AlertFilter,
        page: &PageRequest,
    ) -> QueryResult<Vec<(Alert, CaseCode)>> {
        let joined = alerts::table
            .inner_join(cases::table)
            .select((alerts::all_columns, cases::code))
            .into_boxed();
        let mut query = page.apply(joined, alerts::id);
        if let Some(state) = filter.state {
            query = query.filter(alerts::state.eq(state));
        }
        if let Some(case_id) = &filter.case_id {
            query = query.filter(alerts::case_id.eq(case_id.clone()));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(alerts::kind.eq(kind));
        }
        query.load(conn)
    }

    /// Episodes already alerted among these cases, for the scanner.
    /// Does the case have an open alert of `kind`?
    pub fn has_open(
        conn: &mut DbConnection,
        case_id: &CaseId,
        kind: AlertKind,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            alerts::table
                .filter(alerts::case_id.eq(case_id))
                .filter(alerts::kind.eq(kind))
                .filter(alerts::state.eq(AlertState::Open)),
        ))
        .get_result(conn)
    }

    pub fn episodes_of(conn: &mut DbConnection, case_ids: &[CaseId]) -> QueryResult<Vec<String>> {
        alerts::table
            .filter(alerts::case_id.eq_any(case_ids))
            .select(alerts::episode)
            .load(conn)
    }

    /// Resolves the case's unresolved alerts of these kinds (all kinds when
    /// empty) and returns them.
    pub fn resolve_for_case(
        conn: &mut DbConnection,
        case_id: &CaseId,
        kinds: &[AlertKind],
        now: NaiveDateTime,
    ) -> QueryResult<Vec<Alert>> {
        Self::resolve_for_case_where(conn, case_id, now, |a| {
            kinds.is_empty() || kinds.contains(&a.kind)
        })
    }

    /// Resolves the case's unresolved alerts that `which` picks.
    pub fn resolve_for_case_where(
        conn: &mut DbConnection,
        case_id: &CaseId,
        now: NaiveDateTime,
        which: impl Fn(&Alert) -> bool,
    ) -> QueryResult<Vec<Alert>> {
        // One statement of fixed text (prepared once per connection) reads
        // the case's few open alerts; the update runs only when there are
        // some of the kinds asked for, which is rare.
        let open = alerts::table
            .filter(alerts::case_id.eq(case_id))
            .filter(alerts::state.ne(AlertState::Resolved));
        let unresolved: Vec<Alert> = db::native!(conn, |c| open.load::<Alert>(c))?
            .into_iter()
            .filter(|a| which(a))
            .collect();
        if unresolved.is_empty() {
            return Ok(unresolved);
        }
        let ids: Vec<&AlertId> = unresolved.iter().map(|a| &a.id).collect();
        diesel::update(alerts::table.filter(alerts::id.eq_any(ids)))
            .set((
                alerts::state.eq(AlertState::Resolved),
                alerts::resolved_at.eq(now),
            ))
            .execute(conn)?;
        Ok(unresolved)
    }

    /// Marks an open alert acknowledged by `user`: false when it was not open.
    pub fn acknowledge(
        conn: &mut DbConnection,
        id: &AlertId,
        user: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            alerts::table
                .find(id)
                .filter(alerts::state.eq(AlertState::Open)),
        )
        .set((
            alerts::state.eq(AlertState::Acknowledged),
            alerts::acknowledged_by.eq(user),
            alerts::acknowledged_at.eq(now),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Open, unacknowledged, not yet escalated, raised at or before `raised_before`.
    /// Up to `limit` open alerts raised before `raised_before` and not
    /// escalated yet, oldest first.
    pub fn due_for_escalation(
        conn: &mut DbConnection,
        raised_before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<Alert>> {
        alerts::table
            .filter(alerts::state.eq(AlertState::Open))
            .filter(alerts::escalated_at.is_null())
            .filter(alerts::raised_at.le(raised_before))
            .order(alerts::raised_at.asc())
            .limit(limit)
            .load(conn)
    }

    /// Marks the alert escalated, once: false when another scanner did it first.
    pub fn mark_escalated(
        conn: &mut DbConnection,
        id: &AlertId,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            alerts::table
                .find(id)
                .filter(alerts::escalated_at.is_null())
                .filter(alerts::state.eq(AlertState::Open)),
        )
        .set(alerts::escalated_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    }
}
