//! A case's documents, as stored: the number sealed under the case's key,
//! and the next moment the stall scan must look at each (`alert_at`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::domain::document::{DocumentDates, DocumentKind, DocumentStatus, Holder};
use crate::domain::{CaseId, DocumentId};
use crate::schema::case_documents;

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset, Selectable)]
#[diesel(table_name = case_documents, treat_none_as_null = true)]
pub struct Document {
    pub id: DocumentId,
    pub case_id: CaseId,
    pub kind: DocumentKind,
    pub country: String,
    pub status: DocumentStatus,
    pub applied_on: Option<NaiveDate>,
    pub appointment_at: Option<NaiveDateTime>,
    pub expected_by: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub held_by: Option<Holder>,
    /// The number, sealed under the case's key (`document:<id>:number`).
    pub number_sealed: Option<Vec<u8>>,
    pub alert_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Document {
    /// What its deadlines depend on.
    pub fn dates(&self) -> DocumentDates {
        DocumentDates {
            status: self.status,
            expected_by: self.expected_by,
            appointment_at: self.appointment_at,
            valid_until: self.valid_until,
        }
    }

    /// What its number is sealed as.
    pub fn number_purpose(id: &DocumentId) -> String {
        format!("document:{id}:number")
    }

    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(case_documents::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    /// Writes every column of `self` back (the caller read it locked).
    pub fn save(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::update(case_documents::table.find(&self.id))
            .set(self)
            .execute(conn)
            .map(drop)
    }

    /// The case's document `id`, locked for the writing transaction; a
    /// document of another case is not found.
    pub fn get_locked(
        conn: &mut DbConnection,
        case: &CaseId,
        id: &DocumentId,
    ) -> QueryResult<Document> {
        db::get_locked!(
            conn,
            case_documents::table
                .filter(case_documents::case_id.eq(case))
                .filter(case_documents::id.eq(id))
        )
    }

    pub fn find(conn: &mut DbConnection, case: &CaseId, id: &DocumentId) -> QueryResult<Document> {
        case_documents::table
            .filter(case_documents::case_id.eq(case))
            .filter(case_documents::id.eq(id))
            .first(conn)
    }

    /// A page of the case's documents, oldest first.
    pub fn list_for_case(
        conn: &mut DbConnection,
        case: &CaseId,
        page: &PageRequest,
    ) -> QueryResult<Vec<Document>> {
        page.apply(case_documents::table.into_boxed(), case_documents::id)
            .filter(case_documents::case_id.eq(case.clone()))
            .load(conn)
    }

    /// Documents the scan must look at now: an index range, not a scan of
    /// every document.
    pub fn due(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<DocumentId>> {
        case_documents::table
            .filter(case_documents::alert_at.le(now))
            .order(case_documents::alert_at.asc())
            .select(case_documents::id)
            .limit(limit)
            .load(conn)
    }

    /// The document `id`, locked, whatever its case.
    pub fn get_locked_by_id(conn: &mut DbConnection, id: &DocumentId) -> QueryResult<Document> {
        db::get_locked!(conn, case_documents::table.find(id))
    }

    pub fn set_alert_at(
        conn: &mut DbConnection,
        id: &DocumentId,
        at: Option<NaiveDateTime>,
    ) -> QueryResult<()> {
        diesel::update(case_documents::table.find(id))
            .set(case_documents::alert_at.eq(at))
            .execute(conn)
            .map(drop)
    }

    /// A shred: every number of the case is gone.
    pub fn forget_numbers(conn: &mut DbConnection, case: &CaseId) -> QueryResult<usize> {
        diesel::update(case_documents::table.filter(case_documents::case_id.eq(case)))
            .set(case_documents::number_sealed.eq(None::<Vec<u8>>))
            .execute(conn)
    }
}
