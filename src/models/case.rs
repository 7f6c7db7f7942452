//! Cases: the row, the new row, the changeset, and their queries. What a
//! change means (events, alerts, emails) lives in `crate::operations`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::domain::stall::{self, StallInput, StallRules};
use crate::domain::{
    Assignee, CaseCode, CaseId, CaseRef, CaseSort, CodePrefix, DomainError, Needs, Outcome,
    RiskLevel, ShelterId, Stage, UserId,
};
use crate::schema::cases;

/// Timestamps are read through [`crate::stamp`] (SQLite's text, fast).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
pub struct Case {
    pub id: CaseId,
    pub code: CaseCode,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub risk_level: RiskLevel,
    pub household_size: i32,
    pub needs: Needs,
    pub origin_region: Option<String>,
    pub destination_country: Option<String>,
    pub shelter_id: Option<ShelterId>,
    pub assigned_to: Option<UserId>,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub stage_entered_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::stamp::MaybeStamp)]
    pub last_contact_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::stamp::MaybeStamp)]
    pub snoozed_until: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::stamp::MaybeStamp)]
    pub stall_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::stamp::Stamp)]
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// When the stall scan next looks at the case: its deadline, until the
    /// scan has alerted for it.
    #[diesel(deserialize_as = crate::stamp::MaybeStamp)]
    pub scan_at: Option<NaiveDateTime>,
}

/// A case as created: in `intake`, at version 1.
#[derive(Debug, Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase<'a> {
    pub id: &'a CaseId,
    pub code: &'a CaseCode,
    pub stage: Stage,
    pub risk_level: RiskLevel,
    pub household_size: i32,
    pub needs: &'a Needs,
    pub origin_region: Option<&'a str>,
    pub destination_country: Option<&'a str>,
    pub assigned_to: Option<&'a UserId>,
    pub stage_entered_at: NaiveDateTime,
    pub stall_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub scan_at: Option<NaiveDateTime>,
}

/// A change to a case, written to the row `id` still at version
/// `expected`: every column that is in no index, and the indexed ones only
/// where they differ from `before` (the row as read). SQLite rewrites the
/// entry of every index whose column an `UPDATE` names, changed or not: a
/// transition between shelters that named them all would dirty the pages of
/// `cases_stage` and `cases_assigned_to` for nothing (9 WAL frames instead
/// of 7). The text varies with what changed, so diesel caches the statement
/// by its text: a handful of shapes, each prepared once a connection.
#[derive(Debug)]
struct SaveCase<'a> {
    case: &'a Case,
    before: &'a Case,
    expected: i32,
}

impl diesel::query_builder::QueryId for SaveCase<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// `, column = ?` for the column of `$row`, its value bound as `$ty`.
macro_rules! set_column {
    ($out:ident, $row:ident, $column:ident, $ty:ty) => {
        $out.push_sql(concat!(", ", stringify!($column), " = "));
        $out.push_bind_param::<$ty, _>(&$row.$column)?;
    };
}

macro_rules! save_case_for {
    ($($backend:ty),+) => {$(
impl diesel::query_builder::QueryFragment<$backend> for SaveCase<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, $backend>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
        let (c, was) = (self.case, self.before);
        out.push_sql("UPDATE cases SET outcome = ");
        out.push_bind_param::<Nullable<Text>, _>(&c.outcome)?;
        set_column!(out, c, risk_level, Text);
        set_column!(out, c, needs, Text);
        set_column!(out, c, origin_region, Nullable<Text>);
        set_column!(out, c, destination_country, Nullable<Text>);
        set_column!(out, c, stage_entered_at, Timestamp);
        set_column!(out, c, last_contact_at, Nullable<Timestamp>);
        set_column!(out, c, snoozed_until, Nullable<Timestamp>);
        set_column!(out, c, updated_at, Timestamp);
        set_column!(out, c, version, Integer);
        // The indexed columns, where they changed.
        if c.stage != was.stage {
            set_column!(out, c, stage, Text);
        }
        if c.shelter_id != was.shelter_id {
            set_column!(out, c, shelter_id, Nullable<Text>);
        }
        if c.household_size != was.household_size {
            set_column!(out, c, household_size, Integer);
        }
        if c.assigned_to != was.assigned_to {
            set_column!(out, c, assigned_to, Nullable<Text>);
        }
        if c.stall_at != was.stall_at {
            set_column!(out, c, stall_at, Nullable<Timestamp>);
        }
        if c.scan_at != was.scan_at {
            set_column!(out, c, scan_at, Nullable<Timestamp>);
        }
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(&c.id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<Integer, _>(&self.expected)?;
        Ok(())
    }
}
    )+};
}
save_case_for!(diesel::sqlite::Sqlite, diesel::pg::Pg);

