//! Idempotency keys: the first answer to a POST with an `Idempotency-Key`,
//! per caller and key, for 24 hours.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::domain::{string_enum, CaseId};
use crate::schema::idempotency_keys;

/// How long an answer is kept.
pub const KEEP_HOURS: i64 = 24;
/// A first request still "running" after this long died with its process:
/// a retry takes its place.
pub const ABANDONED_SECONDS: i64 = 60;

string_enum!(
    /// Where the first request with a key is.
    KeyState {
        Running => "running",
        Done => "done",
    }
);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub principal: String,
    pub key_hash: String,
    pub fingerprint: String,
    pub state: KeyState,
    pub wrapped_key: Option<Vec<u8>>,
    pub response: Option<Vec<u8>>,
    pub created_at: NaiveDateTime,
    /// The case whose key seals the answer, when it holds personal data.
    pub case_id: Option<CaseId>,
}

/// What a request with a key finds.
#[derive(Debug)]
pub enum Claim {
    /// It is the first (or the first died): it runs, and its answer is kept.
    First,
    /// The first is still running.
    Running,
    /// The key was used for another request.
    Mismatch,
    /// The first is done: its sealed answer.
    Done(IdempotencyRow),
}

impl IdempotencyRow {
    /// Claims `key_hash` for `principal` and the request `fingerprint`, in
    /// the caller's writing transaction.
    pub fn claim(
        conn: &mut DbConnection,
        principal: &str,
        key_hash: &str,
        fingerprint: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Claim> {
        let row = IdempotencyRow {
            principal: principal.to_string(),
            key_hash: key_hash.to_string(),
            fingerprint: fingerprint.to_string(),
            state: KeyState::Running,
            wrapped_key: None,
            response: None,
            created_at: now,
            case_id: None,
        };
        let this = idempotency_keys::table.find((principal, key_hash));
        let found: Option<IdempotencyRow> =
            db::get_locked!(conn, this.select(IdempotencyRow::as_select())).optional()?;
        let Some(found) = found else {
            let inserted = db::insert_once(conn, |c| {
                diesel::insert_into(idempotency_keys::table)
                    .values(&row)
                    .execute(c)
            })?;
            // Another instance inserted it first: it is running there.
            return Ok(if inserted {
                Claim::First
            } else {
                Claim::Running
            });
        };
        let expired = found.created_at < now - Duration::hours(KEEP_HOURS);
        let abandoned = found.state == KeyState::Running
            && found.created_at < now - Duration::seconds(ABANDONED_SECONDS);
        if expired || (abandoned && found.fingerprint == fingerprint) {
            diesel::delete(this).execute(conn)?;
            diesel::insert_into(idempotency_keys::table)
                .values(&row)
                .execute(conn)?;
            return Ok(Claim::First);
        }
        Ok(if found.fingerprint != fingerprint {
            Claim::Mismatch
        } else if found.state == KeyState::Running {
            Claim::Running
        } else {
            Claim::Done(found)
        })
    }

    /// Keeps the sealed answer of the first request.
    pub fn finish(
        conn: &mut DbConnection,
        principal: &str,
        key_hash: &str,
        wrapped_key: Option<Vec<u8>>,
        response: Vec<u8>,
        case_id: Option<&CaseId>,
    ) -> QueryResult<()> {
        diesel::update(idempotency_keys::table.find((principal, key_hash)))
            .set((
                idempotency_keys::state.eq(KeyState::Done),
                idempotency_keys::wrapped_key.eq(wrapped_key),
                idempotency_keys::response.eq(Some(response)),
                idempotency_keys::case_id.eq(case_id),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Deletes the answers sealed under a case's key (its shred).
    pub fn delete_for_case(conn: &mut DbConnection, case: &CaseId) -> QueryResult<usize> {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::case_id.eq(case)))
            .execute(conn)
    }

    /// Forgets a claim whose request failed on our side, so a retry runs.
    pub fn release(conn: &mut DbConnection, principal: &str, key_hash: &str) -> QueryResult<()> {
        diesel::delete(idempotency_keys::table.find((principal, key_hash)))
            .execute(conn)
            .map(drop)
    }

    /// Deletes the answers older than 24 hours; how many.
    pub fn sweep(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::created_at.lt(now - Duration::hours(KEEP_HOURS))),
        )
        .execute(conn)
    }

    /// Every kept answer's wrapped key, for a master key rotation.
    pub fn all_wrapped(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, Vec<u8>)>> {
        let rows: Vec<(String, String, Option<Vec<u8>>)> = idempotency_keys::table
            .select((
                idempotency_keys::principal,
                idempotency_keys::key_hash,
                idempotency_keys::wrapped_key,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(p, k, w)| Some((p, k, w?)))
            .collect())
    }

    pub fn rewrap(
        conn: &mut DbConnection,
        principal: &str,
        key_hash: &str,
        wrapped_key: Vec<u8>,
    ) -> QueryResult<()> {
        diesel::update(idempotency_keys::table.find((principal, key_hash)))
            .set(idempotency_keys::wrapped_key.eq(Some(wrapped_key)))
            .execute(conn)
            .map(drop)
    }
}
