//! Admins only: the email outbox (what is not delivered yet, what was given
//! up on) and the emergency lockdown.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{Body, Listing};
use crate::auth::Admin;
use crate::db;
use crate::domain::string_enum;
use crate::error::AppError;
use crate::models::outbox::OutboxMessage;
use crate::operations::lockdown::{self, Revoked};
use crate::state::AppState;

/// A lockdown takes no options: an empty body, or `{}`. Anything else is
/// refused like a misspelt field anywhere, rather than ignored.
#[derive(Deserialize, validator::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockdownBody {}

string_enum!(
    /// Which undelivered emails to list.
    Delivery {
        Pending => "pending",
        Dead => "dead",
    }
);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    state: Option<Delivery>,
}

/// An undelivered email as admins see it.
#[derive(Serialize, ToSchema)]
pub struct OutboxView {
    id: String,
    dedupe_key: String,
    recipient: String,
    subject: String,
    created_at: DateTime<Utc>,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    dead_at: Option<DateTime<Utc>>,
}

impl From<OutboxMessage> for OutboxView {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            dedupe_key: m.dedupe_key,
            recipient: m.recipient,
            subject: m.subject,
            created_at: m.created_at.and_utc(),
            attempts: m.attempts,
            last_error: m.last_error,
            next_attempt_at: m.next_attempt_at.and_utc(),
            dead_at: m.dead_at.map(|t| t.and_utc()),
        }
    }
}

/// Emails not delivered yet (`?state=pending`, the default) or given up on
/// (`?state=dead`).
#[utoipa::path(
    get,
    path = "/api/v1/admin/outbox",
    operation_id = "admin_outbox",
    tag = "admin",
    security(("staff" = [])),
    params(OutboxFilter, Paging),
    responses(
        (status = 200, description = "A page of undelivered emails", body = Page<OutboxView>),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn outbox(
    state: web::Data<AppState>,
    _admin: Admin,
    Listing { filter, page, .. }: Listing<OutboxFilter>,
) -> Result<HttpResponse, AppError> {
    let dead = filter.state == Some(Delivery::Dead);
    let query = page.clone();
    let rows = db::run(&state.pool, move |conn| {
        Ok(OutboxMessage::undelivered(conn, dead, &query)?)
    })
    .await?;
    Ok(super::page_response(page.page(
        rows,
        |m| m.id.clone(),
        OutboxView::from,
    )))
}

/// Revokes every session but the caller's and every API key, at once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/lockdown",
    operation_id = "admin_lockdown",
    tag = "admin",
    security(("staff" = [])),
    request_body = Option<LockdownBody>,
    responses(
        (status = 200, description = "What was revoked", body = Revoked),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn lockdown(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    Body(LockdownBody {}): Body<LockdownBody>,
) -> Result<HttpResponse, AppError> {
    let keep = admin.session_id.clone();
    let revoked = state
        .change(admin.actor(), None, move |conn, change| {
            lockdown::lockdown(conn, Some(&keep), change)
        })
        .await?;
    // Its counts are true once: a retry with the same key locks down again.
    Ok(super::idempotency::not_kept(
        HttpResponse::Ok().json(revoked),
    ))
}
