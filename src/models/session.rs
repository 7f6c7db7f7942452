//! Server-side sessions behind every token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::domain::{Role, SessionId, UserId};
use crate::schema::{sessions, users};
use crate::stamp::At;

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

/// Reads `$columns` of the user behind the session `$session_id` of
/// `$user_id`, if it is unrevoked and unexpired at `$now` and its user
/// active: `None` otherwise.
macro_rules! live_user {
    ($conn:expr, $session_id:expr, $user_id:expr, $now:expr, $columns:expr) => {{
        let now = At($now);
        let query = sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq($session_id))
            .filter(sessions::user_id.eq($user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(&now))
            .filter(users::active.eq(true))
            .select($columns);
        db::native!($conn, |c| query.first(c).optional())
    }};
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

    /// The user behind a live session, as they are now: the session live
    /// and its user active.
    pub fn authenticate(
        conn: &mut DbConnection,
        session_id: &SessionId,
        user_id: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<Option<SessionUser>> {
        let columns = (users::id, users::email, users::display_name, users::role);
        live_user!(conn, session_id, user_id, now, columns)
    }

    /// The one indexed lookup per authenticated request: the role now of
    /// the user behind a live session, as [`Session::authenticate`] finds
    /// them, and nothing else read.
    pub fn current_role(
        conn: &mut DbConnection,
        session_id: &SessionId,
        user_id: &UserId,
        now: NaiveDateTime,
    ) -> QueryResult<Option<Role>> {
        live_user!(conn, session_id, user_id, now, users::role)
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