impl<Conn> RunQueryDsl<Conn> for SaveCase<'_> {}

/// Filters of `GET /cases`, as the query string names them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub stage: Option<Stage>,
    pub shelter_id: Option<ShelterId>,
    /// A user's id, or `me`.
    pub assigned_to: Option<Assignee>,
    pub risk_level: Option<RiskLevel>,
    pub stalled: Option<bool>,
    /// The start of a code, with or without `EV-` (`7K3` finds `EV-7K3…`).
    #[serde(rename = "q")]
    pub code_prefix: Option<CodePrefix>,
    /// The order: `stall_at` (soonest deadline first), `-stall_at`,
    /// `created_at`, `-updated_at` (latest change first); by default the
    /// oldest case first.
    pub sort: Option<CaseSort>,
    /// `true`: the answer carries `total`, how many cases match in all.
    pub count: Option<bool>,
    /// `true`: cases with a leg on the way past its `arrive_by`.
    pub in_transit_overdue: Option<bool>,
}

impl CaseFilter {
    /// `assigned_to=me` as the caller's id.
    pub fn for_caller(mut self, me: &UserId) -> Self {
        if self.assigned_to == Some(Assignee::Me) {
            self.assigned_to = Some(Assignee::User(me.clone()));
        }
        self
    }
}

/// Where a page of a sorted list ends: the order, the last case's value of
/// the sort column (nanoseconds since 1970; none for a case without one)
/// and its id, written `stall_at~1764921600000000000~<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortCursor {
    pub sort: CaseSort,
    pub value: Option<NaiveDateTime>,
    pub id: CaseId,
}

impl SortCursor {
    pub fn of(sort: CaseSort, case: &Case) -> Self {
        let value = match sort {
            CaseSort::StallAt | CaseSort::StallAtDesc => case.stall_at,
            CaseSort::CreatedAt => Some(case.created_at),
            CaseSort::UpdatedAtDesc => Some(case.updated_at),
        };
        Self {
            sort,
            value,
            id: case.id.clone(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('~');
        let (sort, value, id) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let value = match value {
            "" => None,
            nanos => {
                Some(chrono::DateTime::from_timestamp_nanos(nanos.parse::<i64>().ok()?).naive_utc())
            }
        };
        Some(Self {
            sort: CaseSort::parse(sort)?,
            value,
            id: CaseId::parse(id)?,
        })
    }
}

impl std::fmt::Display for SortCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nanos = self
            .value
            .and_then(|v| v.and_utc().timestamp_nanos_opt())
            .map(|n| n.to_string())
            .unwrap_or_default();
        write!(f, "{}~{nanos}~{}", self.sort, self.id)
    }
}

/// The cases `$filter` admits at `$now`, as a boxed query of the backend
/// at hand (inside `db::native!`): one place for the list, its count and
/// the export.
macro_rules! filtered {
    ($filter:expr, $now:expr) => {{
        let (filter, now): (&CaseFilter, NaiveDateTime) = ($filter, $now);
        let mut query = cases::table.into_boxed();
        if let Some(stage) = filter.stage {
            query = query.filter(cases::stage.eq(stage));
        }
        if let Some(shelter) = &filter.shelter_id {
            query = query.filter(cases::shelter_id.eq(shelter.clone()));
        }
        match &filter.assigned_to {
            Some(Assignee::User(user)) => query = query.filter(cases::assigned_to.eq(user.clone())),
            // Never left unresolved by a handler; matches nobody if it were.
            Some(Assignee::Me) => query = query.filter(cases::id.ne(cases::id)),
            None => {}
        }
        if let Some(risk) = filter.risk_level {
            query = query.filter(cases::risk_level.eq(risk));
        }
        match filter.stalled {
            Some(true) => query = query.filter(cases::stall_at.le(now)),
            Some(false) => {
                query = query.filter(cases::stall_at.is_null().or(cases::stall_at.gt(now)))
            }
            None => {}
        }
        if let Some(overdue) = filter.in_transit_overdue {
            let late = crate::schema::case_legs::table
                .filter(
                    crate::schema::case_legs::status
                        .eq(crate::domain::journey::LegStatus::Departed),
                )
                .filter(crate::schema::case_legs::arrive_by.le(now))
                .select(crate::schema::case_legs::case_id);
            query = match overdue {
                true => query.filter(cases::id.eq_any(late)),
                false => query.filter(cases::id.ne_all(late)),
            };
        }
        if let Some(prefix) = &filter.code_prefix {
            // A prefix holds only code characters, so it has no LIKE wildcards.
            query = query.filter(cases::code.like(format!("{}%", prefix.as_str())));
        }
        query
    }};
}

