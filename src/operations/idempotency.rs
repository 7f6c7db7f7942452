//! Keeping and replaying the first answer to a POST with an
//! `Idempotency-Key`. The answer is sealed under a data key of its own,
//! wrapped by the master key and bound to its caller and key: it may hold a
//! new API key. An answer that holds a case's personal data (a note) is
//! sealed under that case's key instead and names the case, so the case's
//! shred deletes it, and a copy that outlived the key (a restored backup)
//! no longer opens: the request runs afresh.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::crypto::vault::{DataKey, Keys, MasterKey};
use crate::db::DbConnection;
use crate::domain::{CaseId, Clearance, DomainError};
use crate::models::case_key::CaseKeyRow;
use crate::models::idempotency::{Claim, IdempotencyRow};
use crate::operations::sealing::CaseKey;

/// An answer as kept: status, the headers that describe it, the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Base64 of the body's bytes.
    body: String,
    /// Whom the endpoint admitted when it answered: a replay to a caller
    /// whose role it no longer admits is refused, as a fresh request is.
    #[serde(default)]
    pub clearance: Option<Clearance>,
}

impl Answer {
    pub fn new(
        status: u16,
        headers: Vec<(String, String)>,
        body: &[u8],
        clearance: Option<Clearance>,
    ) -> Self {
        Self {
            status,
            headers,
            body: STANDARD.encode(body),
            clearance,
        }
    }

    pub fn body(&self) -> Result<Vec<u8>, DomainError> {
        STANDARD
            .decode(&self.body)
            .map_err(|_| DomainError::Internal("a kept answer is not base64".into()))
    }
}

/// What binds a kept answer to its caller and key.
fn context(principal: &str, key_hash: &str) -> Vec<u8> {
    purpose(principal, key_hash).into_bytes()
}

fn purpose(principal: &str, key_hash: &str) -> String {
    format!("idempotency:{principal}:{key_hash}")
}

/// What a request with a key may do.
pub enum Outcome {
    /// Run it, and keep its answer.
    Run,
    /// Answer this again.
    Replay(Answer),
    /// The first request with this key is still running.
    Running,
    /// The key was used for another request.
    Mismatch,
}

/// Claims the key for this request; in the caller's writing transaction.
pub fn claim(
    conn: &mut DbConnection,
    keys: &Keys,
    principal: &str,
    key_hash: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<Outcome, DomainError> {
    let row = match IdempotencyRow::claim(conn, principal, key_hash, fingerprint, now)? {
        Claim::First => return Ok(Outcome::Run),
        Claim::Running => return Ok(Outcome::Running),
        Claim::Mismatch => return Ok(Outcome::Mismatch),
        Claim::Done(row) => row,
    };
    let answer = match &row.case_id {
        Some(case) => open_under_case(conn, keys, case, &row)?,
        None => Some(open(keys.master(), &row)?),
    };
    match answer {
        Some(answer) => Ok(Outcome::Replay(answer)),
        // Its case was shredded: nothing of it is left to answer with.
        None => {
            IdempotencyRow::release(conn, principal, key_hash)?;
            IdempotencyRow::claim(conn, principal, key_hash, fingerprint, now)?;
            Ok(Outcome::Run)
        }
    }
}

fn broken() -> DomainError {
    DomainError::Internal("a kept answer does not open".into())
}

/// An answer sealed under its case's key; `None` once that key is gone.
fn open_under_case(
    conn: &mut DbConnection,
    keys: &Keys,
    case: &CaseId,
    row: &IdempotencyRow,
) -> Result<Option<Answer>, DomainError> {
    let Some(key) = CaseKeyRow::find(conn, case)? else {
        return Ok(None);
    };
    let Some(key) = CaseKey::unwrap(keys, key)? else {
        return Ok(None);
    };
    let sealed = row.response.as_ref().ok_or_else(broken)?;
    let text = key.open(&purpose(&row.principal, &row.key_hash), sealed)?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|_| broken())
}

fn open(master: &MasterKey, row: &IdempotencyRow) -> Result<Answer, DomainError> {
    let context = context(&row.principal, &row.key_hash);
    let (Some(wrapped), Some(sealed)) = (&row.wrapped_key, &row.response) else {
        return Err(broken());
    };
    let key = master
        .unwrap_data_key(wrapped, &context)
        .map_err(|_| broken())?;
    let text = key.open(sealed, &context).map_err(|_| broken())?;
    serde_json::from_slice(&text).map_err(|_| broken())
}

/// Keeps the answer of the first request, sealed: under `case`'s key when
/// it holds that case's personal data (not kept at all once the case is
/// shredded), else under a key of its own.
pub fn keep(
    conn: &mut DbConnection,
    keys: &Keys,
    principal: &str,
    key_hash: &str,
    answer: &Answer,
    case: Option<&CaseId>,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let text = zeroize::Zeroizing::new(
        serde_json::to_vec(answer).map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let Some(case) = case else {
        let context = context(principal, key_hash);
        let key = DataKey::generate();
        let sealed = key.seal(&text, &context);
        let wrapped = keys.master().wrap_data_key(&key, &context);
        return Ok(IdempotencyRow::finish(
            conn,
            principal,
            key_hash,
            Some(wrapped),
            sealed,
            None,
        )?);
    };
    match CaseKey::get_or_create(conn, keys, case, now) {
        Ok(key) => {
            let sealed = key.seal(&purpose(principal, key_hash), &text);
            Ok(IdempotencyRow::finish(
                conn,
                principal,
                key_hash,
                None,
                sealed,
                Some(case),
            )?)
        }
        Err(DomainError::Shredded) => Ok(IdempotencyRow::release(conn, principal, key_hash)?),
        Err(e) => Err(e),
    }
}

/// Re-wraps every kept answer's key under `new` (a master key rotation).
pub fn rotate(conn: &mut DbConnection, keys: &Keys, new: &MasterKey) -> Result<(), DomainError> {
    for (principal, key_hash, wrapped) in IdempotencyRow::all_wrapped(conn)? {
        let context = context(&principal, &key_hash);
        let key = keys
            .master()
            .unwrap_data_key(&wrapped, &context)
            .map_err(|_| DomainError::Internal("a kept answer's key does not unwrap".into()))?;
        IdempotencyRow::rewrap(
            conn,
            &principal,
            &key_hash,
            new.wrap_data_key(&key, &context),
        )?;
    }
    Ok(())
}
