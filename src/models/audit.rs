//! The audit log: who did what to which case and when, every read of
//! personal data included. Append-only (the database refuses updates and
//! deletes), and tamper-evident: each entry carries the hash of the one
//! before, `hash = SHA-256(prev_hash ‖ canonical encoding of the entry)`.
//! Appends lock the chain head, so the chain stays one line under
//! concurrent writers and several instances. Entries hold ids, never
//! personal data.
//!
//! The chain is keyed, too: each entry carries a MAC of its hash and the
//! head a MAC of where the chain ends, under a key that only the master key
//! opens. Whoever can write the database but has not the key can delete
//! entries and recompute every hash, but not the MACs: a truncated chain
//! with a rewritten head, a forged entry and an emptied table all fail
//! [`verify`]. (Going back to an earlier state, head and all, is what the
//! head in the weekly admin email is for: `corridor audit verify` prints
//! the head it checked, to compare.) Entries before `keyed_from` were
//! chained before the key existed and carry no MAC.

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::prelude::*;
use serde::Serialize;

use crate::crypto::vault::MacKey;
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
    /// The MAC of `hash` under the audit key (none before the chain was keyed).
    pub mac: Option<String>,
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

impl NewAuditEntry {
    /// An entry of the system itself: no actor, no case, no target.
    pub fn system(action: AuditAction, at: NaiveDateTime) -> Self {
        Self {
            at,
            actor_kind: ActorKind::System,
            actor_id: None,
            action,
            case_id: None,
            target: None,
            request_id: None,
        }
    }
}

impl AuditEntry {
    /// `new` as entry `id` after `prev_hash`, hashed (the MAC is the
    /// chain's to give).
    pub fn chained(id: i32, prev_hash: String, new: NewAuditEntry) -> Self {
        let mut entry = AuditEntry {
            id,
            at: new.at,
            actor_kind: new.actor_kind,
            actor_id: new.actor_id,
            action: new.action,
            case_id: new.case_id,
            target: new.target,
            request_id: new.request_id,
            prev_hash,
            hash: String::new(),
            mac: None,
        };
        entry.hash = entry.expected_hash();
        entry
    }

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
    pub fn append(
        conn: &mut DbConnection,
        key: &MacKey,
        new: NewAuditEntry,
    ) -> QueryResult<AuditEntry> {
        let mut appended = Self::append_all(conn, key, vec![new])?;
        Ok(appended.remove(0))
    }

    /// Appends `entries`, in order, at the head of the chain, in the
    /// caller's writing transaction: one lock of the head for them all.
    pub fn append_all(
        conn: &mut DbConnection,
        key: &MacKey,
        entries: Vec<NewAuditEntry>,
    ) -> QueryResult<Vec<AuditEntry>> {
        let (mut last_id, mut last_hash, keyed_from): (i32, String, Option<i32>) = db::get_locked!(
            conn,
            audit_head::table.find(1).select((
                audit_head::last_id,
                audit_head::last_hash,
                audit_head::keyed_from
            ))
        )?;
        // A chain not keyed yet is keyed from these entries on.
        let keyed_from = keyed_from.unwrap_or(last_id + 1);
        let mut chained = Vec::with_capacity(entries.len());
        for new in entries {
            let mut entry = AuditEntry::chained(last_id + 1, last_hash, new);
            entry.mac = Some(entry_mac(key, &entry.hash));
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
        set_head(conn, key, last_id, &last_hash, keyed_from)?;
        Ok(chained)
    }

    /// Keys a chain that has no key yet (one made before keys existed):
    /// its head gets its MAC, and every entry from the next on carries one.
    /// In the caller's writing transaction; nothing when it is keyed. The
    /// chain as found is trusted this once: `verify` before the upgrade.
    pub fn key_chain(conn: &mut DbConnection, key: &MacKey) -> QueryResult<bool> {
        let (last_id, last_hash, keyed_from): (i32, String, Option<i32>) = db::get_locked!(
            conn,
            audit_head::table.find(1).select((
                audit_head::last_id,
                audit_head::last_hash,
                audit_head::keyed_from
            ))
        )?;
        // An entry with a MAC means the chain was keyed: a head without a
        // key now was reset by hand, and `verify` must say so, not this
        // paper over it.
        let keyed_before = audit_log::table
            .filter(audit_log::mac.is_not_null())
            .select(audit_log::id)
            .first::<i32>(conn)
            .optional()?
            .is_some();
        if keyed_from.is_some() || keyed_before {
            return Ok(false);
        }
        set_head(conn, key, last_id, &last_hash, last_id + 1)?;
        Ok(true)
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

fn set_head(
    conn: &mut DbConnection,
    key: &MacKey,
    last_id: i32,
    last_hash: &str,
    keyed_from: i32,
) -> QueryResult<()> {
    diesel::update(audit_head::table.find(1))
        .set((
            audit_head::last_id.eq(last_id),
            audit_head::last_hash.eq(last_hash),
            audit_head::keyed_from.eq(Some(keyed_from)),
            audit_head::mac.eq(Some(head_mac(key, last_id, last_hash, keyed_from))),
        ))
        .execute(conn)
        .map(drop)
}

/// An entry's MAC: of its hash, which covers its contents and the chain
/// before it.
fn entry_mac(key: &MacKey, hash: &str) -> String {
    key.mac(format!("corridor/v1/audit-entry\0{hash}").as_bytes())
}

/// The head's MAC: where the chain ends, and where its keyed part begins.
/// Its own purpose, so that no entry's MAC can stand for a head.
fn head_mac(key: &MacKey, last_id: i32, last_hash: &str, keyed_from: i32) -> String {
    key.mac(format!("corridor/v1/audit-head\0{last_id}\0{last_hash}\0{keyed_from}").as_bytes())
}

/// Where a check of the chain found it broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first entry that does not hold.
    pub id: i32,
    pub reason: &'static str,
}

/// The head a check verified: what to compare with the head in the weekly
/// admin email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub last_id: i32,
    pub last_hash: String,
}

/// An entry as stored, every column as text: a column that no longer
/// parses is a broken entry, not a failed check.
#[derive(Debug, Queryable)]
struct StoredEntry {
    id: i32,
    at: String,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    case_id: Option<String>,
    target: Option<String>,
    request_id: Option<String>,
    prev_hash: String,
    hash: String,
    mac: Option<String>,
}

impl StoredEntry {
    fn parse(self) -> Option<AuditEntry> {
        let at = self.at.trim_end_matches('Z').replace('T', " ");
        Some(AuditEntry {
            id: self.id,
            at: NaiveDateTime::parse_from_str(&at, "%Y-%m-%d %H:%M:%S%.f").ok()?,
            actor_kind: ActorKind::parse(&self.actor_kind)?,
            actor_id: self.actor_id,
            action: AuditAction::parse(&self.action)?,
            case_id: match self.case_id {
                Some(id) => Some(CaseId::parse(&id)?),
                None => None,
            },
            target: self.target,
            request_id: self.request_id,
            prev_hash: self.prev_hash,
            hash: self.hash,
            mac: self.mac,
        })
    }
}

/// Entries after `after`, oldest first, as stored.
fn stored(conn: &mut DbConnection, after: i32, limit: i64) -> QueryResult<Vec<StoredEntry>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    audit_log::table
        .filter(audit_log::id.gt(after))
        .order(audit_log::id.asc())
        .limit(limit)
        .select((
            audit_log::id,
            sql::<Text>("CAST(at AS TEXT)"),
            audit_log::actor_kind,
            audit_log::actor_id,
            audit_log::action,
            audit_log::case_id,
            audit_log::target,
            audit_log::request_id,
            audit_log::prev_hash,
            audit_log::hash,
            audit_log::mac,
        ))
        .load(conn)
}

