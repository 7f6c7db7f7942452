//! Staff accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::Role;
use crate::schema::users;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Emails are compared case-insensitively: stored trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl User {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(users::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<User> {
        users::table.find(id).first(conn)
    }

    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(normalise_email(email)))
            .first(conn)
            .optional()
    }

    /// Users in creation order, after the cursor id.
    pub fn list(
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<User>> {
        let mut query = users::table
            .order(users::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(users::id.gt(after.to_string()));
        }
        query.load(conn)
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    pub fn count_active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)
    }

    /// Is `id` an active user who may be assigned cases?
    pub fn is_assignable(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
        let found: i64 = users::table
            .filter(users::id.eq(id))
            .filter(users::active.eq(true))
            .filter(users::role.eq_any([Role::Admin.as_str(), Role::Coordinator.as_str()]))
            .count()
            .get_result(conn)?;
        Ok(found > 0)
    }

    /// Active users with one of `roles`: (id, email).
    pub fn active_with_roles(
        conn: &mut DbConnection,
        roles: &[Role],
    ) -> QueryResult<Vec<(String, String)>> {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        users::table
            .filter(users::active.eq(true))
            .filter(users::role.eq_any(names))
            .order(users::id.asc())
            .select((users::id, users::email))
            .load(conn)
    }

    /// Who hears of a case's alert: its assigned coordinator; when nobody
    /// (active) is assigned, every coordinator; when there is none, the admins.
    pub fn alert_recipients(
        conn: &mut DbConnection,
        assigned: Option<&str>,
    ) -> QueryResult<Vec<(String, String)>> {
        if let Some(id) = assigned {
            let found: Option<(String, String)> = users::table
                .filter(users::id.eq(id))
                .filter(users::active.eq(true))
                .filter(users::role.eq_any([Role::Admin.as_str(), Role::Coordinator.as_str()]))
                .select((users::id, users::email))
                .first(conn)
                .optional()?;
            if let Some(user) = found {
                return Ok(vec![user]);
            }
        }
        let coordinators = Self::active_with_roles(conn, &[Role::Coordinator])?;
        if !coordinators.is_empty() {
            return Ok(coordinators);
        }
        Self::active_with_roles(conn, &[Role::Admin])
    }

    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Observer)
    }

    pub fn update_profile(
        conn: &mut DbConnection,
        id: &str,
        display_name: &str,
        role: Role,
        active: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::display_name.eq(display_name),
                users::role.eq(role.as_str()),
                users::active.eq(active),
                users::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn set_password_hash(
        conn: &mut DbConnection,
        id: &str,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)
    }
}
