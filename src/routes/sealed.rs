//! A record of a case that holds one sealed personal field (a document's
//! number, a leg's booking reference), as its single read answers it.

use crate::auth::AuthUser;
use crate::db::{self, DbConnection};
use crate::domain::{AuditAction, CaseId, DomainError};
use crate::error::AppError;
use crate::operations::Change;
use crate::state::AppState;

/// Finds a record of a case: the case's id and the record.
pub type Find<R> = Box<dyn FnOnce(&mut DbConnection) -> Result<(CaseId, R), DomainError> + Send>;

/// Opens the record's sealed field (none when none is stored).
pub type Open<R> = fn(&mut DbConnection, &R, &Change<'_>) -> Result<Option<String>, DomainError>;

/// The record `find` finds, and its field: opened for coordinators and
/// admins (one `personal.read` naming `target`), absent for observers, who
/// read nothing personal and so leave nothing to audit.
pub async fn read<R: Send + 'static>(
    state: &AppState,
    user: &AuthUser,
    find: Find<R>,
    open: Open<R>,
    target: fn(&R) -> String,
) -> Result<(R, Option<Option<String>>), AppError> {
    if !user.role.can_write_cases() {
        let (_, record) = db::run(&state.pool, move |conn| Ok(find(conn)?)).await?;
        return Ok((record, None));
    }
    state
        .read_audited(user.actor(), move |conn, change| {
            let (case, record) = find(conn)?;
            let field = open(conn, &record, change)?;
            let target = Some(target(&record));
            let read = (record, Some(field));
            Ok(change.audited(read, AuditAction::PersonalRead, Some(&case), target))
        })
        .await
}
