//! The partner shelter API: a key sees its own shelter and the cases placed
//! there now, with only what a shelter needs, and reports check-ins and its
//! capacity. Every query is scoped to the key's shelter in SQL; a case out of
//! scope is the same 404 as one that does not exist.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{Body, CodeCursor, Listing, NoFilters};
use super::text::clean;
use crate::auth::Partner;
use crate::db;
use crate::domain::{CaseCode, CheckinKind, EventKind, Needs, RiskLevel, ShelterId};
use crate::error::AppError;
use crate::models::case::Case;
use crate::models::shelter::Shelter;
use crate::operations::{partner, sealing};
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityBody {
    #[validate(range(min = 0, max = 10_000))]
    #[schema(minimum = 0, maximum = 10_000)]
    capacity: i32,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinBody {
    kind: CheckinKind,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = PartnerShelterView)]
pub struct ShelterView {
    id: ShelterId,
    name: String,
    capacity: i32,
    occupancy: i64,
    available_beds: i64,
}

impl ShelterView {
    fn new((s, occupancy): (Shelter, i64)) -> Self {
        Self {
            available_beds: (i64::from(s.capacity) - occupancy).max(0),
            id: s.id,
            name: s.name,
            capacity: s.capacity,
            occupancy,
        }
    }
}

/// A guest as the shelter sees them: no id, no coordinator, no origin or
/// destination. `alias` is the only personal field a shelter may see (null
/// when none is stored, or after a shred).
#[derive(Serialize, ToSchema)]
pub struct PartnerCaseView {
    code: CaseCode,
    alias: Option<String>,
    household_size: i32,
    needs: Needs,
    risk_level: RiskLevel,
    stage_entered_at: DateTime<Utc>,
    last_contact_at: Option<DateTime<Utc>>,
}

impl PartnerCaseView {
    fn new(c: Case, alias: Option<String>) -> Self {
        Self {
            code: c.code,
            alias,
            household_size: c.household_size,
            needs: c.needs,
            risk_level: c.risk_level,
            stage_entered_at: c.stage_entered_at.and_utc(),
            last_contact_at: c.last_contact_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CheckinView {
    id: String,
    code: CaseCode,
    kind: EventKind,
    at: DateTime<Utc>,
    detail: Value,
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/shelter",
    operation_id = "partner_shelter",
    tag = "partner",
    security(("partner_bearer" = []), ("partner_header" = [])),
    responses(
        (status = 200, description = "The shelter", body = ShelterView),
    ),
)]
pub async fn shelter(
    state: web::Data<AppState>,
    partner: Partner,
) -> Result<HttpResponse, AppError> {
    let id = partner.shelter_id;
    let found = db::run(&state.pool, move |conn| {
        Ok((Shelter::find(conn, &id)?, Shelter::occupancy(conn, &id)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ShelterView::new(found)))
}

/// The shelter reports how many people it can take.
#[utoipa::path(
    patch,
    path = "/api/v1/partner/shelter",
    operation_id = "partner_update_shelter",
    tag = "partner",
    security(("partner_bearer" = []), ("partner_header" = [])),
    request_body = CapacityBody,
    responses(
        (status = 200, description = "The shelter", body = ShelterView),
        (status = 409, response = Conflict),
    ),
)]
pub async fn update_shelter(
    state: web::Data<AppState>,
    partner: Partner,
    Body(body): Body<CapacityBody>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (partner.shelter_id, state.now());
    let changed = db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |conn| {
            Shelter::change(conn, &id, None, now, |s| s.capacity = body.capacity)
        })?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ShelterView::new(changed)))
}

/// The cases placed at this shelter now, by code; the cursor is a code too.
#[utoipa::path(
    get,
    path = "/api/v1/partner/cases",
    operation_id = "partner_cases",
    tag = "partner",
    security(("partner_bearer" = []), ("partner_header" = [])),
    params(Paging),
    responses(
        (status = 200, description = "A page of the guests placed here now", body = Page<PartnerCaseView>),
    ),
)]
pub async fn cases(
    state: web::Data<AppState>,
    partner: Partner,
    Listing { page, .. }: Listing<NoFilters, CodeCursor>,
) -> Result<HttpResponse, AppError> {
    let (shelter, query) = (partner.shelter_id.clone(), page.clone());
    let (rows, mut aliases) = state
        .read_audited(partner.actor(), move |conn, change| {
            partner::guests(conn, &shelter, &query, change)
        })
        .await?;
    let view = |c: Case| {
        let alias = aliases.remove(&c.id);
        PartnerCaseView::new(c, alias)
    };
    Ok(super::page_response(page.page(
        rows,
        |c| c.code.to_string(),
        view,
    )))
}

/// A check-in on a guest placed here now (see `operations::partner`).
#[utoipa::path(
    post,
    path = "/api/v1/partner/cases/{code}/checkins",
    operation_id = "partner_checkin",
    tag = "partner",
    security(("partner_bearer" = []), ("partner_header" = [])),
    params(("code" = CaseCode, Path, description = "The case code")),
    request_body = CheckinBody,
    responses(
        (status = 201, description = "The check-in, on the timeline", body = CheckinView),
    ),
)]
pub async fn checkin(
    state: web::Data<AppState>,
    partner: Partner,
    code: web::Path<CaseCode>,
    Body(body): Body<CheckinBody>,
) -> Result<HttpResponse, AppError> {
    let (shelter, note) = (partner.shelter_id.clone(), clean(body.note));
    let sent = note.clone();
    let (case, event) = state
        .change(partner.actor(), None, move |conn, change| {
            partner::check_in(conn, &code, &shelter, body.kind, note, change)
        })
        .await?;
    let res = HttpResponse::Created().json(CheckinView {
        detail: sealing::detail_with_note(&event, sent.as_deref()),
        id: event.id,
        code: case.code,
        kind: event.kind,
        at: event.at.and_utc(),
    });
    Ok(match sent {
        Some(_) => super::idempotency::holds_personal(res, &event.case_id),
        None => res,
    })
}
