//! Sealed text on a case: the case's data key, unwrapped for one operation
//! (created on first need, wiped when dropped), and the free-text notes of
//! its timeline, each sealed in a row of its own.
//!
//! An event with a note says so in its clear detail with the note's key set
//! to `null` (`{"channel": "signal", "note": null}`); the text itself lives
//! only in `event_notes`. After a shred the note is gone and the event shows
//! `null` with `"redacted": true`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::crypto::vault::{DataKey, Keys};
use crate::db::DbConnection;
use crate::domain::{CaseId, DomainError, EventKind};
use crate::models::case_key::CaseKeyRow;
use crate::models::event::Event;
use crate::models::event_note::EventNote;
use crate::models::vault::VaultRow;

/// A case's data key, unwrapped.
pub struct CaseKey {
    case_id: CaseId,
    version: i32,
    key: DataKey,
}

impl CaseKey {
    /// The case's key, locked for the transaction, created when it has none.
    /// A shredded case has none and never gets one again.
    pub fn get_or_create(
        conn: &mut DbConnection,
        keys: &Keys,
        case: &CaseId,
        now: NaiveDateTime,
    ) -> Result<CaseKey, DomainError> {
        if let Some(row) = CaseKeyRow::get_locked(conn, case)? {
            return Self::unwrap(keys, row)?.ok_or(DomainError::Shredded);
        }
        // A key wrapped under a master key the vault no longer knows (after
        // a rotation this process has not seen) could never be opened.
        let vault = VaultRow::get_locked(conn)?;
        if !vault.is_some_and(|v| keys.master().opens(&v.check_value)) {
            return Err(DomainError::Internal(
                "the master key changed under this process: restart it with the new key".into(),
            ));
        }
        let (key, row) = Self::fresh(keys, case, now);
        row.insert(conn)?;
        Ok(key)
    }

    /// A new key for a case that has none, and the row that stores it
    /// wrapped (for the caller to insert).
    pub fn fresh(keys: &Keys, case: &CaseId, now: NaiveDateTime) -> (CaseKey, CaseKeyRow) {
        let key = DataKey::generate();
        let version = 1;
        let row = CaseKeyRow {
            case_id: case.clone(),
            wrapped_key: Some(
                keys.master()
                    .wrap_data_key(&key, &wrap_context(case, version)),
            ),
            key_version: version,
            created_at: now,
            shredded_at: None,
        };
        let key = CaseKey {
            case_id: case.clone(),
            version,
            key,
        };
        (key, row)
    }

    /// The key of a stored row: `None` when it was shredded, here or (a
    /// database restored from an older backup) by the shred list.
    pub fn unwrap(keys: &Keys, row: CaseKeyRow) -> Result<Option<CaseKey>, DomainError> {
        let Some(wrapped) = row.wrapped_key else {
            return Ok(None);
        };
        if keys.shredded().contains(row.case_id.as_str()) {
            return Ok(None);
        }
        let key = keys
            .master()
            .unwrap_data_key(&wrapped, &wrap_context(&row.case_id, row.key_version))
            .map_err(|_| DomainError::Internal("a case key does not unwrap".into()))?;
        Ok(Some(CaseKey {
            case_id: row.case_id,
            version: row.key_version,
            key,
        }))
    }

    /// Seals `text` as `purpose` (a field name, or `note:<event id>`).
    pub fn seal(&self, purpose: &str, text: &[u8]) -> Vec<u8> {
        self.key.seal(text, &self.context(purpose))
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, DomainError> {
        self.key
            .open(sealed, &self.context(purpose))
            .map_err(|_| DomainError::Internal("sealed data does not open".into()))
    }

    /// Opens sealed text as a string.
    pub fn open_text(&self, purpose: &str, sealed: &[u8]) -> Result<String, DomainError> {
        let bytes = self.open(purpose, sealed)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| DomainError::Internal("sealed text is not UTF-8".into()))
    }

    /// What a ciphertext is bound to: the case, the purpose, the key version.
    fn context(&self, purpose: &str) -> Vec<u8> {
        format!("corridor/v1/{}/{purpose}/{}", self.case_id, self.version).into_bytes()
    }
}

/// Seals one personal field of a record of `case` (a document's number, a
/// booking reference) as `purpose`, under the case's key: 410 when the case
/// was shredded.
pub fn seal_field(
    conn: &mut DbConnection,
    keys: &Keys,
    case: &CaseId,
    purpose: &str,
    text: &str,
    now: NaiveDateTime,
) -> Result<Vec<u8>, DomainError> {
    let key = CaseKey::get_or_create(conn, keys, case, now)?;
    Ok(key.seal(purpose, text.as_bytes()))
}

