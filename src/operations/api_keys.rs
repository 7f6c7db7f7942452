//! Partner API keys, issued and revoked by admins, each audited.

use super::Change;
use crate::db::DbConnection;
use crate::domain::{ApiKeyId, AuditAction, DomainError, ShelterId};
use crate::models::api_key::ApiKeyRow;
use crate::models::shelter::Shelter;

/// Stores a new key (its prefix and hash, never the key) for its shelter.
pub fn issue(
    conn: &mut DbConnection,
    row: ApiKeyRow,
    change: &Change<'_>,
) -> Result<ApiKeyRow, DomainError> {
    Shelter::find(conn, &row.shelter_id)?;
    row.insert(conn)?;
    change.audit(
        conn,
        AuditAction::ApiKeyCreated,
        None,
        Some(row.id.to_string()),
    )?;
    Ok(row)
}

/// Revokes a key of `shelter`; it stops working on the very next request.
/// Revoking a revoked key again changes nothing; a key of another shelter
/// is 404.
pub fn revoke(
    conn: &mut DbConnection,
    shelter: &ShelterId,
    key: &ApiKeyId,
    change: &Change<'_>,
) -> Result<(), DomainError> {
    if ApiKeyRow::revoke(conn, shelter, key, change.now)? == 1 {
        return change.audit(
            conn,
            AuditAction::ApiKeyRevoked,
            None,
            Some(key.to_string()),
        );
    }
    ApiKeyRow::find_in_shelter(conn, shelter, key)?.ok_or(DomainError::NotFound)?;
    Ok(())
}
