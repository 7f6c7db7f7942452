//! Liveness and readiness.

use super::answers::*;
use utoipa::ToSchema;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::db;
use crate::error::AppError;
use crate::operations::storage;
use crate::state::AppState;

/// What the health checks answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready`.
    status: &'static str,
}

/// What this server is.
#[derive(Serialize, ToSchema)]
pub struct VersionView {
    /// The release, e.g. `0.1.0`.
    version: &'static str,
    /// The commit it was built from (12 hex digits), or `unknown`.
    commit: &'static str,
    /// The newest database migration applied, e.g. `20261126000006`.
    schema_version: Option<String>,
}

/// The version of this server and of its database schema.
#[utoipa::path(
    get,
    path = "/api/v1/version",
    operation_id = "health_version",
    tag = "meta",
    responses((status = 200, description = "What this server is", body = VersionView)),
)]
pub async fn version(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let schema_version = db::run(&state.pool, |conn| {
        db::schema_version(conn).map_err(|e| AppError::internal(e.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(VersionView {
        version: crate::version::VERSION,
        commit: crate::version::COMMIT,
        schema_version,
    }))
}

/// 200 while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health_healthz",
    tag = "meta",
    responses(
        (status = 200, description = "The process runs", body = Health),
    ),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// What readiness answers: the database, and whether writes have room.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`.
    status: &'static str,
    /// `ok`: it answers and is migrated.
    database: &'static str,
    /// `ok`, or `full` while writes fail for lack of disk space (then the
    /// answer is 503 with this member).
    storage: &'static str,
}

/// 200 when the database answers, is fully migrated and has room to
/// write; else 503. While a full disk makes writes fail (`storage: full`
/// in the 503's body), each call tries a small write first, so readiness
/// comes back by itself once space is freed.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "health_readyz",
    tag = "meta",
    responses(
        (status = 200, description = "The database answers, is migrated and has room", body = Readiness),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let context = state.context.clone();
    let pending = db::run(&state.pool, move |conn| {
        let pending = db::has_pending_migrations(conn).map_err(|_| AppError::unavailable())?;
        storage::probe(conn, &context.storage, now);
        Ok(pending)
    })
    .await
    .map_err(|_| AppError::unavailable())?;
    if pending {
        return Err(AppError::unavailable());
    }
    if state.context.storage.is_full() {
        let detail = "Writes fail for lack of disk space; reads still work.";
        return Err(AppError::unavailable_for(detail)
            .with("database", "ok")
            .with("storage", "full"));
    }
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        database: "ok",
        storage: "ok",
    }))
}
