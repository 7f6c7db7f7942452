//! The legs of a case's journey: plan one, list them, read one, change one
//! (If-Match). Coordinators and admins write; all staff read. The booking
//! reference is personal: never in a list; a single leg shows it to
//! coordinators and admins (one `personal.read` in the audit log).

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::ReadOnlyFields;
use super::extract::{created_with_etag, with_etag, Body, IfMatch, Listing, NoFilters, Patch};
use super::records;
use super::text::{clean, double_option, not_blank, one_line, sealed_input};
use crate::auth::{Coordinator, Staff};
use crate::domain::journey::{LegStatus, Money, Place, TravelMode};
use crate::domain::{CaseId, CaseRef, LegId, ShelterId, Timestamp};
use crate::error::AppError;
use crate::models::case::Case;
use crate::models::leg::Leg;
use crate::operations::legs::{self, LegDraft, LegPatch};
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLeg {
    mode: TravelMode,
    #[validate(custom(function = "place"))]
    from: Place,
    #[validate(custom(function = "place"))]
    to: Place,
    depart_at: Timestamp,
    /// After `depart_at`. Past it while `departed`: `leg_overdue`.
    arrive_by: Timestamp,
    /// `planned` when absent.
    status: Option<LegStatus>,
    #[validate(length(max = 100), custom(function = "one_line"))]
    #[schema(max_length = 100)]
    carrier: Option<String>,
    cost: Option<Money>,
    /// Personal: sealed under the case's key, never in a list.
    #[validate(
        length(min = 1, max = 64),
        custom(function = "one_line"),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 64)]
    booking_reference: Option<String>,
    /// The shelter the person travels to: its `arrived` check-in ends the leg.
    to_shelter_id: Option<ShelterId>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLeg {
    /// A move the leg's state allows (409 with the allowed ones otherwise).
    status: Option<LegStatus>,
    depart_at: Option<Timestamp>,
    arrive_by: Option<Timestamp>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100), custom(function = "one_line"))]
    #[schema(max_length = 100)]
    carrier: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    cost: Option<Option<Money>>,
    /// Personal: sealed under the case's key; null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[validate(
        length(min = 1, max = 64),
        custom(function = "one_line"),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 64)]
    booking_reference: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    to_shelter_id: Option<Option<ShelterId>>,
}

impl ReadOnlyFields for UpdateLeg {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "case_id",
        "mode",
        "from",
        "to",
        "has_booking_reference",
        "version",
        "created_at",
        "updated_at",
    ];
}

fn place(place: &Place) -> Result<(), validator::ValidationError> {
    place
        .check()
        .map_err(|why| validator::ValidationError::new("place").with_message(why.into()))
}