/// Walks the whole chain: each entry's fields parse, its id follows the
/// one before, it carries the hash before it, its own hash matches its
/// fields, and its MAC holds (from `keyed_from` on); the head names the
/// last entry, and its MAC holds. Returns the head it verified.
pub fn verify(conn: &mut DbConnection, key: &MacKey) -> QueryResult<Result<Verified, Broken>> {
    let (mut last_id, mut last_hash) = (0, GENESIS.to_string());
    let (head_id, head_hash, head_keyed_from, head_stored_mac): (
        i32,
        String,
        Option<i32>,
        Option<String>,
    ) = audit_head::table
        .find(1)
        .select((
            audit_head::last_id,
            audit_head::last_hash,
            audit_head::keyed_from,
            audit_head::mac,
        ))
        .first(conn)?;
    let keyed_from = head_keyed_from.unwrap_or(i32::MAX);
    loop {
        let batch = stored(conn, last_id, 1000)?;
        let Some(last) = batch.last().map(|e| e.id) else {
            break;
        };
        for stored in batch {
            let id = stored.id;
            let broken = |reason| Ok(Err(Broken { id, reason }));
            if id != last_id + 1 {
                return broken("an entry before it is missing");
            }
            let Some(entry) = stored.parse() else {
                return broken("a stored field of it does not parse (altered)");
            };
            if entry.prev_hash != last_hash {
                return broken("it does not carry the hash of the entry before");
            }
            if entry.hash != entry.expected_hash() {
                return broken("its hash does not match its contents");
            }
            let mac_holds = entry.mac.as_deref() == Some(entry_mac(key, &entry.hash).as_str());
            match (&entry.mac, id >= keyed_from) {
                (None, true) => return broken("it carries no MAC (added without the key)"),
                (Some(_), _) if !mac_holds => {
                    return broken("its MAC does not match (written without the key)")
                }
                _ => {}
            }
            (last_id, last_hash) = (entry.id, entry.hash);
        }
        debug_assert_eq!(last, last_id);
    }
    if head_id != last_id || head_hash != last_hash {
        let id = head_id.max(last_id);
        return Ok(Err(Broken {
            id,
            reason: "the chain does not end where its head says",
        }));
    }
    let Some(keyed_from) = head_keyed_from else {
        return Ok(Err(Broken {
            id: head_id,
            reason: "the chain's head carries no key (it was reset)",
        }));
    };
    if head_stored_mac.as_deref() != Some(head_mac(key, head_id, &head_hash, keyed_from).as_str()) {
        return Ok(Err(Broken {
            id: head_id,
            reason: "the chain's head does not match its MAC (rewritten without the key)",
        }));
    }
    Ok(Ok(Verified {
        last_id: head_id,
        last_hash: head_hash,
    }))
}
