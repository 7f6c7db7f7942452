//! Partner API keys: stored as a hash with a non-secret prefix.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::{ApiKeyId, ShelterId, UserId};
use crate::schema::{api_keys, shelters};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub shelter_id: ShelterId,
    pub label: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// The minute `window_count` counts requests in (PostgreSQL only).
    pub window_start: Option<NaiveDateTime>,
    pub window_count: i32,
}

/// `last_used_at` is written at most this often per key, not on every request.
pub const TOUCH_EVERY_SECONDS: i64 = 60;

impl ApiKeyRow {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(api_keys::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn list_for_shelter(
        conn: &mut DbConnection,
        shelter_id: &ShelterId,
    ) -> QueryResult<Vec<ApiKeyRow>> {
        api_keys::table
            .filter(api_keys::shelter_id.eq(shelter_id))
            .order(api_keys::id.asc())
            .load(conn)
    }

    pub fn find_in_shelter(
        conn: &mut DbConnection,
        shelter_id: &ShelterId,
        id: &ApiKeyId,
    ) -> QueryResult<Option<ApiKeyRow>> {
        api_keys::table
            .filter(api_keys::shelter_id.eq(shelter_id))
            .filter(api_keys::id.eq(id))
            .first(conn)
            .optional()
    }

    pub fn revoke(
        conn: &mut DbConnection,
        shelter_id: &ShelterId,
        id: &ApiKeyId,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            api_keys::table
                .filter(api_keys::shelter_id.eq(shelter_id))
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)
    }

    /// Revokes every key not revoked yet.
    pub fn revoke_all(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(api_keys::table.filter(api_keys::revoked_at.is_null()))
            .set(api_keys::revoked_at.eq(now))
            .execute(conn)
    }

    /// The live key with this prefix (not revoked, not expired, its shelter
    /// active), with its shelter's name.
    pub fn find_live(
        conn: &mut DbConnection,
        prefix: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Option<(ApiKeyRow, String)>> {
        api_keys::table
            .inner_join(shelters::table)
            .filter(api_keys::prefix.eq(prefix))
            .filter(api_keys::revoked_at.is_null())
            .filter(
                api_keys::expires_at
                    .is_null()
                    .or(api_keys::expires_at.gt(now)),
            )
            .filter(shelters::active.eq(true))
            .select((api_keys::all_columns, shelters::name))
            .first(conn)
            .optional()
    }

    /// Counts a request of the key in the minute starting at `window`, in
    /// the database, so that every instance shares the key's budget: the
    /// count so far. On SQLite, which serves one instance, `None`: the
    /// caller counts in memory rather than write on every request.
    pub fn count_request(
        conn: &mut DbConnection,
        id: &ApiKeyId,
        window: NaiveDateTime,
    ) -> QueryResult<Option<i32>> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            window_count: i32,
        }
        let DbConnection::Postgresql(pg) = conn else {
            return Ok(None);
        };
        let counted: Count = diesel::sql_query(
            "UPDATE api_keys SET \
             window_count = CASE WHEN window_start = $1 THEN window_count + 1 ELSE 1 END, \
             window_start = $1 WHERE id = $2 RETURNING window_count",
        )
        .bind::<diesel::sql_types::Timestamp, _>(window)
        .bind::<diesel::sql_types::Text, _>(id.as_str())
        .get_result(pg)?;
        Ok(Some(counted.window_count))
    }

    /// Records use, unless it was recorded less than a minute ago.
    pub fn touch(&self, conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<()> {
        let stale = self
            .last_used_at
            .is_none_or(|at| now - at >= Duration::seconds(TOUCH_EVERY_SECONDS));
        if stale {
            diesel::update(api_keys::table.find(&self.id))
                .set(api_keys::last_used_at.eq(now))
                .execute(conn)?;
        }
        Ok(())
    }
}