/// A leg as lists show it: never its booking reference.
#[derive(Serialize, ToSchema)]
pub struct LegView {
    id: LegId,
    case_id: CaseId,
    mode: TravelMode,
    from: Place,
    to: Place,
    depart_at: DateTime<Utc>,
    arrive_by: DateTime<Utc>,
    status: LegStatus,
    carrier: Option<String>,
    cost: Option<Money>,
    /// Whether a booking reference is stored (read it from the single leg).
    has_booking_reference: bool,
    to_shelter_id: Option<ShelterId>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl LegView {
    fn new(leg: Leg) -> Self {
        let cost = match (leg.cost_amount, leg.cost_currency) {
            (Some(amount), Some(currency)) => Some(Money { amount, currency }),
            _ => None,
        };
        Self {
            has_booking_reference: leg.booking_sealed.is_some(),
            id: leg.id,
            case_id: leg.case_id,
            mode: leg.mode,
            from: Place {
                city: leg.from_city,
                country: leg.from_country,
            },
            to: Place {
                city: leg.to_city,
                country: leg.to_country,
            },
            depart_at: leg.depart_at.and_utc(),
            arrive_by: leg.arrive_by.and_utc(),
            status: leg.status,
            carrier: leg.carrier,
            cost,
            to_shelter_id: leg.to_shelter_id,
            version: leg.version,
            created_at: leg.created_at.and_utc(),
            updated_at: leg.updated_at.and_utc(),
        }
    }
}

/// One leg: with its booking reference for coordinators and admins.
#[derive(Serialize, ToSchema)]
pub struct LegDetail {
    #[serde(flatten)]
    leg: LegView,
    /// The booking reference (coordinators and admins; absent for
    /// observers, null when none is stored or the case was shredded).
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_reference: Option<Option<String>>,
}

const CASE: &str = "The case: its id, or its code";

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/legs",
    operation_id = "legs_create",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE)),
    request_body = CreateLeg,
    responses(
        (status = 201, description = "The leg", body = LegView, headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "Where it lives"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<CaseRef>,
    Body(body): Body<CreateLeg>,
) -> Result<HttpResponse, AppError> {
    let draft = LegDraft {
        mode: body.mode,
        from: body.from,
        to: body.to,
        depart_at: body.depart_at.0.naive_utc(),
        arrive_by: body.arrive_by.0.naive_utc(),
        status: body.status.unwrap_or(LegStatus::Planned),
        carrier: clean(body.carrier),
        cost: body.cost,
        booking_reference: sealed_input(body.booking_reference),
        to_shelter_id: body.to_shelter_id,
    };
    let leg = state
        .change(user.actor(), None, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            legs::add(conn, &id, draft, change)
        })
        .await?;
    let path = format!("/cases/{}/legs/{}", leg.case_id, leg.id);
    let version = leg.version;
    Ok(created_with_etag(path, version, &LegView::new(leg)))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/legs",
    operation_id = "legs_list",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), Paging),
    responses(
        (status = 200, description = "A page of the case's legs, oldest first, without booking references", body = Page<LegView>),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    id: web::Path<CaseRef>,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let (load, key) = (Leg::list_for_case, |l: &Leg| l.id.to_string());
    records::page(&state, id.into_inner(), page, load, key, LegView::new).await
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/legs/{leg_id}",
    operation_id = "legs_get",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), ("leg_id" = LegId, Path, description = "The leg")),
    responses(
        (status = 200, description = "The leg; its booking reference for coordinators and admins (audited)", body = LegDetail, headers(("ETag" = String, description = "The version, for If-Match"))),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    Staff(user): Staff,
    path: web::Path<(CaseRef, LegId)>,
) -> Result<HttpResponse, AppError> {
    let (case, leg) = path.into_inner();
    let find: records::Find<Leg> = Box::new(move |conn| {
        let id = Case::find_ref(conn, &case)?.id;
        let leg = Leg::find(conn, &id, &leg)?;
        Ok((id, leg))
    });
    let target = |l: &Leg| format!("leg {}", l.id);
    let (leg, reference) =
        records::read(&state, &user, find, legs::booking_reference, target).await?;
    let version = leg.version;
    let detail = LegDetail {
        leg: LegView::new(leg),
        booking_reference: reference,
    };
    Ok(with_etag(version, &detail))
}

#[utoipa::path(
    patch,
    path = "/api/v1/cases/{id}/legs/{leg_id}",
    operation_id = "legs_update",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), ("leg_id" = LegId, Path, description = "The leg"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = UpdateLeg,
    responses(
        (status = 200, description = "The leg", body = LegView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn update(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    IfMatch(expected): IfMatch,
    path: web::Path<(CaseRef, LegId)>,
    Patch(body): Patch<UpdateLeg>,
) -> Result<HttpResponse, AppError> {
    let (case, leg) = path.into_inner();
    let patch = LegPatch {
        status: body.status,
        depart_at: body.depart_at.map(|t| t.0.naive_utc()),
        arrive_by: body.arrive_by.map(|t| t.0.naive_utc()),
        carrier: body.carrier.map(clean),
        cost: body.cost,
        booking_reference: body.booking_reference.map(sealed_input),
        to_shelter_id: body.to_shelter_id,
    };
    let leg = state
        .change(user.actor(), expected, move |conn, change| {
            let id = Case::resolve(conn, &case)?;
            legs::update(conn, &id, &leg, patch, change)
        })
        .await?;
    let version = leg.version;
    Ok(with_etag(version, &LegView::new(leg)))
}
