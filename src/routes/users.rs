//! Staff accounts, managed by admins.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::{parse_id, Fields, PageQuery, PageRequest};
use crate::auth::{password, Admin};
use crate::db::{self, DbConnection};
use crate::domain::Role;
use crate::error::AppError;
use crate::models::session::Session;
use crate::models::user::{normalise_email, User};
use crate::startup::AppState;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[validate(email, length(max = 254))]
    email: String,
    #[validate(length(max = 100), custom(function = "super::not_blank"))]
    display_name: String,
    role: String,
    password: String,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[validate(length(max = 100), custom(function = "super::not_blank"))]
    display_name: Option<String>,
    role: Option<String>,
    active: Option<bool>,
}

/// A user as admins see it: never the password or its hash.
#[derive(Serialize)]
pub struct UserView {
    id: String,
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
            role: u.role(),
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            active: u.active,
            created_at: u.created_at.and_utc(),
            updated_at: u.updated_at.and_utc(),
        }
    }
}

/// Creates a user; shared by the API and `corridor users create`.
pub fn create_user(
    conn: &mut DbConnection,
    email: &str,
    display_name: &str,
    role: Role,
    password_hash: String,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    let user = User {
        id: crate::models::new_id(),
        email: normalise_email(email),
        display_name: display_name.trim().to_string(),
        role: role.as_str().into(),
        password_hash,
        active: true,
        created_at: now,
        updated_at: now,
    };
    match user.insert(conn) {
        Ok(()) => Ok(user),
        Err(e) if db::is_unique_violation(&e) => Err(AppError::conflict(
            "duplicate-email",
            "Email taken",
            "A user with this email exists already.",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    _admin: Admin,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let role = fields.name("role", Some(&body.role), Role::parse, Role::names);
    if let Err(message) = password::check_strength(&body.password) {
        fields.error("password", message);
    }
    fields.finish()?;
    let role = role.ok_or_else(|| AppError::internal("role checked above"))?;
    let pw = body.password;
    let hash = web::block(move || password::hash(&pw))
        .await
        .map_err(|_| AppError::internal("blocking task failed"))?
        .map_err(AppError::internal)?;
    let now = state.clock.now().naive_utc();
    let user = db::run(&state.pool, move |conn| {
        create_user(conn, &body.email, &body.display_name, role, hash, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::default();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), &mut fields);
    fields.finish()?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = db::run(&state.pool, move |conn| {
        Ok(User::list(conn, after.as_deref(), fetch)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |u| u.id.clone(), UserView::from)))
}

/// Changes a user's name, role or standing. Deactivating revokes every
/// session at once; the last active admin cannot be demoted or deactivated.
pub async fn update(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let role = fields.name("role", body.role.as_deref(), Role::parse, Role::names);
    fields.finish()?;
    let now = state.clock.now().naive_utc();
    let user = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let user = User::find(conn, &id)?;
            let role = role.unwrap_or(user.role());
            let active = body.active.unwrap_or(user.active);
            let display_name = body
                .display_name
                .as_deref()
                .map(str::trim)
                .unwrap_or(&user.display_name);
            let stays_admin = role == Role::Admin && active;
            if user.role() == Role::Admin
                && user.active
                && !stays_admin
                && User::count_active_admins(conn)? <= 1
            {
                return Err(AppError::conflict(
                    "last-admin",
                    "Last admin",
                    "This is the last active admin; make another admin first.",
                ));
            }
            User::update_profile(conn, &id, display_name, role, active, now)?;
            if !active {
                Session::revoke_all_for_user(conn, &id, None, now)?;
            }
            Ok(User::find(conn, &id)?)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
