//! The one vault row: the check value that recognises the master key, and
//! the wrapped key of the duplicate check.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::schema::vault;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = vault)]
pub struct VaultRow {
    pub id: i32,
    pub check_value: Vec<u8>,
    pub mac_key: Vec<u8>,
    pub created_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
}

impl VaultRow {
    pub fn new(check_value: Vec<u8>, mac_key: Vec<u8>, now: NaiveDateTime) -> Self {
        Self {
            id: 1,
            check_value,
            mac_key,
            created_at: now,
            rotated_at: None,
        }
    }

    /// The row, locked for the rest of the writing transaction.
    pub fn get_locked(conn: &mut DbConnection) -> QueryResult<Option<VaultRow>> {
        db::get_locked!(conn, vault::table.find(1)).optional()
    }

    /// Inserts the row unless another process did first; true when inserted.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<bool> {
        db::insert_once(conn, |c| {
            diesel::insert_into(vault::table).values(self).execute(c)
        })
    }

    /// Stores the check value that says the audit chain is keyed.
    pub fn mark_keyed(conn: &mut DbConnection, check_value: &[u8]) -> QueryResult<()> {
        diesel::update(vault::table.find(1))
            .set(vault::check_value.eq(check_value))
            .execute(conn)
            .map(drop)
    }

    /// Stores what a new master key wraps.
    pub fn rekey(
        conn: &mut DbConnection,
        check_value: &[u8],
        mac_key: &[u8],
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(vault::table.find(1))
            .set((
                vault::check_value.eq(check_value),
                vault::mac_key.eq(mac_key),
                vault::rotated_at.eq(now),
            ))
            .execute(conn)
    }
}
