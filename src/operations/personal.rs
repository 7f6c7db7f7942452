//! A case's personal data: written and read only sealed under the case's
//! key, every read and write audited, a possible duplicate found by a keyed
//! hash without plaintext, and shredded for good by destroying the key.

use std::collections::HashMap;

use super::sealing::CaseKey;
use super::{Audited, Change};
use crate::crypto::vault::Keys;
use crate::db::{self, DbConnection};
use crate::domain::personal::{BirthDate, Handle};
use crate::domain::{AuditAction, CaseCode, CaseId, DomainError, Personal};
use crate::models::case::Case;
use crate::models::case_key::CaseKeyRow;
use crate::models::event_note::EventNote;
use crate::models::idempotency::IdempotencyRow;
use crate::models::personal::PersonalRow;

/// Personal data as stored, with its version (the ETag).
#[derive(Debug, Clone)]
pub struct Stored {
    pub personal: Personal,
    pub version: i32,
}

/// Another case that may be the same person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Duplicate {
    pub case_id: CaseId,
    pub code: CaseCode,
}

/// Reads a case's personal data, with the audit entry the read owes. No
/// case is 404; a case without personal data is 404 too; a shredded one 410.
pub fn read(
    conn: &mut DbConnection,
    case: &CaseId,
    change: &Change<'_>,
) -> Result<Audited<Stored>, DomainError> {
    let (key, stored) = PersonalRow::with_key(conn, case)?.ok_or(DomainError::NotFound)?;
    let key = key.ok_or(DomainError::NotFound)?;
    let key = CaseKey::unwrap(change.keys, key)?.ok_or(DomainError::Shredded)?;
    let opened = open(&key, &stored.ok_or(DomainError::NotFound)?)?;
    Ok(change.audited(opened, AuditAction::PersonalRead, Some(case), None))
}

/// Replaces a case's personal data (sealing each field), and audits the
/// write. Answers what is stored now and the other cases with the same
/// duplicate key.
pub fn write(
    conn: &mut DbConnection,
    case: &CaseId,
    personal: Personal,
    change: &Change<'_>,
) -> Result<(Stored, Vec<Duplicate>), DomainError> {
    Case::get_locked(conn, case)?;
    let key = CaseKey::get_or_create(conn, change.keys, case, change.now)?;
    let version = match PersonalRow::find(conn, case)? {
        Some(current) => {
            change.check_version(current.version)?;
            current.version + 1
        }
        None => 1,
    };
    let duplicate_key = personal
        .duplicate_basis()
        .map(|basis| change.keys.mac().mac(basis.as_bytes()));
    seal(
        &key,
        case,
        &personal,
        duplicate_key.clone(),
        version,
        change.now,
    )?
    .save(conn)?;
    let duplicates = match &duplicate_key {
        Some(dup) => PersonalRow::duplicates(conn, dup, case)?
            .into_iter()
            .map(|(case_id, code)| Duplicate { case_id, code })
            .collect(),
        None => Vec::new(),
    };
    change.audit(conn, AuditAction::PersonalWritten, Some(case), None)?;
    Ok((Stored { personal, version }, duplicates))
}

/// Destroys the case's data key, its sealed fields and notes, the
/// idempotent answers kept under its key and its duplicate key, in one
/// transaction; the case and its timeline stay. A
/// second shred is 410.
pub fn shred(
    conn: &mut DbConnection,
    case: &CaseId,
    action: AuditAction,
    change: &Change<'_>,
) -> Result<(), DomainError> {
    Case::get_locked(conn, case)?;
    if CaseKeyRow::get_locked(conn, case)?.is_some_and(|row| row.shredded_at.is_some()) {
        return Err(DomainError::Shredded);
    }
    CaseKeyRow::shred(conn, case, change.now)?;
    PersonalRow::delete(conn, case)?;
    EventNote::delete_for_case(conn, case)?;
    crate::models::document::Document::forget_numbers(conn, case)?;
    crate::models::leg::Leg::forget_bookings(conn, case)?;
    crate::models::expense::Expense::forget_notes(conn, case)?;
    IdempotencyRow::delete_for_case(conn, case)?;
    change.audit(conn, action, Some(case), None)
}

