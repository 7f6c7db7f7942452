//! Staff accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::domain::{DomainError, Role, UserId};
use crate::schema::users;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Emails are compared case-insensitively: stored trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A user to create, with the hash of their password.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: String,
}

/// Creates an active user: the one way users come to be, for the API, the
/// command line and the first admin of `serve`. The email is stored
/// normalised; a taken email is `DuplicateEmail`.
pub fn create_user(
    conn: &mut DbConnection,
    new: NewUser<'_>,
    now: NaiveDateTime,
) -> Result<User, DomainError> {
    let user = User {
        id: UserId::new(),
        email: normalise_email(new.email),
        display_name: new.display_name.trim().to_string(),
        role: new.role,
        password_hash: new.password_hash,
        active: true,
        created_at: now,
        updated_at: now,
    };
    let inserted = db::insert_once(conn, |c| {
        diesel::insert_into(users::table).values(&user).execute(c)
    })?;
    if !inserted {
        return Err(DomainError::DuplicateEmail);
    }
    Ok(user)
}

impl User {
    pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<User> {
        users::table.find(id).first(conn)
    }

    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(normalise_email(email)))
            .first(conn)
            .optional()
    }

    /// Users in creation order.
    pub fn list(conn: &mut DbConnection, page: &super::PageRequest) -> QueryResult<Vec<User>> {
        page.apply(users::table.into_boxed(), users::id).load(conn)
    }

    /// The user, locked for the rest of the writing transaction.
    pub fn get_locked(conn: &mut DbConnection, id: &UserId) -> QueryResult<User> {
        db::get_locked!(conn, users::table.find(id))
    }

    /// When the first account was made: when Corridor was installed.
    pub fn first_created_at(conn: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>> {
        users::table
            .select(diesel::dsl::min(users::created_at))
            .first(conn)
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    pub fn count_active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)
    }

    /// Is `id` an active user who may be assigned cases?
    pub fn is_assignable(conn: &mut DbConnection, id: &UserId) -> QueryResult<bool> {
        let found: i64 = users::table
            .filter(users::id.eq(id))
            .filter(users::active.eq(true))
            .filter(users::role.eq_any([Role::Admin, Role::Coordinator]))
            .count()
            .get_result(conn)?;
        Ok(found > 0)
    }

    /// Active users with one of `roles`: (id, email).
    pub fn active_with_roles(
        conn: &mut DbConnection,
        roles: &[Role],
    ) -> QueryResult<Vec<(UserId, String)>> {
        users::table
            .filter(users::active.eq(true))
            .filter(users::role.eq_any(roles.to_vec()))
            .order(users::id.asc())
            .select((users::id, users::email))
            .load(conn)
    }

    /// Who hears of a case's alert: its assigned coordinator; when nobody
    /// (active) is assigned, every coordinator; when there is none, the admins.
    pub fn alert_recipients(
        conn: &mut DbConnection,
        assigned: Option<&UserId>,
    ) -> QueryResult<Vec<(UserId, String)>> {
        if let Some(id) = assigned {
            let found: Option<(UserId, String)> = users::table
                .filter(users::id.eq(id))
                .filter(users::active.eq(true))
                .filter(users::role.eq_any([Role::Admin, Role::Coordinator]))
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

    pub fn update_profile(
        conn: &mut DbConnection,
        id: &UserId,
        display_name: &str,
        role: Role,
        active: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::display_name.eq(display_name),
                users::role.eq(role),
                users::active.eq(active),
                users::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn set_password_hash(
        conn: &mut DbConnection,
        id: &UserId,
        hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)
    }
}
