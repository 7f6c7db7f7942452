//! Sign-in, token refresh, sign-out, and the signed-in user's own account.
//! The rules (limits and lockouts, sessions, audit) are in
//! `operations::sessions`.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{Body, Credentials};
use crate::auth::token::RefreshToken;
use crate::auth::{password, AuthState, AuthUser};
use crate::db;
use crate::domain::{Role, SessionId, UserId};
use crate::error::AppError;
use crate::models::session::{Session, SessionUser};
use crate::models::user::User;
use crate::operations::sessions::{self, Attempt, Caller};
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: String,
    #[validate(custom(function = "password::validate"))]
    #[schema(min_length = 12, max_length = 1024)]
    new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    id: UserId,
    email: String,
    display_name: String,
    role: Role,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "auth_login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A new access token and refresh token", body = TokenPair),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn login(
    state: web::Data<AppState>,
    auth: web::Data<AuthState>,
    caller: Caller,
    Credentials(LoginRequest { email, password }): Credentials<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let attempt = look_up(&state, &email, &caller, now).await?;
    let hash = attempt.user.as_ref().map(|u| u.password_hash.clone());
    let ok = password::verify_off_thread(password, hash).await?;
    let user = match attempt.user {
        Some(user) if ok && user.active => user,
        // The right password of a deactivated account is no guess: not counted.
        Some(_) if ok => return Err(AppError::unauthorized()),
        user => {
            let id = user.map(|u| u.id);
            state.metrics.login_failures.inc();
            failed(&state, email, id, caller, now).await?;
            return Err(AppError::unauthorized());
        }
    };
    let refresh = open_session(&state, user.clone(), caller, now).await?;
    let subject = SessionUser {
        user_id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
    };
    Ok(HttpResponse::Ok().json(tokens(&auth, &subject, &refresh, now)?))
}

/// Rotates the refresh token. A refresh token that was already used revokes
/// its whole session: someone else may hold a copy.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    operation_id = "auth_refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and refresh token", body = TokenPair),
        (status = 401, response = Unauthorized),
    ),
)]
pub async fn refresh(
    state: web::Data<AppState>,
    auth: web::Data<AuthState>,
    caller: Caller,
    Credentials(body): Credentials<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let presented = RefreshToken::parse(&body.refresh_token).ok_or_else(AppError::unauthorized)?;
    let now = state.clock.now();
    let next = RefreshToken::generate(&presented.session_id);
    let hashes = (presented.hash(), next.hash());
    let keys = state.context.keys.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |conn| {
            let hashes = (hashes.0.as_str(), hashes.1.as_str());
            let session = &presented.session_id;
            sessions::refresh(conn, &keys, session, hashes, &caller, now.naive_utc())
        })?)
    })
    .await?
    .ok_or_else(AppError::unauthorized)?;
    Ok(HttpResponse::Ok().json(tokens(&auth, &user, &next, now)?))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "auth_logout",
    tag = "auth",
    security(("staff" = [])),
    responses(
        (status = 204, description = "Signed out: this session is over"),
    ),
)]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let (now, actor, keys) = (state.now(), user.actor(), state.context.keys.clone());
    db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |c| {
            sessions::logout(c, &keys, &user.session_id, &actor, now)
        })?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "auth_me",
    tag = "auth",
    security(("staff" = [])),
    responses(
        (status = 200, description = "Who you are", body = MeView),
    ),
)]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    // As the database has the user now (the token has them as they were);
    // the session itself was checked at the request's gate.
    let id = user.id.clone();
    let current = db::run(&state.pool, move |conn| Ok(User::find(conn, &id)?)).await?;
    Ok(HttpResponse::Ok().json(MeView {
        id: current.id,
        email: current.email,
        display_name: current.display_name,
        role: current.role,
    }))
}

/// Changes the caller's password and signs out every other session. A
/// wrong current password counts towards the lockout, as a failed sign-in.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    operation_id = "auth_change_password",
    tag = "auth",
    security(("staff" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session is over"),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    caller: Caller,
    Body(body): Body<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let account = password::Account::new(&user.email, &user.display_name);
    password::check_strength(&body.new_password, account)
        .map_err(|m| AppError::invalid("new_password", m))?;
    let now = state.clock.now();
    let account = look_up(&state, &user.email, &caller, now)
        .await?
        .user
        .ok_or_else(AppError::unauthorized)?;
    let current = Some(account.password_hash.clone());
    if !password::verify_off_thread(body.current_password, current).await? {
        failed(
            &state,
            user.email.clone(),
            Some(user.id.clone()),
            caller,
            now,
        )
        .await?;
        return Err(AppError::invalid("current_password", "is not correct"));
    }
    let hash = password::hash_off_thread(body.new_password).await?;
    let (actor, at, keep) = (user.actor(), now.naive_utc(), user.session_id.clone());
    let keys = state.context.keys.clone();
    db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |conn| {
            sessions::set_password(conn, &keys, &account, &hash, Some(&keep), &actor, at)
        })?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn tokens(
    auth: &AuthState,
    user: &SessionUser,
    refresh: &RefreshToken,
    now: DateTime<Utc>,
) -> Result<TokenPair, AppError> {
    Ok(TokenPair {
        access_token: auth
            .jwt
            .issue(user, &refresh.session_id, now)
            .map_err(AppError::internal)?,
        refresh_token: refresh.token(),
        token_type: "Bearer",
        expires_in: auth.jwt.ttl().num_seconds(),
    })
}

/// The account behind `email`; a caller a limit refuses gets 429 (audited).
async fn look_up(
    state: &AppState,
    email: &str,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Attempt, AppError> {
    let (email, caller, at) = (email.to_string(), caller.clone(), now.naive_utc());
    let per_address = state.config.auth.sign_in_failures_per_address as usize;
    let context = state.context.clone();
    let attempt = db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |c| {
            let (keys, links) = (&context.keys, &context.links);
            sessions::look_up(c, keys, links, &email, &caller, per_address, at)
        })?)
    })
    .await?;
    match attempt.locked {
        Some((lock, wait)) => {
            let secs = ((wait.num_milliseconds() + 999) / 1000).max(1) as u64;
            let detail = match lock {
                crate::models::login_failure::Lock::Address => {
                    "Too many failed sign-ins from this address; try again later."
                }
                _ => "Too many failed sign-ins for this account; try again later.",
            };
            Err(AppError::too_many_requests(secs, detail))
        }
        None => Ok(attempt),
    }
}

/// Counts a failed sign-in for `email` from `caller` (audited).
async fn failed(
    state: &AppState,
    email: String,
    user: Option<UserId>,
    caller: Caller,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let (at, keys) = (now.naive_utc(), state.context.keys.clone());
    db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |c| {
            sessions::failed(c, &keys, &email, user.as_ref(), &caller, at)
        })?)
    })
    .await
}

/// A new session for a user who just signed in.
async fn open_session(
    state: &AppState,
    user: User,
    caller: Caller,
    now: DateTime<Utc>,
) -> Result<RefreshToken, AppError> {
    let refresh = RefreshToken::generate(&SessionId::new());
    let session = Session {
        id: refresh.session_id.clone(),
        user_id: user.id.clone(),
        refresh_hash: refresh.hash(),
        created_at: now.naive_utc(),
        refreshed_at: now.naive_utc(),
        expires_at: (now + state.config.auth.refresh_ttl.0).naive_utc(),
        revoked_at: None,
    };
    let keys = state.context.keys.clone();
    db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |c| {
            sessions::signed_in(c, &keys, &user, &session, &caller)
        })?)
    })
    .await?;
    Ok(refresh)
}