/// What a shred owes once committed: the case on the shred list, so that a
/// database restored from an older backup cannot open its key, and on
/// SQLite the write-ahead log emptied into the file, where `secure_delete`
/// has zeroed the shredded bytes. The shred stands whatever happens here:
/// a failure is logged (without the case).
pub fn after_shred(conn: &mut DbConnection, keys: &Keys, cases: &[CaseId]) {
    for case in cases {
        if let Err(e) = keys.shredded().record(case.as_str()) {
            log::error!("a shredded case could not be added to the shred list: {e}");
        }
    }
    match db::scrub_log(conn) {
        Ok(true) => {}
        Ok(false) => log::warn!("after a shred, readers held the SQLite log: it was not emptied"),
        Err(e) => log::error!("after a shred, the SQLite log could not be emptied: {e}"),
    }
}

/// The aliases of these cases, opened, for their shelter: a case with no
/// alias, or shredded, has none.
pub fn aliases(
    conn: &mut DbConnection,
    keys: &Keys,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, String>, DomainError> {
    let sealed: HashMap<CaseId, Vec<u8>> = PersonalRow::aliases(conn, cases)?
        .into_iter()
        .filter_map(|(case, alias)| Some((case, alias?)))
        .collect();
    if sealed.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<CaseId> = sealed.keys().cloned().collect();
    let mut aliases = HashMap::new();
    for row in CaseKeyRow::of_cases(conn, &ids)? {
        let case = row.case_id.clone();
        if let (Some(key), Some(alias)) = (CaseKey::unwrap(keys, row)?, sealed.get(&case)) {
            aliases.insert(case, key.open_text("alias", alias)?);
        }
    }
    Ok(aliases)
}

/// The stored row of `personal`, sealed under the case's key.
pub fn seal(
    key: &CaseKey,
    case: &CaseId,
    personal: &Personal,
    duplicate_key: Option<String>,
    version: i32,
    now: chrono::NaiveDateTime,
) -> Result<PersonalRow, DomainError> {
    let text = |purpose: &str, value: &Option<String>| {
        value.as_ref().map(|v| key.seal(purpose, v.as_bytes()))
    };
    let born = personal.date_of_birth.map(|d| d.0.to_string());
    let contacts = (!personal.contacts.is_empty())
        .then(|| serde_json::to_string(&personal.contacts))
        .transpose()
        .map_err(|e| DomainError::Internal(format!("contacts do not encode: {e}")))?;
    Ok(PersonalRow {
        case_id: case.clone(),
        legal_name: text("legal_name", &personal.legal_name),
        alias: text("alias", &personal.alias),
        date_of_birth: text("date_of_birth", &born),
        contacts: text("contacts", &contacts),
        notes: text("notes", &personal.notes),
        duplicate_key,
        version,
        updated_at: now,
    })
}

fn open(key: &CaseKey, row: &PersonalRow) -> Result<Stored, DomainError> {
    let text = |purpose: &str, sealed: &Option<Vec<u8>>| {
        sealed
            .as_ref()
            .map(|s| key.open_text(purpose, s))
            .transpose()
    };
    let born = text("date_of_birth", &row.date_of_birth)?
        .map(|d| d.parse().map(BirthDate))
        .transpose()
        .map_err(|_| DomainError::Internal("a sealed date of birth is malformed".into()))?;
    let contacts: Vec<Handle> = match text("contacts", &row.contacts)? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|_| DomainError::Internal("sealed contacts are malformed".into()))?,
        None => Vec::new(),
    };
    Ok(Stored {
        personal: Personal {
            legal_name: text("legal_name", &row.legal_name)?,
            alias: text("alias", &row.alias)?,
            date_of_birth: born,
            contacts,
            notes: text("notes", &row.notes)?,
        },
        version: row.version,
    })
}