impl NewCase<'_> {
    /// Inserts the case in a savepoint; a clash of codes is a unique
    /// violation the caller may answer by drawing another code.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<Case> {
        conn.transaction(|c| {
            diesel::insert_into(cases::table)
                .values(self)
                .returning(cases::all_columns)
                .get_result(c)
        })
    }
}

impl Case {
    pub fn is_stalled(&self, now: NaiveDateTime) -> bool {
        self.stall_at.is_some_and(|at| at <= now)
    }

    /// What the stall deadline depends on.
    pub fn stall_input(&self) -> StallInput {
        StallInput {
            stage: self.stage,
            stage_entered_at: self.stage_entered_at,
            last_contact_at: self.last_contact_at,
            snoozed_until: self.snoozed_until,
        }
    }

    /// The id of the case `case` names: an id as it is (whoever uses it
    /// finds whether it exists), a code by its unique index. An unknown
    /// code is `NotFound`.
    pub fn resolve(conn: &mut DbConnection, case: &CaseRef) -> QueryResult<CaseId> {
        match case {
            CaseRef::Id(id) => Ok(id.clone()),
            CaseRef::Code(code) => cases::table
                .filter(cases::code.eq(code))
                .select(cases::id)
                .first(conn),
        }
    }

    /// The case `case` names, by id or by code.
    pub fn find_ref(conn: &mut DbConnection, case: &CaseRef) -> QueryResult<Case> {
        match case {
            CaseRef::Id(id) => Self::find(conn, id),
            CaseRef::Code(code) => {
                db::native!(conn, |c| cases::table.filter(cases::code.eq(code)).first(c))
            }
        }
    }

    pub fn find(conn: &mut DbConnection, id: &CaseId) -> QueryResult<Case> {
        db::native!(conn, |c| cases::table.find(id).first(c))
    }

    /// The case, locked for the rest of the writing transaction.
    pub fn get_locked(conn: &mut DbConnection, id: &CaseId) -> QueryResult<Case> {
        db::get_locked!(conn, cases::table.find(id))
    }

    /// The case with this code placed at this shelter now, locked; any other
    /// (placed elsewhere, moved on, or no such code) is `NotFound`.
    pub fn get_placed_locked(
        conn: &mut DbConnection,
        code: &CaseCode,
        shelter: &ShelterId,
    ) -> QueryResult<Case> {
        db::get_locked!(
            conn,
            cases::table
                .filter(cases::code.eq(code))
                .filter(cases::shelter_id.eq(shelter))
                .filter(cases::stage.eq(Stage::SafeHouse))
        )
    }

