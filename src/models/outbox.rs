//! The email outbox: rows written in the transaction that caused them,
//! delivered later by the sender with retries.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::schema::outbox;

/// What an email says: a subject, and its body as text and as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: String,
    /// One cause, one email: `alert:<id>:raised:<user id>` and the like.
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub dead_at: Option<NaiveDateTime>,
}

impl OutboxMessage {
    /// `email` to `recipient`, due now.
    pub fn new(dedupe_key: String, recipient: &str, email: &Email, now: NaiveDateTime) -> Self {
        Self {
            id: super::new_id(),
            dedupe_key,
            recipient: recipient.to_string(),
            subject: email.subject.clone(),
            text_body: email.text.clone(),
            html_body: email.html.clone(),
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
            last_error: None,
            sent_at: None,
            dead_at: None,
        }
    }

    /// Adds the message unless one with its dedupe key exists; true when added.
    pub fn enqueue(&self, conn: &mut DbConnection) -> QueryResult<bool> {
        db::insert_once(conn, |c| {
            diesel::insert_into(outbox::table).values(self).execute(c)
        })
    }

    /// Claims the next due message for `lease`: no other sender takes it
    /// until the lease ends (SKIP LOCKED on PostgreSQL, so senders of
    /// several instances never wait for each other); `None` when none is due.
    pub fn claim_next(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        lease: Duration,
    ) -> QueryResult<Option<OutboxMessage>> {
        db::write(conn, |conn| {
            let due = || {
                outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::dead_at.is_null())
                    .filter(outbox::next_attempt_at.le(now))
                    .order(outbox::next_attempt_at.asc())
            };
            let row: Option<OutboxMessage> = match &mut *conn {
                DbConnection::Postgresql(pg) => {
                    due().for_update().skip_locked().first(pg).optional()?
                }
                other => due().first(other).optional()?,
            };
            if let Some(row) = &row {
                diesel::update(outbox::table.find(&row.id))
                    .set(outbox::next_attempt_at.eq(now + lease))
                    .execute(conn)?;
            }
            Ok(row)
        })
    }

    pub fn mark_sent(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(outbox::table.find(id))
            .set((
                outbox::sent_at.eq(now),
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)
    }

    /// Records a failed attempt: retried at `retry_at`, or dead when `dead`.
    pub fn mark_failed(
        conn: &mut DbConnection,
        id: &str,
        error: &str,
        retry_at: NaiveDateTime,
        dead: Option<NaiveDateTime>,
    ) -> QueryResult<usize> {
        diesel::update(outbox::table.find(id))
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(error),
                outbox::next_attempt_at.eq(retry_at),
                outbox::dead_at.eq(dead),
            ))
            .execute(conn)
    }

    /// Messages not delivered yet (`dead` false) or given up on (`dead` true).
    pub fn undelivered(
        conn: &mut DbConnection,
        dead: bool,
        page: &PageRequest,
    ) -> QueryResult<Vec<OutboxMessage>> {
        let query = page
            .apply(outbox::table.into_boxed(), outbox::id)
            .filter(outbox::sent_at.is_null());
        if dead {
            query.filter(outbox::dead_at.is_not_null()).load(conn)
        } else {
            query.filter(outbox::dead_at.is_null()).load(conn)
        }
    }
}
