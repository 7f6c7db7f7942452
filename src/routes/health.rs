//! Liveness and readiness.

use super::docs::answers::*;
use std::time::Duration;
use utoipa::ToSchema;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// What the health checks answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready`.
    status: &'static str,
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

/// 200 when the database answers and is fully migrated, else 503.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "health_readyz",
    tag = "meta",
    responses(
        (status = 200, description = "The database answers and is migrated", body = Health),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    let ready = web::block(move || {
        let mut conn = pool.get_timeout(Duration::from_secs(2)).ok()?;
        db::has_pending_migrations(&mut conn)
            .ok()
            .map(|pending| !pending)
    })
    .await
    .map_err(|_| AppError::internal("blocking task failed"))?;
    match ready {
        Some(true) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        _ => Err(AppError::unavailable()),
    }
}
