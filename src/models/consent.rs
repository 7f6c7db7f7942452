//! What a person agreed to: a history per case, the latest per scope counts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConnection;
use crate::domain::{CaseId, ConsentId, ConsentMethod, ConsentScope};
use crate::schema::case_consents;

#[derive(Debug, Clone, Queryable, Insertable, Selectable)]
#[diesel(table_name = case_consents)]
pub struct Consent {
    pub id: ConsentId,
    pub case_id: CaseId,
    pub scope: ConsentScope,
    pub given: bool,
    pub method: ConsentMethod,
    pub recorded_by: Option<String>,
    pub recorded_at: NaiveDateTime,
}

impl Consent {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(case_consents::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    /// The case's history, oldest first.
    pub fn list_for_case(
        conn: &mut DbConnection,
        case: &CaseId,
        page: &PageRequest,
    ) -> QueryResult<Vec<Consent>> {
        page.apply(case_consents::table.into_boxed(), case_consents::id)
            .filter(case_consents::case_id.eq(case.clone()))
            .load(conn)
    }

    /// Which of `cases` have `scope` given now (their latest record says so).
    pub fn given_now(
        conn: &mut DbConnection,
        cases: &[CaseId],
        scope: ConsentScope,
    ) -> QueryResult<Vec<CaseId>> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<(CaseId, bool)> = case_consents::table
            .filter(case_consents::case_id.eq_any(cases))
            .filter(case_consents::scope.eq(scope))
            .order(case_consents::id.asc())
            .select((case_consents::case_id, case_consents::given))
            .load(conn)?;
        // Ids are time-ordered: the last one read of a case is its latest.
        let latest: HashMap<CaseId, bool> = records.into_iter().collect();
        Ok(latest
            .into_iter()
            .filter_map(|(case, given)| given.then_some(case))
            .collect())
    }
}
