//! `GET /metrics`: Prometheus text. On the main address, unless `[metrics]
//! bind` moves it to one of its own (then the main address says 404).

use actix_web::{web, HttpRequest, HttpResponse};

use super::answers::*;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// Marks the server that serves `/metrics` on its own address.
pub struct MetricsListener;

/// Metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "meta",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 404, response = NotFound),
    ),
)]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let moved = !state.config.metrics.bind.is_empty();
    if moved && req.app_data::<web::Data<MetricsListener>>().is_none() {
        return Err(AppError::not_found());
    }
    if state.metrics.stale() {
        let (metrics, now) = (state.metrics.clone(), state.now());
        db::run(&state.pool, move |conn| Ok(metrics.refresh(conn, now)?)).await?;
    }
    state.metrics.pool(&state.pool);
    let full = state.context.storage.is_full();
    state.metrics.storage_full.set(i64::from(full));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
