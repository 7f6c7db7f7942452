//! The audit log, for admins: oldest first, in pages after an entry id.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{CursorKind, Listing};
use crate::auth::Admin;
use crate::db;
use crate::domain::{ActorKind, AuditAction, CaseId};
use crate::error::AppError;
use crate::models::audit::AuditEntry;
use crate::state::AppState;

/// `?after=<id>` (the API's name for the cursor of this list).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    after: Option<u32>,
}

/// Cursors of the audit log: entry ids.
pub struct EntryCursor;

impl CursorKind for EntryCursor {
    fn parse(text: &str) -> Option<String> {
        text.parse::<u32>().ok().map(|id| id.to_string())
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = AuditActor)]
pub struct ActorView {
    kind: ActorKind,
    id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EntryView {
    id: i32,
    at: DateTime<Utc>,
    actor: ActorView,
    action: AuditAction,
    case_id: Option<CaseId>,
    target: Option<String>,
    request_id: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<AuditEntry> for EntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at.and_utc(),
            actor: ActorView {
                kind: e.actor_kind,
                id: e.actor_id,
            },
            action: e.action,
            case_id: e.case_id,
            target: e.target,
            request_id: e.request_id,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "audit_list",
    tag = "admin",
    security(("staff" = [])),
    params(AuditFilter, Paging),
    responses(
        (status = 200, description = "A page of audit entries, oldest first", body = Page<EntryView>),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    Listing { filter, page, .. }: Listing<AuditFilter, EntryCursor>,
) -> Result<HttpResponse, AppError> {
    let cursor = page.after.as_deref().and_then(|c| c.parse::<i32>().ok());
    let after = filter
        .after
        .map_or(cursor.unwrap_or(0), |a| a.min(i32::MAX as u32) as i32);
    let limit = page.limit + 1;
    let rows = db::run(&state.pool, move |conn| {
        Ok(AuditEntry::list(conn, after, limit)?)
    })
    .await?;
    Ok(super::page_response(page.page(
        rows,
        |e| e.id.to_string(),
        EntryView::from,
    )))
}
