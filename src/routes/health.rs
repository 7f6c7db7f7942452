//! Liveness and readiness.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when the database answers and is fully migrated, else 503.
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
        Some(true) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        _ => Err(AppError::unavailable()),
    }
}
