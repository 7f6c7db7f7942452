//! Shelters (safe houses) and their occupancy.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::sum;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::domain::{DomainError, ShelterId, Stage};
use crate::schema::{cases, shelters};

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = shelters, treat_none_as_null = true)]
pub struct Shelter {
    pub id: ShelterId,
    pub name: String,
    pub city: Option<String>,
    pub country: String,
    pub capacity: i32,
    pub contact_email: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// What emails call it, when its coordinators chose a label that may
    /// travel by email; the name and city never do.
    pub email_label: Option<String>,
}

impl Shelter {
    /// What an email calls a shelter: its email label, else `shelter` and
    /// the start of its id (never its name or city).
    pub fn in_email(id: &ShelterId, label: Option<&str>) -> String {
        match label {
            Some(label) => label.to_string(),
            None => format!("shelter {}", &id.as_str()[..8]),
        }
    }

    /// The email labels of these shelters, by id.
    pub fn email_labels(
        conn: &mut DbConnection,
        ids: &[ShelterId],
    ) -> QueryResult<HashMap<ShelterId, String>> {
        let rows: Vec<(ShelterId, Option<String>)> = shelters::table
            .filter(shelters::id.eq_any(ids))
            .select((shelters::id, shelters::email_label))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, label)| {
                let named = Self::in_email(&id, label.as_deref());
                (id, named)
            })
            .collect())
    }

    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(shelters::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn find(conn: &mut DbConnection, id: &ShelterId) -> QueryResult<Shelter> {
        shelters::table.find(id).first(conn)
    }

    /// The shelter, locked for the rest of the writing transaction, so two
    /// placements cannot both take the last bed.
    pub fn get_locked(conn: &mut DbConnection, id: &ShelterId) -> QueryResult<Shelter> {
        db::get_locked!(conn, shelters::table.find(id))
    }

    pub fn list(conn: &mut DbConnection, page: &PageRequest) -> QueryResult<Vec<Shelter>> {
        page.apply(shelters::table.into_boxed(), shelters::id)
            .load(conn)
    }

    /// Changes a shelter under its row lock: 404 when missing, 412 when
    /// `expected_version` (from `If-Match`) is stale. Returns the shelter and
    /// its occupancy. Runs inside the caller's writing transaction.
    pub fn change(
        conn: &mut DbConnection,
        id: &ShelterId,
        expected_version: Option<i32>,
        now: NaiveDateTime,
        edit: impl FnOnce(&mut Shelter),
    ) -> Result<(Shelter, i64), DomainError> {
        let mut shelter = Self::get_locked(conn, id)?;
        if expected_version.is_some_and(|v| v != shelter.version) {
            return Err(DomainError::StaleVersion);
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

    /// People placed at the shelter now: the household sizes of its cases in `safe_house`.
    pub fn occupancy(conn: &mut DbConnection, id: &ShelterId) -> QueryResult<i64> {
        let query = cases::table
            .filter(cases::shelter_id.eq(id))
            .filter(cases::stage.eq(Stage::SafeHouse))
            .select(sum(cases::household_size));
        let total: Option<i64> = db::native!(conn, |c| query.first(c))?;
        Ok(total.unwrap_or(0))
    }

    /// Occupancy of several shelters in one query.
    pub fn occupancies(
        conn: &mut DbConnection,
        ids: &[ShelterId],
    ) -> QueryResult<HashMap<ShelterId, i64>> {
        let rows: Vec<(Option<ShelterId>, Option<i64>)> = cases::table
            .filter(cases::shelter_id.eq_any(ids))
            .filter(cases::stage.eq(Stage::SafeHouse))
            .group_by(cases::shelter_id)
            .select((cases::shelter_id, sum(cases::household_size)))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, total)| Some((id?, total.unwrap_or(0))))
            .collect())
    }
}
