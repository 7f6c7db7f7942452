//! The audit log: who did what to which case and when, every read of
//! personal data included. Append-only (the database refuses updates and
//! deletes), and tamper-evident: each entry carries the hash of the one
//! before, `hash = SHA-256(prev_hash ‖ canonical encoding of the entry)`.
//! Appends lock the chain head, so the chain stays one line under
//! concurrent writers and several instances. Entries hold ids, never
//! personal data.

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::{self, DbConnection};
use crate::domain::{ActorKind, AuditAction, CaseId};
use crate::schema::{audit_head, audit_log};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i32,
    pub at: NaiveDateTime,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub action: AuditAction,
    pub case_id: Option<CaseId>,
    pub target: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// What an entry says, before the chain gives it an id and hashes.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: NaiveDateTime,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub action: AuditAction,
    pub case_id: Option<CaseId>,
    pub target: Option<String>,
    pub request_id: Option<String>,
}

/// The fields the hash covers, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
    id: i32,
    at: String,
    actor_kind: ActorKind,
    actor_id: Option<&'a str>,
    action: AuditAction,
    case_id: Option<&'a CaseId>,
    target: Option<&'a str>,
    request_id: Option<&'a str>,
}

impl AuditEntry {
    /// The hash this entry should carry, from its fields and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        let canonical = Canonical {
            id: self.id,
            at: self
                .at
                .and_utc()
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            actor_kind: self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            action: self.action,
            case_id: self.case_id.as_ref(),
            target: self.target.as_deref(),
            request_id: self.request_id.as_deref(),
        };
        let json = serde_json::to_string(&canonical).unwrap_or_default();
        let mut data = self.prev_hash.clone().into_bytes();
        data.extend_from_slice(json.as_bytes());
        crate::crypto::sha256_hex(&data)
    }

    /// Appends `new` at the head of the chain, in the caller's writing
    /// transaction.
    pub fn append(conn: &mut DbConnection, new: NewAuditEntry) -> QueryResult<AuditEntry> {
        let mut appended = Self::append_all(conn, vec![new])?;
        Ok(appended.remove(0))
    }

    /// Appends `entries`, in order, at the head of the chain, in the
    /// caller's writing transaction: one lock of the head for them all.
    pub fn append_all(
        conn: &mut DbConnection,
        entries: Vec<NewAuditEntry>,
    ) -> QueryResult<Vec<AuditEntry>> {
        let (mut last_id, mut last_hash): (i32, String) = db::get_locked!(
            conn,
            audit_head::table
                .find(1)
                .select((audit_head::last_id, audit_head::last_hash))
        )?;
        let mut chained = Vec::with_capacity(entries.len());
        for new in entries {
            let mut entry = AuditEntry {
                id: last_id + 1,
                at: new.at,
                actor_kind: new.actor_kind,
                actor_id: new.actor_id,
                action: new.action,
                case_id: new.case_id,
                target: new.target,
                request_id: new.request_id,
                prev_hash: last_hash,
                hash: String::new(),
            };
            entry.hash = entry.expected_hash();
            (last_id, last_hash) = (entry.id, entry.hash.clone());
            chained.push(entry);
        }
        match conn {
            DbConnection::Postgresql(pg) => diesel::insert_into(audit_log::table)
                .values(&chained)
                .execute(pg)?,
            DbConnection::Sqlite(lite) => diesel::insert_into(audit_log::table)
                .values(&chained)
                .execute(lite)?,
        };
        diesel::update(audit_head::table.find(1))
            .set((
                audit_head::last_id.eq(last_id),
                audit_head::last_hash.eq(&last_hash),
            ))
            .execute(conn)?;
        Ok(chained)
    }

    /// Entries after `after`, oldest first.
    pub fn list(conn: &mut DbConnection, after: i32, limit: i64) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .filter(audit_log::id.gt(after))
            .order(audit_log::id.asc())
            .limit(limit)
            .load(conn)
    }

    /// The chain head: the last entry's id and hash.
    pub fn head(conn: &mut DbConnection) -> QueryResult<(i32, String)> {
        audit_head::table
            .find(1)
            .select((audit_head::last_id, audit_head::last_hash))
            .first(conn)
    }
}

/// Where a check of the chain found it broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first entry that does not hold.
    pub id: i32,
    pub reason: &'static str,
}

/// Walks the whole chain: each entry's id follows the one before, it
/// carries the hash before it, its own hash matches its fields, and the
/// head names the last entry. Returns how many entries hold.
pub fn verify(conn: &mut DbConnection) -> QueryResult<Result<i32, Broken>> {
    let (mut last_id, mut last_hash) = (0, GENESIS.to_string());
    loop {
        let batch = AuditEntry::list(conn, last_id, 1000)?;
        let Some(last) = batch.last().map(|e| e.id) else {
            break;
        };
        for entry in batch {
            let broken = |reason| {
                Ok(Err(Broken {
                    id: entry.id,
                    reason,
                }))
            };
            if entry.id != last_id + 1 {
                return broken("an entry before it is missing");
            }
            if entry.prev_hash != last_hash {
                return broken("it does not carry the hash of the entry before");
            }
            if entry.hash != entry.expected_hash() {
                return broken("its hash does not match its contents");
            }
            (last_id, last_hash) = (entry.id, entry.hash);
        }
        debug_assert_eq!(last, last_id);
    }
    let (head_id, head_hash) = AuditEntry::head(conn)?;
    if head_id != last_id || head_hash != last_hash {
        let id = head_id.max(last_id);
        return Ok(Err(Broken {
            id,
            reason: "the chain does not end where its head says",
        }));
    }
    Ok(Ok(last_id))
}
