//! Alerts as staff see them, and acknowledging them.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{Body, Listing};
use super::text::clean;
use crate::auth::{Coordinator, Staff};
use crate::db;
use crate::domain::{AlertId, AlertKind, AlertState, CaseCode, CaseId, Stage, UserId};
use crate::error::AppError;
use crate::models::alert::{Alert, AlertFilter};
use crate::operations::alerts;
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertView {
    id: AlertId,
    case_id: CaseId,
    case_code: CaseCode,
    kind: AlertKind,
    stage: Stage,
    state: AlertState,
    raised_at: DateTime<Utc>,
    acknowledged_by: Option<UserId>,
    acknowledged_at: Option<DateTime<Utc>>,
    escalated_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
}

impl AlertView {
    fn new((a, case_code): (Alert, CaseCode)) -> Self {
        Self {
            id: a.id,
            case_id: a.case_id,
            case_code,
            kind: a.kind,
            stage: a.stage,
            state: a.state,
            raised_at: a.raised_at.and_utc(),
            acknowledged_by: a.acknowledged_by,
            acknowledged_at: a.acknowledged_at.map(|t| t.and_utc()),
            escalated_at: a.escalated_at.map(|t| t.and_utc()),
            resolved_at: a.resolved_at.map(|t| t.and_utc()),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    operation_id = "alerts_list",
    tag = "alerts",
    security(("staff" = [])),
    params(AlertFilter, Paging),
    responses(
        (status = 200, description = "A page of alerts, oldest first", body = Page<AlertView>),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    Listing { filter, page, .. }: Listing<AlertFilter>,
) -> Result<HttpResponse, AppError> {
    let query = page.clone();
    let rows = db::run(&state.pool, move |conn| {
        Ok(Alert::list(conn, &filter, &query)?)
    })
    .await?;
    Ok(super::page_response(page.page(
        rows,
        |(a, _)| a.id.to_string(),
        AlertView::new,
    )))
}

/// Someone is on it: the alert stops escalating.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    operation_id = "alerts_acknowledge",
    tag = "alerts",
    security(("staff" = [])),
    params(("id" = AlertId, Path, description = "The alert")),
    request_body = Option<AckBody>,
    responses(
        (status = 200, description = "The alert", body = AlertView),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
pub async fn acknowledge(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<AlertId>,
    Body(body): Body<AckBody>,
) -> Result<HttpResponse, AppError> {
    let note = clean(body.note);
    let found = state
        .change(user.actor(), None, move |conn, change| {
            alerts::acknowledge(conn, &id, &user.id, note, change)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AlertView::new(found)))
}
