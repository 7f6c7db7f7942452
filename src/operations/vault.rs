//! The vault at start and at rotation: recognising the master key, the data
//! steps that need it, and re-wrapping every key under a new one.

use chrono::NaiveDateTime;
use serde_json::Value;

use super::sealing::{note_field, note_row, wrap_context, CaseKey};
use crate::crypto::shredded::ShredList;
use crate::crypto::vault::{KeySource, Keys, MacKey, MasterKey};
use crate::db::{self, DbConnection};
use crate::domain::{CaseId, DomainError};
use crate::models::audit::AuditEntry;
use crate::models::case_key::CaseKeyRow;
use crate::models::data_step;
use crate::models::event::Event;
use crate::models::vault::VaultRow;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the master key does not open this database's personal data: it was sealed with \
         another key. Give the key in use when it was written (CORRIDOR_MASTER_KEY, \
         [protection] master_key_file or data_dir/master.key); nothing was changed"
    )]
    WrongKey,
    #[error("{0}")]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for VaultError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// Opens the vault with the master key the configuration names, with the
/// shred list kept beside it; says where the key came from.
pub fn open_configured(
    conn: &mut DbConnection,
    config: &crate::config::Config,
    now: NaiveDateTime,
) -> Result<(Keys, KeySource), String> {
    let (master, source) = MasterKey::configured(config)?;
    let list = ShredList::open(&source.shred_list_file(config))?;
    let keys = open(conn, master, now).map_err(|e| e.to_string())?;
    Ok((keys.with_shred_list(list), source))
}

/// Opens the vault with `master`. A new database stores the key's check
/// value and a new duplicate-check key; one with data refuses a master key
/// that is not the one it was sealed with. Then runs the data steps that
/// need the key.
pub fn open(
    conn: &mut DbConnection,
    master: MasterKey,
    now: NaiveDateTime,
) -> Result<Keys, VaultError> {
    // Whether the audit chain waits for its key: a new vault's, or one made
    // before chains were keyed (its check value says so, sealed).
    let (mac, unkeyed) = db::write(conn, |conn| -> Result<_, VaultError> {
        if let Some(row) = VaultRow::get_locked(conn)? {
            return Ok((
                recognise(&master, &row)?,
                master.check(&row.check_value) == Some(false),
            ));
        }
        let mac = MacKey::generate();
        let row = VaultRow::new(master.check_value(), master.wrap_mac_key(&mac), now);
        if row.insert(conn)? {
            return Ok((mac, true));
        }
        // Another instance created the vault first: its key must be this one.
        let row = VaultRow::get_locked(conn)?.ok_or(VaultError::WrongKey)?;
        Ok((recognise(&master, &row)?, false))
    })?;
    let keys = Keys::new(master, mac);
    db::write(conn, |conn| seal_clear_notes(conn, &keys, now))?;
    if unkeyed {
        db::write(conn, |conn| {
            if AuditEntry::key_chain(conn, keys.audit())? {
                log::info!("the audit chain is keyed from its next entry on");
            }
            VaultRow::mark_keyed(conn, &keys.master().check_value())
        })
        .map_err(VaultError::from)?;
    }
    Ok(keys)
}

fn recognise(master: &MasterKey, row: &VaultRow) -> Result<MacKey, VaultError> {
    if !master.opens(&row.check_value) {
        return Err(VaultError::WrongKey);
    }
    master
        .unwrap_mac_key(&row.mac_key)
        .map_err(|_| VaultError::WrongKey)
}

const SEAL_CLEAR_NOTES: &str = "seal_event_notes";

/// The one-time step after migration 4: notes and snooze reasons stored in
/// clear before notes were sealed move, sealed, into `event_notes`, their
/// events keep only `null` where the text was, and the timeline refuses
/// updates again. One transaction: all of it or none.
fn seal_clear_notes(
    conn: &mut DbConnection,
    keys: &Keys,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    if data_step::is_done(conn, SEAL_CLEAR_NOTES)? {
        return Ok(());
    }
    let mut after = String::new();
    loop {
        let batch = Event::with_clear_text(conn, &after, 500)?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id.clone();
        for event in batch {
            let field = note_field(event.kind);
            let mut detail = event.detail_json();
            let Some(text) = detail
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                continue;
            };
            detail[field] = Value::Null;
            let key = CaseKey::get_or_create(conn, keys, &event.case_id, now)?;
            note_row(&key, &event, &text).insert(conn)?;
            Event::set_detail(conn, &event.id, &detail)?;
        }
    }
    Event::close_timeline(conn)?;
    data_step::mark_done(conn, SEAL_CLEAR_NOTES, now)?;
    Ok(())
}

