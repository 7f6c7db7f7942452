//! Money spent on cases, as stored: the note sealed under the case's key,
//! the amount also in ten-thousandths for sums.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConnection;
use crate::domain::journey::ExpenseCategory;
use crate::domain::{CaseCode, CaseId, ExpenseId};
use crate::schema::{case_expenses, cases};

#[derive(Debug, Clone, Queryable, Insertable, Selectable)]
#[diesel(table_name = case_expenses)]
pub struct Expense {
    pub id: ExpenseId,
    pub case_id: CaseId,
    pub category: ExpenseCategory,
    pub amount: String,
    pub currency: String,
    pub amount_e4: i64,
    pub spent_on: NaiveDate,
    /// The note, sealed under the case's key (`expense:<id>:note`).
    pub note_sealed: Option<Vec<u8>>,
    pub created_at: NaiveDateTime,
}

/// Spending on one day, in one category and currency.
#[derive(Debug, Clone, Queryable)]
pub struct DaySpent {
    pub day: NaiveDate,
    pub category: ExpenseCategory,
    pub currency: String,
    pub amount_e4: i64,
}

impl Expense {
    pub fn note_purpose(id: &ExpenseId) -> String {
        format!("expense:{id}:note")
    }

    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(case_expenses::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn find(conn: &mut DbConnection, case: &CaseId, id: &ExpenseId) -> QueryResult<Expense> {
        case_expenses::table
            .filter(case_expenses::case_id.eq(case))
            .filter(case_expenses::id.eq(id))
            .first(conn)
    }

    pub fn list_for_case(
        conn: &mut DbConnection,
        case: &CaseId,
        page: &PageRequest,
    ) -> QueryResult<Vec<Expense>> {
        page.apply(case_expenses::table.into_boxed(), case_expenses::id)
            .filter(case_expenses::case_id.eq(case.clone()))
            .load(conn)
    }

    /// Expenses spent from `from` to `to` (both included), by day then id,
    /// after `after` (a batch of an export), with their case's code.
    pub fn between(
        conn: &mut DbConnection,
        from: NaiveDate,
        to: NaiveDate,
        after: Option<&ExpenseId>,
        limit: i64,
    ) -> QueryResult<Vec<(Expense, CaseCode)>> {
        let mut query = case_expenses::table
            .inner_join(cases::table)
            .filter(case_expenses::spent_on.ge(from))
            .filter(case_expenses::spent_on.le(to))
            .order(case_expenses::id.asc())
            .select((Expense::as_select(), cases::code))
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(case_expenses::id.gt(after.clone()));
        }
        query.load(conn)
    }

    /// What was spent since `from`, one row an expense (summed by the
    /// caller: SQL's SUM of a BIGINT is NUMERIC on PostgreSQL).
    pub fn spent_since(conn: &mut DbConnection, from: NaiveDate) -> QueryResult<Vec<DaySpent>> {
        case_expenses::table
            .filter(case_expenses::spent_on.ge(from))
            .select((
                case_expenses::spent_on,
                case_expenses::category,
                case_expenses::currency,
                case_expenses::amount_e4,
            ))
            .load(conn)
    }

    /// A shred: every note of the case is gone.
    pub fn forget_notes(conn: &mut DbConnection, case: &CaseId) -> QueryResult<usize> {
        diesel::update(case_expenses::table.filter(case_expenses::case_id.eq(case)))
            .set(case_expenses::note_sealed.eq(None::<Vec<u8>>))
            .execute(conn)
    }
}
