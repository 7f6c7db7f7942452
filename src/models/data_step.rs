//! Data steps that need the master key (SQL cannot do them): each runs once,
//! after the migrations, and is recorded here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::data_steps;

pub fn is_done(conn: &mut DbConnection, name: &str) -> QueryResult<bool> {
    let found: i64 = data_steps::table
        .filter(data_steps::name.eq(name))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

pub fn mark_done(conn: &mut DbConnection, name: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(data_steps::table)
        .values((data_steps::name.eq(name), data_steps::done_at.eq(now)))
        .execute(conn)
        .map(drop)
}
