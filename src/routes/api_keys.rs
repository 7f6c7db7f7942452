//! API keys of partner shelters, issued and revoked by admins.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::{parse_id, Fields, Page};
use crate::auth::api_key::ApiKey;
use crate::auth::Admin;
use crate::db;
use crate::error::AppError;
use crate::models::api_key::ApiKeyRow;
use crate::models::shelter::Shelter;
use crate::startup::AppState;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[validate(length(max = 100), custom(function = "super::not_blank"))]
    label: String,
    expires_at: Option<String>,
}

/// The answer to issuing a key: the only time `key` is ever shown.
#[derive(Serialize)]
pub struct NewKeyView {
    id: String,
    label: String,
    key: String,
    prefix: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

/// A key as listed: never its secret or hash.
#[derive(Serialize)]
pub struct KeyView {
    id: String,
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

pub async fn create(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<String>,
    body: web::Json<CreateKey>,
) -> Result<HttpResponse, AppError> {
    let shelter_id = parse_id(&path)?;
    let body = body.into_inner();
    let now = state.clock.now();
    let mut fields = Fields::from_validator(body.validate());
    let expires_at =
        body.expires_at.as_deref().and_then(|text| {
            match DateTime::parse_from_rfc3339(text.trim()) {
                Ok(at) if at > now => Some(at.with_timezone(&Utc)),
                Ok(_) => {
                    fields.error("expires_at", "must be in the future");
                    None
                }
                Err(_) => {
                    fields.error(
                        "expires_at",
                        "must be an RFC 3339 time, such as 2027-01-01T00:00:00Z",
                    );
                    None
                }
            }
        });
    fields.finish()?;
    let key = ApiKey::generate();
    let row = ApiKeyRow {
        id: crate::models::new_id(),
        shelter_id,
        label: body.label.trim().to_string(),
        prefix: key.prefix().to_string(),
        key_hash: key.hash(),
        created_by: Some(admin.id),
        created_at: now.naive_utc(),
        expires_at: expires_at.map(|t| t.naive_utc()),
        last_used_at: None,
        revoked_at: None,
    };
    let row = db::run(&state.pool, move |conn| {
        Shelter::find(conn, &row.shelter_id)?;
        row.insert(conn)?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created().json(NewKeyView {
        id: row.id,
        label: row.label,
        key: key.as_str().to_string(),
        prefix: row.prefix,
        created_at: row.created_at.and_utc(),
        expires_at: row.expires_at.map(|t| t.and_utc()),
    }))
}

pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let shelter_id = parse_id(&path)?;
    let keys = db::run(&state.pool, move |conn| {
        Shelter::find(conn, &shelter_id)?;
        Ok(ApiKeyRow::list_for_shelter(conn, &shelter_id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: keys.into_iter().map(KeyView::from).collect(),
        next_cursor: None,
    }))
}

/// Revokes a key; it stops working on the very next request. Revoking a
/// revoked key again changes nothing.
pub async fn revoke(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (shelter_id, key_id) = path.into_inner();
    let (shelter_id, key_id) = (parse_id(&shelter_id)?, parse_id(&key_id)?);
    let now = state.clock.now().naive_utc();
    db::run(&state.pool, move |conn| {
        if ApiKeyRow::revoke(conn, &shelter_id, &key_id, now)? == 0
            && ApiKeyRow::find_in_shelter(conn, &shelter_id, &key_id)?.is_none()
        {
            return Err(AppError::not_found());
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
