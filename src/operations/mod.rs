//! What each change means, one function per operation: it runs inside the
//! caller's writing transaction, locks what it changes, and writes the row,
//! the timeline event, any alert and any outbox email together, so a case,
//! its timeline and its notifications never disagree. Operations speak the
//! domain: they return [`DomainError`], never HTTP.

pub mod alerts;
pub mod cases;
pub mod checkins;
pub mod digest;
pub mod users;

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::stall::StallRules;
use crate::domain::DomainError;
use crate::email::Links;
use crate::models::event::Actor;
use crate::models::outbox::{Email, OutboxMessage};

/// Who changes something, when, under which stall rules, and where links
/// in emails point.
pub struct Change<'a> {
    pub actor: &'a Actor,
    pub now: NaiveDateTime,
    pub rules: &'a StallRules,
    pub links: &'a Links,
    /// The version the client last saw (`If-Match`), if it sent one.
    pub if_match: Option<i32>,
}

impl Change<'_> {
    /// Refuses when the client saw another version than `current`.
    fn check_version(&self, current: i32) -> Result<(), DomainError> {
        match self.if_match {
            Some(seen) if seen != current => Err(DomainError::StaleVersion),
            _ => Ok(()),
        }
    }
}

/// Queues `email` for `recipient` once per `dedupe_key`, in the caller's
/// transaction.
fn notify(
    conn: &mut DbConnection,
    dedupe_key: String,
    recipient: &str,
    email: &Email,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    Ok(OutboxMessage::new(dedupe_key, recipient, email, now).enqueue(conn)?)
}
