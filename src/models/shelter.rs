//! Shelters (safe houses) and their occupancy.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::sum;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::Stage;
use crate::error::AppError;
use crate::schema::{cases, shelters};

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = shelters, treat_none_as_null = true)]
pub struct Shelter {
    pub id: String,
    pub name: String,
    pub city: Option<String>,
    pub country: String,
    pub capacity: i32,
    pub contact_email: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Shelter {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(shelters::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Shelter> {
        shelters::table.find(id).first(conn)
    }

    pub fn list(
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Shelter>> {
        let mut query = shelters::table
            .order(shelters::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(shelters::id.gt(after.to_string()));
        }
        query.load(conn)
    }

    /// Changes a shelter under its row lock: 404 when missing, 412 when
    /// `expected_version` (from `If-Match`) is stale. Returns the shelter and
    /// its occupancy. Runs inside the caller's writing transaction.
    pub fn change(
        conn: &mut DbConnection,
        id: &str,
        expected_version: Option<i32>,
        now: NaiveDateTime,
        edit: impl FnOnce(&mut Shelter),
    ) -> Result<(Shelter, i64), AppError> {
        if Self::lock(conn, id)? == 0 {
            return Err(AppError::not_found());
        }
        let mut shelter = Self::find(conn, id)?;
        if expected_version.is_some_and(|v| v != shelter.version) {
            return Err(AppError::precondition_failed());
        }
        edit(&mut shelter);
        shelter.updated_at = now;
        let version = shelter.version;
        shelter.save(conn, version)?;
        let occupancy = Self::occupancy(conn, id)?;
        Ok((shelter, occupancy))
    }

    /// Writes the row if it is still at `expected_version`; bumps the version.
    fn save(&mut self, conn: &mut DbConnection, expected_version: i32) -> QueryResult<usize> {
        self.version = expected_version + 1;
        diesel::update(
            shelters::table
                .filter(shelters::id.eq(&self.id))
                .filter(shelters::version.eq(expected_version)),
        )
        .set(&*self)
        .execute(conn)
    }

    /// Takes the shelter's row lock for the rest of the transaction (a no-op
    /// update), so two placements cannot both take the last bed. SQLite's
    /// immediate transactions are serialised already.
    pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
        diesel::update(shelters::table.find(id))
            .set(shelters::version.eq(shelters::version))
            .execute(conn)
    }

    /// People placed at the shelter now: the household sizes of its cases in `safe_house`.
    pub fn occupancy(conn: &mut DbConnection, id: &str) -> QueryResult<i64> {
        let total: Option<i64> = cases::table
            .filter(cases::shelter_id.eq(id))
            .filter(cases::stage.eq(Stage::SafeHouse.as_str()))
            .select(sum(cases::household_size))
            .first(conn)?;
        Ok(total.unwrap_or(0))
    }

    /// Occupancy of several shelters in one query.
    pub fn occupancies(
        conn: &mut DbConnection,
        ids: &[String],
    ) -> QueryResult<HashMap<String, i64>> {
        let rows: Vec<(Option<String>, Option<i64>)> = cases::table
            .filter(cases::shelter_id.eq_any(ids))
            .filter(cases::stage.eq(Stage::SafeHouse.as_str()))
            .group_by(cases::shelter_id)
            .select((cases::shelter_id, sum(cases::household_size)))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, total)| Some((id?, total.unwrap_or(0))))
            .collect())
    }
}
