//! API keys of partner shelters, issued and revoked by admins.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::TimedBody;
use super::text::not_blank;
use crate::auth::api_key::ApiKey;
use crate::auth::Admin;
use crate::db;
use crate::domain::vocab::in_future;
use crate::domain::{ApiKeyId, ShelterId, Timestamp, UserId};
use crate::error::AppError;
use crate::models::api_key::ApiKeyRow;
use crate::models::shelter::Shelter;
use crate::models::Page;
use crate::operations::api_keys;
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(context = crate::domain::Now)]
pub struct CreateKey {
    #[validate(length(max = 100), custom(function = "not_blank"))]
    #[schema(max_length = 100, min_length = 1, pattern = "\\S")]
    label: String,
    #[validate(custom(function = "in_future", use_context))]
    expires_at: Option<Timestamp>,
}

impl CreateKey {
    /// The row of a new key: its prefix and hash, never the key.
    fn into_row(
        self,
        shelter_id: ShelterId,
        key: &ApiKey,
        by: UserId,
        now: NaiveDateTime,
    ) -> ApiKeyRow {
        ApiKeyRow {
            id: ApiKeyId::new(),
            shelter_id,
            label: self.label.trim().to_string(),
            prefix: key.prefix().to_string(),
            key_hash: key.hash(),
            created_by: Some(by),
            created_at: now,
            expires_at: self.expires_at.map(|t| t.0.naive_utc()),
            last_used_at: None,
            revoked_at: None,
            window_start: None,
            window_count: 0,
        }
    }
}

/// The answer to issuing a key: the only time `key` is ever shown.
#[derive(Serialize, ToSchema)]
pub struct NewKeyView {
    id: ApiKeyId,
    label: String,
    key: String,
    prefix: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

/// A key as listed: never its secret or hash.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    id: ApiKeyId,
    label: String,
    prefix: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for KeyView {
    fn from(k: ApiKeyRow) -> Self {
        Self {
            id: k.id,
            label: k.label,
            prefix: k.prefix,
            created_at: k.created_at.and_utc(),
            expires_at: k.expires_at.map(|t| t.and_utc()),
            last_used_at: k.last_used_at.map(|t| t.and_utc()),
            revoked_at: k.revoked_at.map(|t| t.and_utc()),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/shelters/{id}/api-keys",
    operation_id = "api_keys_create",
    tag = "shelters",
    security(("staff" = [])),
    params(("id" = ShelterId, Path, description = "The shelter")),
    request_body = CreateKey,
    responses(
        (status = 201, description = "The new key: `key` is shown this once", body = NewKeyView),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    shelter_id: web::Path<ShelterId>,
    TimedBody(body): TimedBody<CreateKey>,
) -> Result<HttpResponse, AppError> {
    let key = ApiKey::generate();
    let row = body.into_row(shelter_id.into_inner(), &key, admin.id.clone(), state.now());
    let row = state
        .change(admin.actor(), None, move |conn, change| {
            api_keys::issue(conn, row, change)
        })
        .await?;
    Ok(HttpResponse::Created().json(NewKeyView {
        key: key.as_str().to_string(),
        id: row.id,
        label: row.label,
        prefix: row.prefix,
        created_at: row.created_at.and_utc(),
        expires_at: row.expires_at.map(|t| t.and_utc()),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/shelters/{id}/api-keys",
    operation_id = "api_keys_list",
    tag = "shelters",
    security(("staff" = [])),
    params(("id" = ShelterId, Path, description = "The shelter")),
    responses(
        (status = 200, description = "The shelter's keys (never their secrets)", body = Page<KeyView>),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    shelter_id: web::Path<ShelterId>,
) -> Result<HttpResponse, AppError> {
    let keys = db::run(&state.pool, move |conn| {
        Shelter::find(conn, &shelter_id)?;
        Ok(ApiKeyRow::list_for_shelter(conn, &shelter_id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: keys.into_iter().map(KeyView::from).collect(),
        next_cursor: None,
        total: None,
    }))
}

/// Revokes a key; it stops working on the very next request. Revoking a
/// revoked key again changes nothing.
#[utoipa::path(
    delete,
    path = "/api/v1/shelters/{id}/api-keys/{key_id}",
    operation_id = "api_keys_revoke",
    tag = "shelters",
    security(("staff" = [])),
    params(("id" = ShelterId, Path, description = "The shelter"), ("key_id" = ApiKeyId, Path, description = "The key")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn revoke(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<(ShelterId, ApiKeyId)>,
) -> Result<HttpResponse, AppError> {
    let (shelter, key) = path.into_inner();
    state
        .change(admin.actor(), None, move |conn, change| {
            api_keys::revoke(conn, &shelter, &key, change)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
