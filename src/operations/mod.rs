//! What each change means, one function per operation: it runs inside the
//! caller's writing transaction, locks what it changes, and writes the row,
//! the timeline event, any alert and any outbox email together, so a case,
//! its timeline and its notifications never disagree. Operations speak the
//! domain: they return [`DomainError`], never HTTP.

pub mod alerts;
pub mod api_keys;
pub mod cases;
pub mod consents;
pub mod deadlines;
pub mod demo;
pub mod digest;
pub mod documents;
pub mod expenses;
pub mod idempotency;
pub mod legs;
pub mod lockdown;
pub mod partner;
pub mod personal;
pub mod sealing;
pub mod sessions;
pub mod storage;
pub mod users;
pub mod vault;

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::config::Config;
use crate::crypto::vault::Keys;
use crate::db::DbConnection;
use crate::domain::stall::StallRules;
use crate::domain::{AuditAction, CaseId, DomainError};
use crate::email::Links;
use crate::models::audit::{AuditEntry, NewAuditEntry};
use crate::models::event::Actor;
use crate::models::outbox::{Email, OutboxMessage};

/// What operations run under, one per process: the stall rules, where links
/// in emails point, and the opened vault.
pub struct Context {
    pub rules: StallRules,
    pub links: Links,
    pub keys: Arc<Keys>,
    /// How long before a document's `valid_until` it is "expiring".
    pub expiring_within: chrono::Duration,
    /// Whether writes fail for lack of disk space now.
    pub storage: storage::StorageWatch,
}

impl Context {
    pub fn new(config: &Config, keys: Arc<Keys>) -> Self {
        Self {
            rules: StallRules::from(&config.stall),
            links: Links::new(&config.server.public_url),
            keys,
            expiring_within: config.documents.expiring_within.0,
            storage: storage::StorageWatch::default(),
        }
    }

    /// A change by `actor` at `now`.
    pub fn change<'a>(&'a self, actor: &'a Actor, now: NaiveDateTime) -> Change<'a> {
        Change {
            actor,
            now,
            rules: &self.rules,
            links: &self.links,
            keys: &self.keys,
            expiring_within: self.expiring_within,
            if_match: None,
        }
    }
}

/// Who changes something, when, under which stall rules, with which keys,
/// and where links in emails point.
pub struct Change<'a> {
    pub actor: &'a Actor,
    pub now: NaiveDateTime,
    pub rules: &'a StallRules,
    pub links: &'a Links,
    pub keys: &'a Keys,
    pub expiring_within: chrono::Duration,
    /// The version the client last saw (`If-Match`), if it sent one.
    pub if_match: Option<i32>,
}

/// A read and the audit entry it owes: the caller appends the entry (see
/// `jobs::audit`) before the value leaves.
#[derive(Debug)]
pub struct Audited<T> {
    pub value: T,
    pub entry: NewAuditEntry,
}

impl Change<'_> {
    /// Appends an audit entry for this actor, in the caller's transaction.
    pub fn audit(
        &self,
        conn: &mut DbConnection,
        action: AuditAction,
        case: Option<&CaseId>,
        target: Option<String>,
    ) -> Result<(), DomainError> {
        let entry = entry(self.actor, action, case, target, self.now);
        AuditEntry::append(conn, self.keys.audit(), entry)?;
        Ok(())
    }

    /// `value`, with the audit entry of this actor reading it.
    pub fn audited<T>(
        &self,
        value: T,
        action: AuditAction,
        case: Option<&CaseId>,
        target: Option<String>,
    ) -> Audited<T> {
        Audited {
            value,
            entry: entry(self.actor, action, case, target, self.now),
        }
    }

    /// Refuses when the client saw another version than `current`.
    fn check_version(&self, current: i32) -> Result<(), DomainError> {
        match self.if_match {
            Some(seen) if seen != current => Err(DomainError::StaleVersion),
            _ => Ok(()),
        }
    }
}

/// Appends an audit entry by `actor`, in the caller's transaction.
pub fn audit(
    conn: &mut DbConnection,
    keys: &Keys,
    actor: &Actor,
    action: AuditAction,
    case: Option<&CaseId>,
    target: Option<String>,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    AuditEntry::append(conn, keys.audit(), entry(actor, action, case, target, now))?;
    Ok(())
}

fn entry(
    actor: &Actor,
    action: AuditAction,
    case: Option<&CaseId>,
    target: Option<String>,
    now: NaiveDateTime,
) -> NewAuditEntry {
    NewAuditEntry {
        at: now,
        actor_kind: actor.kind,
        actor_id: actor.id.clone(),
        action,
        case_id: case.cloned(),
        target,
        request_id: actor.request_id.clone(),
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
