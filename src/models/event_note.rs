//! The free text of timeline events (notes, snooze reasons), sealed under
//! the case's key, in a table of its own: the timeline is append-only, and
//! these are the rows a shred deletes.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::CaseId;
use crate::schema::event_notes;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = event_notes)]
pub struct EventNote {
    pub event_id: String,
    pub case_id: CaseId,
    pub sealed: Vec<u8>,
}

impl EventNote {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(event_notes::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    /// The notes of these events (those that have one).
    pub fn of_events(conn: &mut DbConnection, events: &[String]) -> QueryResult<Vec<EventNote>> {
        event_notes::table
            .filter(event_notes::event_id.eq_any(events))
            .load(conn)
    }

    pub fn delete_for_case(conn: &mut DbConnection, case: &CaseId) -> QueryResult<usize> {
        diesel::delete(event_notes::table.filter(event_notes::case_id.eq(case))).execute(conn)
    }
}
