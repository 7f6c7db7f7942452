//! Sign-in, token refresh, sign-out, and the signed-in user's own account.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::token::RefreshToken;
use crate::auth::{constant_time_eq, password, AuthUser};
use crate::db::{self, DbConnection};
use crate::error::AppError;
use crate::models::session::{self, Session};
use crate::models::user::User;
use crate::startup::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: String,
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
    id: String,
    email: String,
    display_name: String,
    role: crate::domain::Role,
}

fn tokens(
    state: &AppState,
    user_id: &str,
    refresh: &RefreshToken,
    now: DateTime<Utc>,
) -> Result<TokenPair, AppError> {
    Ok(TokenPair {
        access_token: state
            .jwt
            .issue(user_id, &refresh.session_id, now)
            .map_err(AppError::internal)?,
        refresh_token: refresh.token(),
        token_type: "Bearer",
        expires_in: state.jwt.ttl().num_seconds(),
    })
}

fn locked_out(wait: chrono::Duration) -> AppError {
    let secs = (wait.num_milliseconds() + 999) / 1000;
    AppError::too_many_requests(
        secs.max(1) as u64,
        "Too many failed sign-ins for this account; try again later.",
    )
}

/// Checks a password off the async workers; unknown accounts are checked
/// against a dummy hash so they cost the same time.
async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    web::block(move || {
        let hash = hash.as_deref().unwrap_or_else(|| password::dummy_hash());
        password::verify(&password, hash)
    })
    .await
    .map_err(|_| AppError::internal("blocking task failed"))
}

/// The account behind `email`, unless the email is locked out (known or not).
fn find_for_login(
    conn: &mut DbConnection,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, AppError> {
    if let Some(wait) = session::lockout_remaining(conn, email, now.naive_utc())? {
        return Err(locked_out(wait));
    }
    Ok(User::find_by_email(conn, email)?)
}

pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let LoginRequest { email, password } = body.into_inner();
    let now = state.clock.now();
    let address = email.clone();
    let user = db::run(&state.pool, move |conn| find_for_login(conn, &address, now)).await?;
    let long = password.len() > password::MAX_LENGTH;
    let ok =
        verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await? && !long;
    let user = match user {
        Some(user) if ok && user.active => user,
        // The right password of a deactivated account is no guess: not counted.
        Some(_) if ok => return Err(AppError::unauthorized()),
        _ => {
            let at = now.naive_utc();
            db::run(&state.pool, move |conn| {
                Ok(session::record_login_failure(conn, &email, at)?)
            })
            .await?;
            return Err(AppError::unauthorized());
        }
    };
    let refresh = RefreshToken::generate(&crate::models::new_id());
    let new_session = Session {
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
            new_session.insert(conn)
        })
        .map_err(AppError::from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(tokens(&state, &user.id, &refresh, now)?))
}

/// Rotates the refresh token. A refresh token that was already used revokes
/// its whole session: someone else may hold a copy.
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let presented = RefreshToken::parse(&body.refresh_token).ok_or_else(AppError::unauthorized)?;
    let now = state.clock.now();
    let rotated = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let naive = now.naive_utc();
            let Some(session) = Session::find(conn, &presented.session_id)? else {
                return Ok::<_, AppError>(None);
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
            if Session::rotate(
                conn,
                &session.id,
                &session.refresh_hash,
                &next.hash(),
                naive,
            )? == 0
            {
                return Ok(None);
            }
            Ok(Some((user.id, next)))
        })
    })
    .await?;
    let (user_id, next) = rotated.ok_or_else(AppError::unauthorized)?;
    Ok(HttpResponse::Ok().json(tokens(&state, &user_id, &next, now)?))
}

pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let now = state.clock.now().naive_utc();
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
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    password::check_strength(&new_password).map_err(|m| AppError::invalid("new_password", m))?;
    let now = state.clock.now();
    let email = user.email.clone();
    let account = db::run(&state.pool, move |conn| find_for_login(conn, &email, now))
        .await?
        .ok_or_else(AppError::unauthorized)?;
    if !verify_password(current_password, Some(account.password_hash)).await? {
        let email = user.email.clone();
        db::run(&state.pool, move |conn| {
            Ok(session::record_login_failure(
                conn,
                &email,
                now.naive_utc(),
            )?)
        })
        .await?;
        return Err(AppError::invalid("current_password", "is not correct"));
    }
    let hash = web::block(move || password::hash(&new_password))
        .await
        .map_err(|_| AppError::internal("blocking task failed"))?
        .map_err(AppError::internal)?;
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
    Ok(HttpResponse::NoContent().finish())
}
