//! Staff accounts, managed by admins.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{created, Body, Listing, NoFilters};
use super::text::not_blank;
use crate::auth::{password, Admin};
use crate::db;
use crate::domain::{Role, UserId};
use crate::error::AppError;
use crate::models::user::{NewUser, User};
use crate::operations::users::{self, Profile};
use crate::state::AppState;

/// A new user, as the API and `corridor users create` take it: the same
/// rules for both.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "password_apart_from_email"))]
pub struct CreateUser {
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254, format = Email)]
    email: String,
    #[validate(length(max = 100), custom(function = "not_blank"))]
    #[schema(max_length = 100, min_length = 1, pattern = "\\S")]
    display_name: String,
    role: Role,
    #[validate(custom(function = "password::validate"))]
    #[schema(min_length = 12, max_length = 1024)]
    password: String,
}

impl CreateUser {
    pub fn new(email: &str, display_name: &str, role: Role, password: &str) -> Self {
        Self {
            email: email.to_string(),
            display_name: display_name.to_string(),
            role,
            password: password.to_string(),
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The user to store, with the hash of their password.
    pub fn to_new(&self, password_hash: String) -> NewUser<'_> {
        NewUser {
            email: &self.email,
            display_name: &self.display_name,
            role: self.role,
            password_hash,
        }
    }
}

/// For validator: the rules that need the account (its email and name),
/// where the rules that do not passed already (reported on `password`, as
/// the error's code names, and only once).
fn password_apart_from_email(user: &CreateUser) -> Result<(), validator::ValidationError> {
    if password::validate(&user.password).is_err() {
        return Ok(());
    }
    let account = password::Account::new(&user.email, &user.display_name);
    password::check_strength(&user.password, account)
        .map_err(|message| validator::ValidationError::new("password").with_message(message.into()))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[validate(length(max = 100), custom(function = "not_blank"))]
    #[schema(max_length = 100, min_length = 1, pattern = "\\S")]
    display_name: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
}

/// A user as admins see it: never the password or its hash.
#[derive(Serialize, ToSchema)]
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

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "users_create",
    tag = "admin",
    security(("staff" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "The user", body = UserView, headers(("Location" = String, description = "Where it lives"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    Body(body): Body<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let password_hash = password::hash_off_thread(body.password.clone()).await?;
    let user = state
        .change(admin.actor(), None, move |conn, change| {
            users::create(conn, body.to_new(password_hash), change)
        })
        .await?;
    Ok(created(
        format!("/users/{}", user.id),
        &UserView::from(user),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "users_list",
    tag = "admin",
    security(("staff" = [])),
    params(Paging),
    responses(
        (status = 200, description = "A page of users", body = Page<UserView>),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let query = page.clone();
    let rows = db::run(&state.pool, move |conn| Ok(User::list(conn, &query)?)).await?;
    Ok(super::page_response(page.page(
        rows,
        |u| u.id.to_string(),
        UserView::from,
    )))
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    operation_id = "users_update",
    tag = "admin",
    security(("staff" = [])),
    params(("id" = UserId, Path, description = "The user")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
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
