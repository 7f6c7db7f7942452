//! Many rows at once, for `corridor demo`: multi-row INSERTs on each
//! backend's own connection (the connection enum has none), in chunks that
//! stay under SQLite's 32,766 bound variables per statement.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::models::alert::Alert;
use crate::models::case::Case;
use crate::models::case_key::CaseKeyRow;
use crate::models::consent::Consent;
use crate::models::document::Document;
use crate::models::event::Event;
use crate::models::expense::Expense;
use crate::models::leg::Leg;
use crate::models::personal::PersonalRow;
use crate::models::shelter::Shelter;
use crate::schema::case_keys;
use crate::schema::case_legs;
use crate::schema::{alerts, case_consents, case_documents, case_events, case_expenses};
use crate::schema::{case_personal, cases, shelters};

/// Bound variables one statement may use, with room to spare.
const VARIABLES: usize = 30_000;

macro_rules! bulk_insert {
    ($(#[$meta:meta])* $name:ident, $row:ty, $table:path, $columns:literal) => {
        $(#[$meta])*
        pub fn $name(conn: &mut DbConnection, rows: &[$row]) -> QueryResult<()> {
            for chunk in rows.chunks(VARIABLES / $columns) {
                match conn {
                    DbConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                    DbConnection::Postgresql(c) => {
                        diesel::insert_into($table).values(chunk).execute(c)?
                    }
                };
            }
            Ok(())
        }
    };
}

bulk_insert!(insert_shelters, Shelter, shelters::table, 10);
bulk_insert!(insert_cases, Case, cases::table, 18);
bulk_insert!(insert_events, Event, case_events::table, 11);
bulk_insert!(insert_case_keys, CaseKeyRow, case_keys::table, 5);
bulk_insert!(insert_personal, PersonalRow, case_personal::table, 9);
bulk_insert!(insert_alerts, Alert, alerts::table, 12);
bulk_insert!(insert_documents, Document, case_documents::table, 15);
bulk_insert!(insert_legs, Leg, case_legs::table, 19);
bulk_insert!(insert_expenses, Expense, case_expenses::table, 9);
bulk_insert!(insert_consents, Consent, case_consents::table, 7);