    /// Up to `limit` cases the stall scan has to look at by `now`, oldest
    /// deadline first (index on `scan_at`): cases past their deadline that
    /// the scan has not alerted for yet.
    pub fn due_ids(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<CaseId>> {
        cases::table
            .filter(cases::scan_at.le(now))
            .order(cases::scan_at.asc())
            .select(cases::id)
            .limit(limit)
            .load(conn)
    }

    /// Records that the scan looked at the case: `None` once alerted for its
    /// deadline, else when to look again.
    pub fn set_scan_at(
        conn: &mut DbConnection,
        id: &CaseId,
        at: Option<NaiveDateTime>,
    ) -> QueryResult<()> {
        diesel::update(cases::table.find(id))
            .set(cases::scan_at.eq(at))
            .execute(conn)
            .map(drop)
    }

    pub fn list(
        conn: &mut DbConnection,
        filter: &CaseFilter,
        now: NaiveDateTime,
        page: &PageRequest,
    ) -> QueryResult<Vec<Case>> {
        let Some(sort) = filter.sort else {
            return db::native!(conn, |c| page
                .apply(filtered!(filter, now), cases::id)
                .load(c));
        };
        let after = match page.after.as_deref().map(SortCursor::parse) {
            None => None,
            Some(Some(cursor)) if cursor.sort == sort => Some(cursor),
            // The handler refuses a cursor of another order first.
            Some(_) => return Ok(Vec::new()),
        };
        db::native!(conn, |c| {
            let query = filtered!(filter, now).limit(page.limit + 1);
            let query = match sort {
                CaseSort::StallAt => query
                    .order_by(cases::stall_at.is_null())
                    .then_order_by(cases::stall_at.asc())
                    .then_order_by(cases::id.asc()),
                CaseSort::StallAtDesc => query
                    .order_by(cases::stall_at.is_null())
                    .then_order_by(cases::stall_at.desc())
                    .then_order_by(cases::id.asc()),
                CaseSort::CreatedAt => query
                    .order_by(cases::created_at.asc())
                    .then_order_by(cases::id.asc()),
                CaseSort::UpdatedAtDesc => query
                    .order_by(cases::updated_at.desc())
                    .then_order_by(cases::id.asc()),
            };
            let query = match after {
                None => query,
                // A deadline-less case comes last: after one, only others like it.
                Some(SortCursor {
                    value: None, id, ..
                }) => query.filter(cases::stall_at.is_null().and(cases::id.gt(id))),
                Some(SortCursor {
                    value: Some(v), id, ..
                }) => match sort {
                    CaseSort::StallAt => query.filter(
                        cases::stall_at
                            .gt(v)
                            .or(cases::stall_at.eq(v).and(cases::id.gt(id)))
                            .or(cases::stall_at.is_null()),
                    ),
                    CaseSort::StallAtDesc => query.filter(
                        cases::stall_at
                            .lt(v)
                            .or(cases::stall_at.eq(v).and(cases::id.gt(id)))
                            .or(cases::stall_at.is_null()),
                    ),
                    CaseSort::CreatedAt => query.filter(
                        cases::created_at
                            .gt(v)
                            .or(cases::created_at.eq(v).and(cases::id.gt(id))),
                    ),
                    CaseSort::UpdatedAtDesc => query.filter(
                        cases::updated_at
                            .lt(v)
                            .or(cases::updated_at.eq(v).and(cases::id.gt(id))),
                    ),
                },
            };
            query.load(c)
        })
    }

    /// How many cases `filter` admits at `now`, all pages together.
    pub fn count_matching(
        conn: &mut DbConnection,
        filter: &CaseFilter,
        now: NaiveDateTime,
    ) -> QueryResult<i64> {
        db::native!(conn, |c| filtered!(filter, now).count().get_result(c))
    }

    /// The cursor that follows `case` in a page ordered as `filter` says.
    pub fn cursor(&self, filter: &CaseFilter) -> String {
        match filter.sort {
            None => self.id.to_string(),
            Some(sort) => SortCursor::of(sort, self).to_string(),
        }
    }

    /// The cases placed at a shelter now, by code.
    pub fn list_placed(
        conn: &mut DbConnection,
        shelter: &ShelterId,
        page: &PageRequest,
    ) -> QueryResult<Vec<Case>> {
        page.apply(cases::table.into_boxed(), cases::code)
            .filter(cases::shelter_id.eq(shelter.clone()))
            .filter(cases::stage.eq(Stage::SafeHouse))
            .load(conn)
    }

    /// Recomputes, in one statement, the stall deadline of every case in
    /// `stage` that is not snoozed, for limits of `stay` in the stage and
    /// `silence` without contact (as `stall::deadline` does; the index on
    /// `stage` finds them). How many cases it set.
    pub fn recompute_stall_at(
        conn: &mut DbConnection,
        stage: Stage,
        stay: chrono::Duration,
        silence: Option<chrono::Duration>,
    ) -> QueryResult<usize> {
        use diesel::sql_types::{BigInt, Text};
        let (stay, silence) = (stay.num_seconds(), silence.map(|s| s.num_seconds()));
        let heard = "max(stage_entered_at, COALESCE(last_contact_at, stage_entered_at))";
        match conn {
            DbConnection::Sqlite(lite) => {
                // Timestamps are text: the whole seconds move, the fraction
                // stays as written, so the text is what diesel would write.
                let plus = |t: &str| {
                    format!(
                        "strftime('%Y-%m-%d %H:%M:%S', CAST(strftime('%s', substr({t}, 1, 19)) \
                         AS INTEGER) + ?, 'unixepoch') || substr({t}, 20)"
                    )
                };
                let deadline = match silence {
                    Some(_) => format!("min({}, {})", plus("stage_entered_at"), plus(heard)),
                    None => plus("stage_entered_at"),
                };
                let sql = format!(
                    "UPDATE cases SET stall_at = {deadline} \
                     WHERE stage = ? AND snoozed_until IS NULL"
                );
                let query = diesel::sql_query(sql).bind::<BigInt, _>(stay);
                match silence {
                    Some(silence) => query
                        .bind::<BigInt, _>(silence)
                        .bind::<Text, _>(stage.as_str())
                        .execute(lite),
                    None => query.bind::<Text, _>(stage.as_str()).execute(lite),
                }
            }
            DbConnection::Postgresql(pg) => {
                let heard = heard.replace("max(", "GREATEST(");
                let sql = format!(
                    "UPDATE cases SET stall_at = LEAST(stage_entered_at + $1 * INTERVAL '1 second', \
                     {heard} + COALESCE($2, $1) * INTERVAL '1 second') \
                     WHERE stage = $3 AND snoozed_until IS NULL"
                );
                diesel::sql_query(sql)
                    .bind::<BigInt, _>(stay)
                    .bind::<diesel::sql_types::Nullable<BigInt>, _>(silence)
                    .bind::<Text, _>(stage.as_str())
                    .execute(pg)
            }
        }
        .and_then(|updated| {
            // New deadlines: the scan looks at each when it comes.
            diesel::update(
                cases::table
                    .filter(cases::stage.eq(stage))
                    .filter(cases::snoozed_until.is_null()),
            )
            .set(cases::scan_at.eq(cases::stall_at))
            .execute(conn)?;
            Ok(updated)
        })
    }

    /// How many cases there are.
    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        cases::table.count().get_result(conn)
    }