/// Opens a field [`seal_field`] sealed; none when none is stored (a shred
/// clears them).
pub fn open_field(
    conn: &mut DbConnection,
    keys: &Keys,
    case: &CaseId,
    purpose: &str,
    sealed: Option<&[u8]>,
    now: NaiveDateTime,
) -> Result<Option<String>, DomainError> {
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let key = CaseKey::get_or_create(conn, keys, case, now)?;
    Ok(Some(key.open_text(purpose, sealed)?))
}

/// What a wrapped case key is bound to.
pub fn wrap_context(case: &CaseId, version: i32) -> Vec<u8> {
    format!("corridor/v1/case-key/{case}/{version}").into_bytes()
}

/// The key of an event's detail that holds its free text.
pub fn note_field(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Snooze => "reason",
        _ => "note",
    }
}

/// Gives `event` its note: the detail says a note exists, the text is
/// sealed under the case's key. Call before inserting the event.
pub fn add_note(
    conn: &mut DbConnection,
    keys: &Keys,
    event: &mut Event,
    text: Option<String>,
    now: NaiveDateTime,
) -> Result<Option<EventNote>, DomainError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let text = Zeroizing::new(text);
    let mut detail = event.detail_json();
    if let Some(object) = detail.as_object_mut() {
        object.insert(note_field(event.kind).into(), Value::Null);
    }
    event.detail = Some(detail.to_string());
    let key = CaseKey::get_or_create(conn, keys, &event.case_id, now)?;
    Ok(Some(note_row(&key, event, &text)))
}

/// An event's note, sealed under its case's key.
pub fn note_row(key: &CaseKey, event: &Event, text: &str) -> EventNote {
    EventNote {
        event_id: event.id.clone(),
        case_id: event.case_id.clone(),
        sealed: key.seal(&note_purpose(&event.id), text.as_bytes()),
    }
}

/// Inserts an event with its sealed note (if any).
pub fn insert_with_note(
    conn: &mut DbConnection,
    keys: &Keys,
    mut event: Event,
    text: Option<String>,
    now: NaiveDateTime,
) -> Result<Event, DomainError> {
    let note = add_note(conn, keys, &mut event, text, now)?;
    event.insert(conn)?;
    if let Some(note) = note {
        note.insert(conn)?;
    }
    Ok(event)
}

/// An event's detail with `note` in its place: what its writer sent, to
/// answer them with.
pub fn detail_with_note(event: &Event, note: Option<&str>) -> Value {
    let mut detail = event.detail_json();
    if let (Some(note), Some(object)) = (note, detail.as_object_mut()) {
        object.insert(note_field(event.kind).into(), note.into());
    }
    detail
}

fn note_purpose(event_id: &str) -> String {
    format!("note:{event_id}")
}

/// The details of `events` (all of one case) as staff read them. With
/// `reveal` (coordinators and admins) each sealed note is opened in place,
/// or `null` with `"redacted": true` once the case was shredded; without it
/// (observers) no note is opened and the detail says only `"has_note": true`.
/// Also says whether any note was opened: that read is owed an audit entry.
pub fn open_details(
    conn: &mut DbConnection,
    keys: &Keys,
    case: &CaseId,
    events: &[Event],
    reveal: bool,
) -> Result<(HashMap<String, Value>, bool), DomainError> {
    let with_notes: Vec<String> = events
        .iter()
        .filter(|e| e.detail_json().get(note_field(e.kind)) == Some(&Value::Null))
        .map(|e| e.id.clone())
        .collect();
    let notes = if with_notes.is_empty() || !reveal {
        Vec::new()
    } else {
        EventNote::of_events(conn, &with_notes)?
    };
    let key = match (notes.is_empty(), CaseKeyRow::find(conn, case)?) {
        (false, Some(row)) => CaseKey::unwrap(keys, row)?,
        _ => None,
    };
    let mut opened = HashMap::new();
    for note in notes {
        if let Some(key) = &key {
            let text = key.open_text(&note_purpose(&note.event_id), &note.sealed)?;
            opened.insert(note.event_id, text);
        }
    }
    let any_opened = !opened.is_empty();
    let mut details = HashMap::new();
    for event in events {
        let mut detail = event.detail_json();
        let field = note_field(event.kind);
        if let (true, Some(object)) = (with_notes.contains(&event.id), detail.as_object_mut()) {
            object.insert("has_note".into(), true.into());
            if !reveal {
                object.remove(field);
            } else if let Some(text) = opened.remove(&event.id) {
                object.insert(field.into(), text.into());
            } else {
                object.insert("redacted".into(), true.into());
            }
        }
        details.insert(event.id.clone(), detail);
    }
    Ok((details, any_opened))
}
