//! Shelters as staff see them, with their occupancy.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::ReadOnlyFields;
use super::extract::{created_with_etag, with_etag, Body, IfMatch, Listing, NoFilters, Patch};
use super::text::{clean, double_option, not_blank, one_line};
use crate::auth::{Coordinator, Staff};
use crate::db;
use crate::domain::{country, ShelterId};
use crate::error::AppError;
use crate::models::shelter::Shelter;
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShelter {
    #[validate(length(max = 200), custom(function = "not_blank"))]
    #[schema(max_length = 200, min_length = 1, pattern = "\\S")]
    name: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    city: Option<String>,
    #[validate(custom(function = "country::validate"))]
    #[schema(pattern = "^[A-Z]{2}$", example = "CA")]
    country: String,
    #[validate(range(min = 0, max = 10_000))]
    #[schema(minimum = 0, maximum = 10_000)]
    capacity: i32,
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254, format = Email)]
    contact_email: Option<String>,
    /// What emails call this shelter (alerts, the weekly status). Emails
    /// pass through mail servers outside the programme: choose a label
    /// that says nothing of the place (`House 3`, `North`). Without one,
    /// emails name the shelter by the start of its id.
    #[validate(length(max = 60), custom(function = "one_line"))]
    #[schema(max_length = 60)]
    email_label: Option<String>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateShelter {
    #[validate(length(max = 200), custom(function = "not_blank"))]
    #[schema(max_length = 200, min_length = 1, pattern = "\\S")]
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    city: Option<Option<String>>,
    #[validate(custom(function = "country::validate"))]
    #[schema(pattern = "^[A-Z]{2}$", example = "CA")]
    country: Option<String>,
    #[validate(range(min = 0, max = 10_000))]
    #[schema(minimum = 0, maximum = 10_000)]
    capacity: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254, format = Email)]
    contact_email: Option<Option<String>>,
    active: Option<bool>,
    /// What emails call this shelter; null for the start of its id.
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 60), custom(function = "one_line"))]
    #[schema(max_length = 60)]
    email_label: Option<Option<String>>,
}

impl ReadOnlyFields for UpdateShelter {
    const READ_ONLY: &'static [&'static str] =
        &["id", "occupancy", "created_at", "updated_at", "version"];
}

impl CreateShelter {
    fn into_shelter(self, now: NaiveDateTime) -> Shelter {
        Shelter {
            id: ShelterId::new(),
            name: self.name.trim().to_string(),
            city: clean(self.city),
            country: self.country,
            capacity: self.capacity,
            contact_email: clean(self.contact_email),
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
            email_label: clean(self.email_label),
        }
    }
}

impl UpdateShelter {
    fn apply(self, shelter: &mut Shelter) {
        if let Some(name) = self.name {
            shelter.name = name.trim().to_string();
        }
        if let Some(city) = self.city {
            shelter.city = clean(city);
        }
        if let Some(country) = self.country {
            shelter.country = country;
        }
        if let Some(capacity) = self.capacity {
            shelter.capacity = capacity;
        }
        if let Some(email) = self.contact_email {
            shelter.contact_email = clean(email);
        }
        if let Some(active) = self.active {
            shelter.active = active;
        }
        if let Some(label) = self.email_label {
            shelter.email_label = clean(label);
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShelterView {
    id: ShelterId,
    name: String,
    city: Option<String>,
    country: String,
    capacity: i32,
    occupancy: i64,
    contact_email: Option<String>,
    active: bool,
    /// What emails call it (null: the start of its id).
    email_label: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

impl ShelterView {
    fn new(s: Shelter, occupancy: i64) -> Self {
        Self {
            id: s.id,
            name: s.name,
            city: s.city,
            country: s.country,
            capacity: s.capacity,
            occupancy,
            contact_email: s.contact_email,
            active: s.active,
            email_label: s.email_label,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
            version: s.version,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/shelters",
    operation_id = "shelters_create",
    tag = "shelters",
    security(("staff" = [])),
    request_body = CreateShelter,
    responses(
        (status = 201, description = "The shelter", body = ShelterView, headers(("Location" = String, description = "Where it lives"), ("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    _user: Coordinator,
    Body(body): Body<CreateShelter>,
) -> Result<HttpResponse, AppError> {
    let shelter = body.into_shelter(state.now());
    let shelter = db::run(&state.pool, move |conn| {
        shelter.insert(conn)?;
        Ok(shelter)
    })
    .await?;
    Ok(created_with_etag(
        format!("/shelters/{}", shelter.id),
        shelter.version,
        &ShelterView::new(shelter, 0),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/shelters",
    operation_id = "shelters_list",
    tag = "shelters",
    security(("staff" = [])),
    params(Paging),
    responses(
        (status = 200, description = "A page of shelters", body = Page<ShelterView>),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let query = page.clone();
    let (rows, occupancy) = db::run(&state.pool, move |conn| {
        let rows = Shelter::list(conn, &query)?;
        let ids: Vec<ShelterId> = rows.iter().map(|s| s.id.clone()).collect();
        Ok((rows, Shelter::occupancies(conn, &ids)?))
    })
    .await?;
    let view = |s: Shelter| {
        let taken = occupancy.get(&s.id).copied().unwrap_or(0);
        ShelterView::new(s, taken)
    };
    Ok(super::page_response(page.page(
        rows,
        |s| s.id.to_string(),
        view,
    )))
}

#[utoipa::path(
    get,
    path = "/api/v1/shelters/{id}",
    operation_id = "shelters_get",
    tag = "shelters",
    security(("staff" = [])),
    params(("id" = ShelterId, Path, description = "The shelter")),
    responses(
        (status = 200, description = "The shelter", body = ShelterView, headers(("ETag" = String, description = "The version, for If-Match"))),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    _user: Staff,
    id: web::Path<ShelterId>,
) -> Result<HttpResponse, AppError> {
    let (shelter, occupancy) = db::run(&state.pool, move |conn| {
        Ok((Shelter::find(conn, &id)?, Shelter::occupancy(conn, &id)?))
    })
    .await?;
    let version = shelter.version;
    Ok(with_etag(version, &ShelterView::new(shelter, occupancy)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/shelters/{id}",
    operation_id = "shelters_update",
    tag = "shelters",
    security(("staff" = [])),
    params(("id" = ShelterId, Path, description = "The shelter"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = UpdateShelter,
    responses(
        (status = 200, description = "The shelter", body = ShelterView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn update(
    state: web::Data<AppState>,
    _user: Coordinator,
    IfMatch(expected): IfMatch,
    id: web::Path<ShelterId>,
    Patch(body): Patch<UpdateShelter>,
) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let (shelter, occupancy) = db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |conn| {
            Shelter::change(conn, &id, expected, now, |shelter| body.apply(shelter))
        })?)
    })
    .await?;
    let version = shelter.version;
    Ok(with_etag(version, &ShelterView::new(shelter, occupancy)))
}
