//! Staff accounts, managed by admins.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::extract::{Body, Listing, NoFilters};
use super::text::not_blank;
use crate::auth::{password, Admin};
use crate::db;
use crate::domain::{Role, UserId};
use crate::error::AppError;
use crate::models::user::{NewUser, User};
use crate::operations::users::{self, Profile};
use crate::state::AppState;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[validate(email, length(max = 254))]
    email: String,
    #[validate(length(max = 100), custom(function = "not_blank"))]
    display_name: String,
    role: Role,
    #[validate(custom(function = "password::validate"))]
    password: String,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[validate(length(max = 100), custom(function = "not_blank"))]
    display_name: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
}

/// A user as admins see it: never the password or its hash.
#[derive(Serialize)]
pub struct UserView {
    id: UserId,
    email: String,
    display_name: String,
    role: Role,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            active: u.active,
            created_at: u.created_at.and_utc(),
            updated_at: u.updated_at.and_utc(),
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    Body(body): Body<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let password_hash = password::hash_off_thread(body.password).await?;
    let user = state
        .change(admin.actor(), None, move |conn, change| {
            let new = NewUser {
                email: &body.email,
                display_name: &body.display_name,
                role: body.role,
                password_hash,
            };
            users::create(conn, new, change)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let query = page.clone();
    let rows = db::run(&state.pool, move |conn| Ok(User::list(conn, &query)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |u| u.id.to_string(), UserView::from)))
}

pub async fn update(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    id: web::Path<UserId>,
    Body(body): Body<UpdateUser>,
) -> Result<HttpResponse, AppError> {
    let profile = Profile {
        display_name: body.display_name,
        role: body.role,
        active: body.active,
    };
    let user = state
        .change(admin.actor(), None, move |conn, change| {
            users::update(conn, &id, profile, change)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
