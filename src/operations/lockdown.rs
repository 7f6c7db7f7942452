//! The emergency lockdown: every session but the caller's and every API key
//! revoked at once, effective on the next request.

use serde::Serialize;

use super::Change;
use crate::db::DbConnection;
use crate::domain::{AuditAction, DomainError, SessionId};
use crate::models::api_key::ApiKeyRow;
use crate::models::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub sessions_revoked: usize,
    pub api_keys_revoked: usize,
}

/// Revokes every session but `keep` (the caller's, when an admin calls) and
/// every API key, and audits it.
pub fn lockdown(
    conn: &mut DbConnection,
    keep: Option<&SessionId>,
    change: &Change<'_>,
) -> Result<Revoked, DomainError> {
    let revoked = Revoked {
        sessions_revoked: Session::revoke_all(conn, None, keep, change.now)?,
        api_keys_revoked: ApiKeyRow::revoke_all(conn, change.now)?,
    };
    let counts = format!(
        "sessions:{} api_keys:{}",
        revoked.sessions_revoked, revoked.api_keys_revoked
    );
    change.audit(conn, AuditAction::Lockdown, None, Some(counts))?;
    Ok(revoked)
}