    /// Writes the changed case back: bumps `version`, stamps `updated_at`
    /// and recomputes the stall deadline. The row must be locked.
    /// Writes the changes made to the case since it was read as `before`
    /// (under its row lock): a new version, the deadline recomputed.
    pub fn save(
        &mut self,
        before: &Case,
        conn: &mut DbConnection,
        now: NaiveDateTime,
        rules: &StallRules,
    ) -> Result<(), DomainError> {
        let expected = before.version;
        self.version = expected + 1;
        self.updated_at = now;
        self.stall_at = stall::deadline(rules, self.stall_input());
        // A new deadline: the scan looks again when it comes.
        self.scan_at = self.stall_at;
        let save = SaveCase {
            case: self,
            before,
            expected,
        };
        let written = db::native!(conn, |c| save.execute(c))?;
        if written == 0 {
            return Err(DomainError::Internal(
                "case changed under its row lock".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Needs;

    fn placed() -> Case {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a date");
        Case {
            id: CaseId::new(),
            code: CaseCode::generate(),
            stage: Stage::SafeHouse,
            outcome: None,
            risk_level: RiskLevel::High,
            household_size: 2,
            needs: Needs::default(),
            origin_region: None,
            destination_country: None,
            shelter_id: Some(ShelterId::new()),
            assigned_to: Some(UserId::new()),
            stage_entered_at: at,
            last_contact_at: None,
            snoozed_until: None,
            stall_at: Some(at + chrono::Duration::days(30)),
            created_at: at,
            updated_at: at,
            version: 3,
            scan_at: Some(at + chrono::Duration::days(30)),
        }
    }

    /// The columns a save names after `SET`.
    fn set_columns(before: &Case, after: &Case) -> Vec<String> {
        let save = SaveCase {
            case: after,
            before,
            expected: before.version,
        };
        let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&save).to_string();
        let set = sql
            .split(" WHERE ")
            .next()
            .and_then(|s| s.strip_prefix("UPDATE cases SET "))
            .expect("an UPDATE of cases");
        set.split(", ")
            .filter_map(|part| part.split(" = ").next())
            .map(str::to_string)
            .collect()
    }

    const UNINDEXED: [&str; 10] = [
        "outcome",
        "risk_level",
        "needs",
        "origin_region",
        "destination_country",
        "stage_entered_at",
        "last_contact_at",
        "snoozed_until",
        "updated_at",
        "version",
    ];

    #[test]
    fn a_save_names_the_indexed_columns_only_where_they_changed() {
        let before = placed();
        // A move to another shelter: same stage, same assignee.
        let mut moved = before.clone();
        moved.shelter_id = Some(ShelterId::new());
        moved.stall_at = before.stall_at.map(|t| t + chrono::Duration::days(1));
        moved.scan_at = moved.stall_at;
        let mut expected: Vec<&str> = UNINDEXED.to_vec();
        expected.extend(["shelter_id", "stall_at", "scan_at"]);
        assert_eq!(set_columns(&before, &moved), expected);

        // Nothing indexed changed: the unindexed columns alone.
        assert_eq!(set_columns(&before, &before), UNINDEXED.to_vec());

        // Everything indexed changed: every column.
        let mut all = before.clone();
        all.stage = Stage::Transit;
        all.shelter_id = None;
        all.household_size = 3;
        all.assigned_to = None;
        all.stall_at = None;
        all.scan_at = None;
        let mut expected: Vec<&str> = UNINDEXED.to_vec();
        expected.extend([
            "stage",
            "shelter_id",
            "household_size",
            "assigned_to",
            "stall_at",
            "scan_at",
        ]);
        assert_eq!(set_columns(&before, &all), expected);
    }
}
