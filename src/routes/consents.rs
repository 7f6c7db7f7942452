//! Consent: what the person agreed to (a history; the latest per scope
//! counts), recorded and read by coordinators and admins.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{created, Body, Listing, NoFilters};
use super::records;
use super::text::{not_blank, sealed_input};
use crate::auth::Coordinator;
use crate::domain::{CaseId, CaseRef, ConsentId, ConsentMethod, ConsentScope};
use crate::error::AppError;
use crate::models::case::Case;
use crate::models::consent::Consent;
use crate::operations::consents::{self, ConsentDraft};
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    scope: ConsentScope,
    /// `false` withdraws it: it bites on the next request.
    given: bool,
    method: ConsentMethod,
    /// Personal: sealed under the case's key, the note of the `consent` event
    /// on the timeline (where coordinators read it, audited).
    #[validate(length(min = 1, max = 2000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 2000)]
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    id: ConsentId,
    case_id: CaseId,
    scope: ConsentScope,
    given: bool,
    method: ConsentMethod,
    /// The user who recorded it.
    recorded_by: Option<String>,
    recorded_at: DateTime<Utc>,
}

impl ConsentView {
    fn new(c: Consent) -> Self {
        Self {
            id: c.id,
            case_id: c.case_id,
            scope: c.scope,
            given: c.given,
            method: c.method,
            recorded_by: c.recorded_by,
            recorded_at: c.recorded_at.and_utc(),
        }
    }
}

const CASE: &str = "The case: its id, or its code";

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/consents",
    operation_id = "consents_record",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE)),
    request_body = RecordConsent,
    responses(
        (status = 201, description = "The record", body = ConsentView, headers(("Location" = String, description = "The case's consents"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
    ),
)]
pub async fn record(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<CaseRef>,
    Body(body): Body<RecordConsent>,
) -> Result<HttpResponse, AppError> {
    let draft = ConsentDraft {
        scope: body.scope,
        given: body.given,
        method: body.method,
        note: sealed_input(body.note),
    };
    let consent = state
        .change(user.actor(), None, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            consents::record(conn, &id, draft, change)
        })
        .await?;
    let path = format!("/cases/{}/consents", consent.case_id);
    Ok(created(path, &ConsentView::new(consent)))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/consents",
    operation_id = "consents_list",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), Paging),
    responses(
        (status = 200, description = "The case's consent history, oldest first (the latest per scope counts), without notes", body = Page<ConsentView>),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _user: Coordinator,
    id: web::Path<CaseRef>,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let (load, key) = (Consent::list_for_case, |c: &Consent| c.id.to_string());
    records::page(&state, id.into_inner(), page, load, key, ConsentView::new).await
}
