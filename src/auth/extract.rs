//! Authentication as handler parameters. `Staff` is any signed-in user,
//! `Coordinator` a coordinator or admin, `Admin` an admin. Each checks the
//! token, then the session and the user's current role in one indexed query,
//! so logout, deactivation and role changes count on the very next request.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::db;
use crate::domain::Role;
use crate::error::AppError;
use crate::models::event::Actor;
use crate::models::session::Session;
use crate::startup::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub session_id: String,
}

impl AuthUser {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.id, &self.display_name)
    }
}

/// The bearer token of a request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

async fn authenticate(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<AuthUser, AppError> {
    let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
    let token = token.ok_or_else(AppError::unauthorized)?;
    let now = state.clock.now();
    let claims = state
        .jwt
        .verify(&token, now)
        .ok_or_else(AppError::unauthorized)?;
    let session_id = claims.sid.clone();
    let found = db::run(&state.pool, move |conn| {
        Ok(Session::authenticate(
            conn,
            &claims.sid,
            &claims.sub,
            now.naive_utc(),
        )?)
    })
    .await?;
    let user = found.ok_or_else(AppError::unauthorized)?;
    Ok(AuthUser {
        role: Role::parse(&user.role).ok_or_else(|| AppError::internal("unknown role in users"))?,
        id: user.user_id,
        email: user.email,
        display_name: user.display_name,
        session_id,
    })
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(authenticate(state, token))
    }
}

/// Declares an extractor that admits the roles `allowed` lets through, and
/// answers 403 to other signed-in users.
macro_rules! role_extractor {
    ($(#[$meta:meta])* $name:ident, $allowed:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = AuthUser::from_request(req, payload);
                Box::pin(async move {
                    let user = user.await?;
                    let allowed: fn(Role) -> bool = $allowed;
                    if allowed(user.role) {
                        Ok($name(user))
                    } else {
                        Err(AppError::forbidden())
                    }
                })
            }
        }
    };
}

role_extractor!(
    /// Any signed-in staff user: admin, coordinator or observer.
    Staff,
    |_| true
);
role_extractor!(
    /// A coordinator or an admin: may change cases and shelters.
    Coordinator,
    Role::can_write_cases
);
role_extractor!(
    /// An admin.
    Admin,
    |role| role == Role::Admin
);
