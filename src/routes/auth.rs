//! Sign-in, token refresh, sign-out, and the signed-in user's own account.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::extract::Body;
use crate::auth::token::RefreshToken;
use crate::auth::{password, AuthState, AuthUser};
use crate::crypto::constant_time_eq;
use crate::db::{self, DbConnection};
use crate::domain::{Role, SessionId, UserId};
use crate::error::AppError;
use crate::models::session::{self, Session};
use crate::models::user::User;
use crate::state::AppState;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: String,
    #[validate(custom(function = "password::validate"))]
    new_password: String,
}

#[derive(Serialize)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Serialize)]
pub struct MeView {
    id: UserId,
    email: String,
    display_name: String,
    role: Role,
}

pub async fn login(
    state: web::Data<AppState>,
    auth: web::Data<AuthState>,
    Body(LoginRequest { email, password }): Body<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let address = email.clone();
    let user = db::run(&state.pool, move |conn| find_for_login(conn, &address, now)).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = password::verify_off_thread(password, hash).await?;
    let user = match user {
        Some(user) if ok && user.active => user,
        // The right password of a deactivated account is no guess: not counted.
        Some(_) if ok => return Err(AppError::unauthorized()),
        _ => {
            count_failure(&state, email, now).await?;
            return Err(AppError::unauthorized());
        }
    };
    let refresh = open_session(&state, &user, now).await?;
    Ok(HttpResponse::Ok().json(tokens(&auth, &user.id, &refresh, now)?))
}

/// Rotates the refresh token. A refresh token that was already used revokes
/// its whole session: someone else may hold a copy.
pub async fn refresh(
    state: web::Data<AppState>,
    auth: web::Data<AuthState>,
    Body(body): Body<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let presented = RefreshToken::parse(&body.refresh_token).ok_or_else(AppError::unauthorized)?;
    let now = state.clock.now();
    let rotated = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| rotate(conn, &presented, now))
    })
    .await?;
    let (user_id, next) = rotated.ok_or_else(AppError::unauthorized)?;
    Ok(HttpResponse::Ok().json(tokens(&auth, &user_id, &next, now)?))
}

pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let now = state.now();
    db::run(&state.pool, move |conn| {
        Ok(Session::revoke(conn, &user.session_id, now)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(MeView {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
    })
}

/// Changes the caller's password and signs out every other session. A
/// wrong current password counts towards the lockout, as a failed sign-in.
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    Body(body): Body<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let email = user.email.clone();
    let account = db::run(&state.pool, move |conn| find_for_login(conn, &email, now))
        .await?
        .ok_or_else(AppError::unauthorized)?;
    if !password::verify_off_thread(body.current_password, Some(account.password_hash)).await? {
        count_failure(&state, user.email.clone(), now).await?;
        return Err(AppError::invalid("current_password", "is not correct"));
    }
    let hash = password::hash_off_thread(body.new_password).await?;
    set_password(&state, user, hash, now).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stores the new hash, forgets failed sign-ins, and ends every session of
/// the user but the current one.
async fn set_password(
    state: &AppState,
    user: AuthUser,
    hash: String,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let naive = now.naive_utc();
            User::set_password_hash(conn, &user.id, &hash, naive)?;
            session::clear_login_failures(conn, &user.email)?;
            Session::revoke_all_for_user(conn, &user.id, Some(&user.session_id), naive)
        })
        .map_err(AppError::from)
    })
    .await?;
    Ok(())
}

fn tokens(
    auth: &AuthState,
    user_id: &UserId,
    refresh: &RefreshToken,
    now: DateTime<Utc>,
) -> Result<TokenPair, AppError> {
    Ok(TokenPair {
        access_token: auth
            .jwt
            .issue(user_id, &refresh.session_id, now)
            .map_err(AppError::internal)?,
        refresh_token: refresh.token(),
        token_type: "Bearer",
        expires_in: auth.jwt.ttl().num_seconds(),
    })
}

/// The account behind `email`, unless the email is locked out (known or not).
fn find_for_login(
    conn: &mut DbConnection,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, AppError> {
    if let Some(wait) = session::lockout_remaining(conn, email, now.naive_utc())? {
        let secs = (wait.num_milliseconds() + 999) / 1000;
        return Err(AppError::too_many_requests(
            secs.max(1) as u64,
            "Too many failed sign-ins for this account; try again later.",
        ));
    }
    Ok(User::find_by_email(conn, email)?)
}

/// Records a failed sign-in for `email`, towards its lockout.
async fn count_failure(
    state: &AppState,
    email: String,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let at = now.naive_utc();
    db::run(&state.pool, move |conn| {
        Ok(session::record_login_failure(conn, &email, at)?)
    })
    .await
}

/// A new session for a user who just signed in; their failures are forgotten.
async fn open_session(
    state: &AppState,
    user: &User,
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
    let email = user.email.clone();
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            session::clear_login_failures(conn, &email)?;
            session.insert(conn)
        })
        .map_err(AppError::from)
    })
    .await?;
    Ok(refresh)
}

/// The session's next refresh token, if `presented` is its current one;
/// a stale one revokes the session.
fn rotate(
    conn: &mut DbConnection,
    presented: &RefreshToken,
    now: DateTime<Utc>,
) -> Result<Option<(UserId, RefreshToken)>, AppError> {
    let naive = now.naive_utc();
    let Some(session) = Session::find(conn, &presented.session_id)? else {
        return Ok(None);
    };
    if !session.is_live(naive) {
        return Ok(None);
    }
    if !constant_time_eq(presented.hash().as_bytes(), session.refresh_hash.as_bytes()) {
        Session::revoke(conn, &session.id, naive)?;
        return Ok(None);
    }
    let user = User::find(conn, &session.user_id)?;
    if !user.active {
        return Ok(None);
    }
    let next = RefreshToken::generate(&session.id);
    let rotated = Session::rotate(
        conn,
        &session.id,
        &session.refresh_hash,
        &next.hash(),
        naive,
    )?;
    Ok((rotated == 1).then_some((user.id, next)))
}
