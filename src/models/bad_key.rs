//! Unknown or malformed API keys by client address (a hash of it): counted
//! in the database on PostgreSQL, so every instance sees them all.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::bad_key_attempts;

/// Records a bad key from `address` and counts those of the last minute;
/// on SQLite (one instance) `None`, and the caller counts in memory.
pub fn record(
    conn: &mut DbConnection,
    address: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    if matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(None);
    }
    let client = super::login_failure::client_key(address);
    diesel::delete(
        bad_key_attempts::table.filter(bad_key_attempts::at.lt(now - Duration::hours(1))),
    )
    .execute(conn)?;
    diesel::insert_into(bad_key_attempts::table)
        .values((
            bad_key_attempts::id.eq(super::new_id()),
            bad_key_attempts::client_key.eq(&client),
            bad_key_attempts::at.eq(now),
        ))
        .execute(conn)?;
    bad_key_attempts::table
        .filter(bad_key_attempts::client_key.eq(&client))
        .filter(bad_key_attempts::at.gt(now - Duration::minutes(1)))
        .count()
        .get_result(conn)
        .map(Some)
}