/// Re-wraps every case's data key and the duplicate-check key under `new`,
/// and stores `new`'s check value, in the caller's transaction: afterwards
/// only `new` opens the data. Returns how many case keys were re-wrapped.
/// Running services must restart with the new key.
pub fn rotate(
    conn: &mut DbConnection,
    keys: &Keys,
    new: &MasterKey,
    now: NaiveDateTime,
) -> Result<usize, VaultError> {
    let row = VaultRow::get_locked(conn)?.ok_or(VaultError::WrongKey)?;
    recognise(keys.master(), &row)?;
    let (mut after, mut count): (Option<CaseId>, usize) = (None, 0);
    loop {
        let batch = CaseKeyRow::live_after(conn, after.as_ref(), 500)?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            let context = wrap_context(&row.case_id, row.key_version);
            let wrapped = row.wrapped_key.as_deref().unwrap_or_default();
            let key = keys
                .master()
                .unwrap_data_key(wrapped, &context)
                .map_err(|_| DomainError::Internal("a case key does not unwrap".into()))?;
            CaseKeyRow::rewrap(conn, &row.case_id, &new.wrap_data_key(&key, &context))?;
            count += 1;
            after = Some(row.case_id);
        }
    }
    super::idempotency::rotate(conn, keys, new)?;
    VaultRow::rekey(conn, &new.check_value(), &new.wrap_mac_key(keys.mac()), now)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActorKind, AuditAction};
    use crate::models::audit::{self, NewAuditEntry};
    use diesel::connection::SimpleConnection;

    fn entry(at: NaiveDateTime) -> NewAuditEntry {
        NewAuditEntry {
            at,
            actor_kind: ActorKind::System,
            actor_id: None,
            action: AuditAction::Lockdown,
            case_id: None,
            target: None,
            request_id: None,
        }
    }

    /// A database as Corridor left it before the audit chain was keyed: a
    /// vault with the old check value, two entries chained by SHA-256 only.
    #[test]
    fn a_chain_made_before_keys_is_keyed_once_and_a_reset_head_is_not_keyed_again() {
        let dir = std::env::temp_dir().join(format!("corridor-vault-{}", uuid::Uuid::new_v4()));
        let pool =
            db::connect_pool(&format!("sqlite://{}", dir.join("x.db").display()), 1).unwrap();
        let mut conn = pool.get().unwrap();
        db::migrate(&mut conn).unwrap();
        let now = chrono::DateTime::from_timestamp(1_790_000_000, 0)
            .unwrap()
            .naive_utc();
        let master = MasterKey::generate();
        let mac = MacKey::generate();
        VaultRow::new(master.legacy_check_value(), master.wrap_mac_key(&mac), now)
            .insert(&mut conn)
            .unwrap();
        // Chained as before: the key's MACs taken off again, the head bare.
        let scratch = Keys::new(MasterKey::generate(), MacKey::generate());
        db::write(&mut conn, |c| {
            AuditEntry::append_all(c, scratch.audit(), vec![entry(now), entry(now)])
        })
        .unwrap();
        conn.batch_execute(
            "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET mac = NULL; \
             UPDATE audit_head SET mac = NULL, keyed_from = NULL",
        )
        .unwrap();

        let keys = open(&mut conn, master, now).unwrap();
        let head = audit::verify(&mut conn, keys.audit()).unwrap().unwrap();
        assert_eq!(head.last_id, 2, "the old entries hold by their hashes");
        db::write(&mut conn, |c| {
            AuditEntry::append(c, keys.audit(), entry(now))
        })
        .unwrap();
        let head = audit::verify(&mut conn, keys.audit()).unwrap().unwrap();
        assert_eq!(head.last_id, 3);
        let vault = VaultRow::get_locked(&mut conn).unwrap().unwrap();
        assert_eq!(keys.master().check(&vault.check_value), Some(true));

        // Reset by hand to look unkeyed: the next start keys nothing.
        conn.batch_execute("UPDATE audit_head SET mac = NULL, keyed_from = NULL")
            .unwrap();
        let master = MasterKey::from_base64(&keys.master().to_base64()).unwrap();
        let keys = open(&mut conn, master, now).unwrap();
        let broken = audit::verify(&mut conn, keys.audit()).unwrap().unwrap_err();
        assert_eq!(broken.id, 3);
        assert!(broken.reason.contains("carries no key"), "{broken:?}");
        drop(conn);
        drop(pool);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
