//! One row per weekly status round: the unique week makes it once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::schema::digest_runs;

/// Claims the round of `week`: false when it was claimed before (by this or
/// another instance).
pub fn claim(conn: &mut DbConnection, week: &str, now: NaiveDateTime) -> QueryResult<bool> {
    // Most scans of a week find the round done: answer that without a
    // failing insert.
    let done: i64 = digest_runs::table
        .filter(digest_runs::week.eq(week))
        .count()
        .get_result(conn)?;
    if done > 0 {
        return Ok(false);
    }
    db::insert_once(conn, |c| {
        diesel::insert_into(digest_runs::table)
            .values((digest_runs::week.eq(week), digest_runs::created_at.eq(now)))
            .execute(c)
    })
}
