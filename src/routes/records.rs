//! The records of a case (documents, legs, expenses, consents): a page of
//! them, and the single read of one that holds a sealed personal field (a
//! document's number, a leg's booking reference).

use actix_web::HttpResponse;

use crate::auth::AuthUser;
use crate::db::{self, DbConnection};
use crate::domain::{AuditAction, CaseId, CaseRef, DomainError};
use crate::error::AppError;
use crate::models::case::Case;
use crate::models::PageRequest;
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

/// Loads a page of one case's records.
pub type Load<R> = fn(&mut DbConnection, &CaseId, &PageRequest) -> diesel::QueryResult<Vec<R>>;

/// A page of the records of `case` that `load` reads, oldest first (by
/// id), each as `view` shows it: 404 for a case that does not exist.
pub async fn page<R, V>(
    state: &AppState,
    case: CaseRef,
    page: PageRequest,
    load: Load<R>,
    key: fn(&R) -> String,
    view: fn(R) -> V,
) -> Result<HttpResponse, AppError>
where
    R: Send + 'static,
    V: serde::Serialize,
{
    let query = page.clone();
    let rows = db::run(&state.pool, move |conn| {
        let id = Case::find_ref(conn, &case)?.id;
        Ok(load(conn, &id, &query)?)
    })
    .await?;
    Ok(super::page_response(page.page(rows, key, view)))
}
