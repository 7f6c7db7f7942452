//! Each case's data key, stored only wrapped under the master key. A
//! shredded case keeps its row with the key gone (`wrapped_key` NULL).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::domain::{CaseId, Stage};
use crate::schema::{case_keys, cases};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = case_keys)]
pub struct CaseKeyRow {
    pub case_id: CaseId,
    pub wrapped_key: Option<Vec<u8>>,
    pub key_version: i32,
    pub created_at: NaiveDateTime,
    pub shredded_at: Option<NaiveDateTime>,
}

impl CaseKeyRow {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(case_keys::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    /// The case's key row, locked for the rest of the writing transaction.
    pub fn get_locked(conn: &mut DbConnection, case: &CaseId) -> QueryResult<Option<CaseKeyRow>> {
        db::get_locked!(conn, case_keys::table.find(case)).optional()
    }

    pub fn find(conn: &mut DbConnection, case: &CaseId) -> QueryResult<Option<CaseKeyRow>> {
        case_keys::table.find(case).first(conn).optional()
    }

    /// The key rows of several cases.
    pub fn of_cases(conn: &mut DbConnection, cases: &[CaseId]) -> QueryResult<Vec<CaseKeyRow>> {
        case_keys::table
            .filter(case_keys::case_id.eq_any(cases))
            .load(conn)
    }

    /// Destroys the case's key for good: the row stays, marked shredded, so
    /// the case answers 410 from then on. A case without a key row gets one.
    pub fn shred(conn: &mut DbConnection, case: &CaseId, now: NaiveDateTime) -> QueryResult<()> {
        let updated = diesel::update(case_keys::table.find(case))
            .set((
                case_keys::wrapped_key.eq(None::<Vec<u8>>),
                case_keys::shredded_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            CaseKeyRow {
                case_id: case.clone(),
                wrapped_key: None,
                key_version: 1,
                created_at: now,
                shredded_at: Some(now),
            }
            .insert(conn)?;
        }
        Ok(())
    }

    /// Live keys after `after`, by case id, for re-wrapping under a new
    /// master key.
    pub fn live_after(
        conn: &mut DbConnection,
        after: Option<&CaseId>,
        limit: i64,
    ) -> QueryResult<Vec<CaseKeyRow>> {
        let mut query = case_keys::table
            .filter(case_keys::wrapped_key.is_not_null())
            .order(case_keys::case_id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(case_keys::case_id.gt(after.clone()));
        }
        query.load(conn)
    }

    pub fn rewrap(conn: &mut DbConnection, case: &CaseId, wrapped: &[u8]) -> QueryResult<usize> {
        diesel::update(case_keys::table.find(case))
            .set(case_keys::wrapped_key.eq(wrapped))
            .execute(conn)
    }

    /// Cases closed at or before `closed_before` and not shredded yet.
    pub fn due_for_retention(
        conn: &mut DbConnection,
        closed_before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<CaseId>> {
        cases::table
            .left_join(case_keys::table)
            .filter(cases::stage.eq(Stage::Closed))
            .filter(cases::stage_entered_at.le(closed_before))
            .filter(case_keys::shredded_at.is_null())
            .order(cases::id.asc())
            .select(cases::id)
            .limit(limit)
            .load(conn)
    }
}
