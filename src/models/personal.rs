//! The personal fields of a case, each sealed under the case's key, and the
//! keyed hash that finds possible duplicates without plaintext.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::case_key::CaseKeyRow;
use crate::db::DbConnection;
use crate::domain::{CaseCode, CaseId};
use crate::schema::{case_keys, case_personal, cases};

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = case_personal, treat_none_as_null = true)]
pub struct PersonalRow {
    pub case_id: CaseId,
    pub legal_name: Option<Vec<u8>>,
    pub alias: Option<Vec<u8>>,
    pub date_of_birth: Option<Vec<u8>>,
    pub contacts: Option<Vec<u8>>,
    pub notes: Option<Vec<u8>>,
    pub duplicate_key: Option<String>,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

/// A case's key row and personal row, either of which it may lack.
pub type Sealed = (Option<CaseKeyRow>, Option<PersonalRow>);

impl PersonalRow {
    pub fn find(conn: &mut DbConnection, case: &CaseId) -> QueryResult<Option<PersonalRow>> {
        case_personal::table.find(case).first(conn).optional()
    }

    /// The case's key row and personal row, in one query; `None` when there
    /// is no such case.
    pub fn with_key(conn: &mut DbConnection, case: &CaseId) -> QueryResult<Option<Sealed>> {
        cases::table
            .left_join(case_keys::table)
            .left_join(case_personal::table)
            .filter(cases::id.eq(case))
            .select((
                case_keys::all_columns.nullable(),
                case_personal::all_columns.nullable(),
            ))
            .first(conn)
            .optional()
    }

    /// Writes the row: the first version inserts, later ones replace.
    pub fn save(&self, conn: &mut DbConnection) -> QueryResult<()> {
        if self.version == 1 {
            diesel::insert_into(case_personal::table)
                .values(self)
                .execute(conn)?;
        } else {
            diesel::update(case_personal::table.find(&self.case_id))
                .set(self)
                .execute(conn)?;
        }
        Ok(())
    }

    pub fn delete(conn: &mut DbConnection, case: &CaseId) -> QueryResult<usize> {
        diesel::delete(case_personal::table.find(case)).execute(conn)
    }

    /// Other cases whose personal data has the same duplicate key.
    pub fn duplicates(
        conn: &mut DbConnection,
        key: &str,
        except: &CaseId,
    ) -> QueryResult<Vec<(CaseId, CaseCode)>> {
        case_personal::table
            .inner_join(cases::table)
            .filter(case_personal::duplicate_key.eq(key))
            .filter(case_personal::case_id.ne(except))
            .order(cases::id.asc())
            .select((cases::id, cases::code))
            .load(conn)
    }

    /// The sealed aliases of several cases.
    pub fn aliases(
        conn: &mut DbConnection,
        cases: &[CaseId],
    ) -> QueryResult<Vec<(CaseId, Option<Vec<u8>>)>> {
        case_personal::table
            .filter(case_personal::case_id.eq_any(cases))
            .select((case_personal::case_id, case_personal::alias))
            .load(conn)
    }
}
