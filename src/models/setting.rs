//! Values the service keeps between starts, by name.

use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::schema::settings;

/// The stall limits last applied to the stored deadlines.
pub const STALL_RULES: &str = "stall_rules";

pub fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Option<String>> {
    settings::table
        .find(name)
        .select(settings::value)
        .first(conn)
        .optional()
}

/// Stores `value` under `name`, in place of any value before.
pub fn put(conn: &mut DbConnection, name: &str, value: &str) -> QueryResult<()> {
    let inserted = db::insert_once(conn, |c| {
        diesel::insert_into(settings::table)
            .values((settings::name.eq(name), settings::value.eq(value)))
            .execute(c)
    })?;
    if !inserted {
        diesel::update(settings::table.find(name))
            .set(settings::value.eq(value))
            .execute(conn)?;
    }
    Ok(())
}
