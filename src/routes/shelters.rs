//! Shelters as staff see them, with their occupancy.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::{
    check_patch_extras, clean, double_option, if_match, parse_id, with_etag, Fields, PageQuery,
    PageRequest,
};
use crate::auth::{Coordinator, Staff};
use crate::db;
use crate::domain::country;
use crate::error::AppError;
use crate::models::shelter::Shelter;
use crate::startup::AppState;

const MAX_CAPACITY: i32 = 10_000;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateShelter {
    #[validate(length(max = 200), custom(function = "super::not_blank"))]
    name: String,
    #[validate(length(max = 200))]
    city: Option<String>,
    #[validate(custom(function = "country::validate"))]
    country: String,
    #[validate(range(min = 0, max = 10_000))]
    capacity: i32,
    #[validate(email, length(max = 254))]
    contact_email: Option<String>,
}

#[derive(Deserialize, Validate)]
pub struct UpdateShelter {
    #[validate(length(max = 200), custom(function = "super::not_blank"))]
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200))]
    city: Option<Option<String>>,
    #[validate(custom(function = "country::validate"))]
    country: Option<String>,
    #[validate(range(min = 0, max = 10_000))]
    capacity: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(email, length(max = 254))]
    contact_email: Option<Option<String>>,
    active: Option<bool>,
    #[serde(flatten)]
    extras: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
pub struct ShelterView {
    id: String,
    name: String,
    city: Option<String>,
    country: String,
    capacity: i32,
    occupancy: i64,
    contact_email: Option<String>,
    active: bool,
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
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
            version: s.version,
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    _user: Coordinator,
    body: web::Json<CreateShelter>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    Fields::from_validator(body.validate()).finish()?;
    let now = state.clock.now().naive_utc();
    let shelter = Shelter {
        id: crate::models::new_id(),
        name: body.name.trim().to_string(),
        city: clean(body.city),
        country: body.country,
        capacity: body.capacity,
        contact_email: clean(body.contact_email),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let shelter = db::run(&state.pool, move |conn| {
        shelter.insert(conn)?;
        Ok(shelter)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::ETAG, super::etag(shelter.version)))
        .json(ShelterView::new(shelter, 0)))
}

pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::default();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), &mut fields);
    fields.finish()?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let (rows, occupancy) = db::run(&state.pool, move |conn| {
        let rows = Shelter::list(conn, after.as_deref(), fetch)?;
        let ids: Vec<String> = rows.iter().map(|s| s.id.clone()).collect();
        Ok((rows, Shelter::occupancies(conn, &ids)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(
        rows,
        |s| s.id.clone(),
        |s| {
            let taken = occupancy.get(&s.id).copied().unwrap_or(0);
            ShelterView::new(s, taken)
        },
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    _user: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (shelter, occupancy) = db::run(&state.pool, move |conn| {
        Ok((Shelter::find(conn, &id)?, Shelter::occupancy(conn, &id)?))
    })
    .await?;
    Ok(with_etag(
        shelter.version,
        &ShelterView::new(shelter, occupancy),
    ))
}

pub async fn update(
    state: web::Data<AppState>,
    _user: Coordinator,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateShelter>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    check_patch_extras(
        &body.extras,
        &["id", "occupancy", "created_at", "updated_at", "version"],
        &mut fields,
    )?;
    fields.finish()?;
    let now = state.clock.now().naive_utc();
    let (shelter, occupancy) = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            Shelter::change(conn, &id, expected, now, |shelter| {
                if let Some(name) = body.name {
                    shelter.name = name.trim().to_string();
                }
                if let Some(city) = body.city {
                    shelter.city = clean(city);
                }
                if let Some(country) = body.country {
                    shelter.country = country;
                }
                if let Some(capacity) = body.capacity {
                    shelter.capacity = capacity.min(MAX_CAPACITY);
                }
                if let Some(email) = body.contact_email {
                    shelter.contact_email = clean(email);
                }
                if let Some(active) = body.active {
                    shelter.active = active;
                }
            })
        })
    })
    .await?;
    Ok(with_etag(
        shelter.version,
        &ShelterView::new(shelter, occupancy),
    ))
}
