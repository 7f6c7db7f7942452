//! Keeping and replaying the first answer to a POST with an
//! `Idempotency-Key`. The answer is sealed under a data key of its own,
//! wrapped by the master key and bound to its caller and key, like personal
//! data: it may hold a new API key or a note.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::crypto::vault::{DataKey, Keys, MasterKey};
use crate::db::DbConnection;
use crate::domain::DomainError;
use crate::models::idempotency::{Claim, IdempotencyRow};

/// An answer as kept: status, the headers that describe it, the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Base64 of the body's bytes.
    body: String,
}

impl Answer {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Self {
        Self {
            status,
            headers,
            body: STANDARD.encode(body),
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
    format!("idempotency:{principal}:{key_hash}").into_bytes()
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
    Ok(
        match IdempotencyRow::claim(conn, principal, key_hash, fingerprint, now)? {
            Claim::First => Outcome::Run,
            Claim::Running => Outcome::Running,
            Claim::Mismatch => Outcome::Mismatch,
            Claim::Done(row) => Outcome::Replay(open(keys.master(), &row)?),
        },
    )
}

fn open(master: &MasterKey, row: &IdempotencyRow) -> Result<Answer, DomainError> {
    let broken = || DomainError::Internal("a kept answer does not open".into());
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

/// Keeps the answer of the first request, sealed.
pub fn keep(
    conn: &mut DbConnection,
    keys: &Keys,
    principal: &str,
    key_hash: &str,
    answer: &Answer,
) -> Result<(), DomainError> {
    let context = context(principal, key_hash);
    let key = DataKey::generate();
    let text = serde_json::to_vec(answer).map_err(|e| DomainError::Internal(e.to_string()))?;
    let sealed = key.seal(&text, &context);
    let wrapped = keys.master().wrap_data_key(&key, &context);
    Ok(IdempotencyRow::finish(
        conn, principal, key_hash, wrapped, sealed,
    )?)
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
