//! Server-side sessions behind every token, and the failed-login record that
//! drives the lockout.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::user::normalise_email;
use crate::db::DbConnection;
use crate::domain::{Role, SessionId, UserId};
use crate::schema::{login_failures, sessions, users};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    /// SHA-256 of the current refresh secret; the secret itself is never stored.
    pub refresh_hash: String,
    pub created_at: NaiveDateTime,
    pub refreshed_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// The live facts about the user behind a session, read on every request.
#[derive(Debug, Clone, Queryable)]
pub struct SessionUser {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl Session {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(sessions::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn find(conn: &mut DbConnection, id: &SessionId) -> QueryResult<Option<Session>> {
        sessions::table.find(id).first(conn).optional()
    }

    pub fn is_live(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// The one indexed lookup per authenticated request: the session is live
    /// and its user active, with the role as it is now.
    pub fn authenticate(
        conn: &mut DbConnection,
        session_id: &SessionId,
        user_id: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<Option<SessionUser>> {
        sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(session_id))
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(users::active.eq(true))
            .select((users::id, users::email, users::display_name, users::role))
            .first(conn)
            .optional()
    }

    /// Replaces the refresh hash only if it is still `old_hash`; 0 rows means
    /// another request rotated it first.
    pub fn rotate(
        conn: &mut DbConnection,
        id: &SessionId,
        old_hash: &str,
        new_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            sessions::table
                .filter(sessions::id.eq(id))
                .filter(sessions::refresh_hash.eq(old_hash))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((
            sessions::refresh_hash.eq(new_hash),
            sessions::refreshed_at.eq(now),
        ))
        .execute(conn)
    }

    pub fn revoke(
        conn: &mut DbConnection,
        id: &SessionId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            sessions::table
                .find(id)
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
    }

    /// Revokes every live session (of `user` when given), but `keep`.
    pub fn revoke_all(
        conn: &mut DbConnection,
        user: Option<&UserId>,
        keep: Option<&SessionId>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let mut live = diesel::update(sessions::table)
            .filter(sessions::revoked_at.is_null())
            .into_boxed();
        if let Some(user) = user {
            live = live.filter(sessions::user_id.eq(user.clone()));
        }
        if let Some(keep) = keep {
            live = live.filter(sessions::id.ne(keep.clone()));
        }
        live.set(sessions::revoked_at.eq(now)).execute(conn)
    }
}

/// How long failed sign-ins count against an account.
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;
/// How many failures in the window lock the account.
pub const LOCKOUT_THRESHOLD: usize = 5;

/// The key failed sign-ins are counted under: a hash of the normalised email,
/// so an email with no account locks out exactly like one with an account.
pub fn account_key(email: &str) -> String {
    crate::crypto::sha256_hex(normalise_email(email).as_bytes())
}

pub fn record_login_failure(
    conn: &mut DbConnection,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    // Old failures no longer count; sweeping them here keeps the table small.
    diesel::delete(login_failures::table.filter(login_failures::at.lt(now - Duration::days(1))))
        .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(super::new_id()),
            login_failures::account_key.eq(account_key(email)),
            login_failures::at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub fn clear_login_failures(conn: &mut DbConnection, email: &str) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::account_key.eq(account_key(email))))
        .execute(conn)
}

/// When the account is locked, how long until it opens again.
pub fn lockout_remaining(
    conn: &mut DbConnection,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Duration>> {
    let window = Duration::minutes(LOCKOUT_WINDOW_MINUTES);
    let recent: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::account_key.eq(account_key(email)))
        .filter(login_failures::at.gt(now - window))
        .order(login_failures::at.desc())
        .select(login_failures::at)
        .limit(LOCKOUT_THRESHOLD as i64)
        .load(conn)?;
    // Locked while the fifth most recent failure is still inside the window.
    Ok((recent.len() >= LOCKOUT_THRESHOLD).then(|| recent[LOCKOUT_THRESHOLD - 1] + window - now))
}
