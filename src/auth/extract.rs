//! Authentication as handler parameters. `Staff` is any signed-in user,
//! `Coordinator` a coordinator or admin, `Admin` an admin. Each checks the
//! token at once, and the session with the user's current role in one
//! indexed query run first in the request's own database work, on its
//! connection (the request's `db::Gate`), so logout, deactivation and role
//! changes count on the very next request at the cost of no extra hop.
//! `Partner` is a shelter's API key, and nothing else: a user's token is no
//! key, and a key is no user's token.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::api_key::{self, ApiKey};
use super::AuthState;
use crate::crypto::constant_time_eq;
use crate::db;
use crate::domain::{ApiKeyId, AuditAction, Clearance, Role, SessionId, ShelterId, UserId};
use crate::error::AppError;
use crate::models::api_key::ApiKeyRow;
use crate::models::bad_key;
use crate::models::event::Actor;
use crate::models::session::Session;
use crate::operations;
use crate::state::AppState;
use crate::telemetry::{Caller, RequestId};

/// A signed-in user, shared: the request's extensions, its session check
/// and its handler hold the one copy.
#[derive(Debug, Clone)]
pub struct AuthUser(Arc<SignedIn>);

#[derive(Debug)]
pub struct SignedIn {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub session_id: SessionId,
    /// The request this user is making.
    pub request_id: Option<String>,
}

impl std::ops::Deref for AuthUser {
    type Target = SignedIn;

    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.id, &self.display_name).in_request(self.request_id.as_deref())
    }
}

/// The token of an `Authorization: Bearer …` header value, if that is what
/// it is. Read as bytes: the token goes on to a signature check or a key
/// lookup, which refuse anything but their own few characters.
pub fn bearer(value: &[u8]) -> Option<&str> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, token) = (&value[..space], &value[space + 1..]);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    Some(std::str::from_utf8(token).ok()?.trim())
}

/// The bearer token of a request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    bearer_of(req).map(str::to_string)
}

fn bearer_of(req: &HttpRequest) -> Option<&str> {
    bearer(req.headers().get(header::AUTHORIZATION)?.as_bytes())
}

/// The application state and authentication's own, as registered by `startup`.
fn states(req: &HttpRequest) -> Option<(web::Data<AppState>, web::Data<AuthState>)> {
    Some((
        req.app_data::<web::Data<AppState>>()?.clone(),
        req.app_data::<web::Data<AuthState>>()?.clone(),
    ))
}

/// The user a valid, current token names, as it names them (role, name and
/// email as of its issue), and the time it was checked at. No database.
fn claimed(
    state: &AppState,
    auth: &AuthState,
    token: Option<&str>,
    request_id: Option<String>,
) -> Result<(SignedIn, chrono::DateTime<chrono::Utc>), AppError> {
    let token = token.ok_or_else(AppError::unauthorized)?;
    let now = state.clock.now();
    let claims = auth
        .jwt
        .verify(token, now)
        .ok_or_else(AppError::unauthorized)?;
    let user = SignedIn {
        id: UserId::parse(&claims.sub).ok_or_else(AppError::unauthorized)?,
        email: claims.email.clone(),
        display_name: claims.name.clone(),
        role: claims.role,
        session_id: SessionId::parse(&claims.sid).ok_or_else(AppError::unauthorized)?,
        request_id,
    };
    Ok((user, now))
}

/// The token's user as the database has them now, checked in a blocking
/// call of its own (for callers that authenticate ahead of the handler).
async fn authenticate(
    states: Option<(web::Data<AppState>, web::Data<AuthState>)>,
    token: Option<String>,
    request_id: Option<String>,
) -> Result<AuthUser, AppError> {
    let (state, auth) = states.ok_or_else(|| AppError::internal("application state missing"))?;
    let (claimed, now) = claimed(&state, &auth, token.as_deref(), request_id)?;
    let (sid, uid) = (claimed.session_id.clone(), claimed.id.clone());
    let current = db::run(&state.pool, move |conn| {
        Ok(Session::authenticate(conn, &sid, &uid, now.naive_utc())?)
    })
    .await?
    .ok_or_else(AppError::unauthorized)?;
    Ok(AuthUser(Arc::new(SignedIn {
        role: current.role,
        email: current.email,
        display_name: current.display_name,
        ..claimed
    })))
}

/// The user a valid token names, as it names them, with no blocking work.
/// The session check waits at the request's gate for its first database
/// work, on the same connection (see [`db::Gate`]): the session live, the
/// user active, and their role *now* one that `allowed` admits — else 401,
/// or 403 with the refusal audited.
fn from_token(
    req: &HttpRequest,
    gate: &db::Gate,
    allowed: fn(Role) -> bool,
) -> Result<AuthUser, AppError> {
    let (state, auth) =
        states(req).ok_or_else(|| AppError::internal("application state missing"))?;
    let (user, now) = claimed(&state, &auth, bearer_of(req), RequestId::of(req))?;
    let user = AuthUser(Arc::new(user));
    // What the request tried, for the audit of a refusal, if any role can be refused.
    let refuses = Role::ALL.iter().any(|role| !allowed(*role));
    let (claimed, what) = (user.clone(), refuses.then(|| attempted(req)));
    let keys = state.context.keys.clone();
    gate.require(Arc::new(move |conn| {
        let at = now.naive_utc();
        let role = Session::current_role(conn, &claimed.session_id, &claimed.id, at)?
            .ok_or_else(AppError::unauthorized)?;
        if allowed(role) {
            return Ok(());
        }
        let actor = claimed.actor();
        let what = what.clone();
        db::write(conn, |conn| {
            let denied = AuditAction::AccessDenied;
            operations::audit(conn, &keys, &actor, denied, None, what, at)
        })?;
        Err(AppError::forbidden())
    }));
    Ok(user)
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already authenticated for this request (see `principal`).
        if let Some(user) = req.extensions().get::<AuthUser>().cloned() {
            return Box::pin(async move { Ok(user) });
        }
        let gate = req.extensions().get::<Arc<db::Gate>>().cloned();
        if let Some(gate) = gate {
            let user = from_token(req, &gate, |_| true);
            if let Ok(user) = &user {
                remember_user(req, user);
            }
            return Box::pin(std::future::ready(user));
        }
        let found = authenticate(states(req), bearer_token(req), RequestId::of(req));
        let req = req.clone();
        Box::pin(async move {
            let user = found.await?;
            remember_user(&req, &user);
            Ok(user)
        })
    }
}

/// Who is calling, authenticated once for the whole request as its
/// handler will: a shelter's API key on `/api/v1/partner/…` (`key:<id>`),
/// a staff token anywhere else (`user:<id>`); `None` without credentials.
/// The user or partner found is kept for the handler's extractors, which
/// do not authenticate again.
pub async fn principal(req: &HttpRequest) -> Result<Option<String>, AppError> {
    if req.path().starts_with("/api/v1/partner/") {
        if presented_key(req).is_none() {
            return Ok(None);
        }
        let partner = partner_of(req).await?;
        let principal = format!("key:{}", partner.key_id);
        remember_partner(req, partner);
        return Ok(Some(principal));
    }
    if bearer_token(req).is_none() {
        return Ok(None);
    }
    let user = authenticate(states(req), bearer_token(req), RequestId::of(req)).await?;
    let principal = format!("user:{}", user.id);
    remember_user(req, &user);
    Ok(Some(principal))
}

/// Keeps the user for the handler's extractors (so they do not
/// authenticate again) and names the caller for the request log.
fn remember_user(req: &HttpRequest, user: &AuthUser) {
    let mut extensions = req.extensions_mut();
    extensions.insert(Caller {
        kind: "user",
        id: user.id.to_string(),
    });
    extensions.insert(user.clone());
}

/// As [`remember_user`], for a shelter's API key.
fn remember_partner(req: &HttpRequest, partner: Partner) {
    let mut extensions = req.extensions_mut();
    extensions.insert(Caller {
        kind: "shelter",
        id: partner.shelter_id.to_string(),
    });
    extensions.insert(partner);
}

/// What a request tried: its method and route template (never an id).
fn attempted(req: &HttpRequest) -> String {
    let route = req.match_pattern().unwrap_or_else(|| "(unmatched)".into());
    format!("{} {route}", req.method())
}

/// Audits a refusal (`access.denied`): who tried what.
async fn deny(state: &AppState, user: &AuthUser, what: String) -> Result<(), AppError> {
    let (actor, now, keys) = (user.actor(), state.now(), state.context.keys.clone());
    db::run(&state.pool, move |conn| {
        Ok(db::write(conn, |conn| {
            operations::audit(
                conn,
                &keys,
                &actor,
                AuditAction::AccessDenied,
                None,
                Some(what),
                now,
            )
        })?)
    })
    .await
}

/// Applies `clearance` again to the user authenticated for this request (a
/// replayed answer): 403, audited as a fresh request's refusal is, when it
/// does not admit their role now. A shelter's key has no role to change.
pub async fn recheck(req: &HttpRequest, clearance: Clearance) -> Result<(), AppError> {
    let Some(user) = req.extensions().get::<AuthUser>().cloned() else {
        return Ok(());
    };
    if clearance.admits(user.role) {
        return Ok(());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    deny(&state, &user, attempted(req)).await?;
    Err(AppError::forbidden())
}

/// Declares an extractor that admits the roles `$clearance` admits, and
/// answers 403 to other signed-in users (audited). The clearance stays on
/// the request, for a kept answer to be held to again.
macro_rules! role_extractor {
    ($(#[$meta:meta])* $name:ident, $clearance:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let allowed: fn(Role) -> bool = |role| $clearance.admits(role);
                req.extensions_mut().insert($clearance);
                let cached = req.extensions().get::<AuthUser>().is_some();
                let gate = req.extensions().get::<Arc<db::Gate>>().cloned();
                if let (false, Some(gate)) = (cached, gate) {
                    let user = from_token(req, &gate, allowed);
                    if let Ok(user) = &user {
                        remember_user(req, user);
                    }
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    return Box::pin(async move {
                        let user = user?;
                        if !allowed(user.role) {
                            // The token says no; the role now decides, at
                            // the gate, before the handler runs.
                            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
                            db::run(&state.pool, |_| Ok(())).await?;
                        }
                        Ok($name(user))
                    });
                }
                let user = AuthUser::from_request(req, payload);
                let (state, what) = (req.app_data::<web::Data<AppState>>().cloned(), attempted(req));
                Box::pin(async move {
                    let user = user.await?;
                    if allowed(user.role) {
                        return Ok($name(user));
                    }
                    if let Some(state) = state {
                        deny(&state, &user, what).await?;
                    }
                    Err(AppError::forbidden())
                })
            }
        }
    };
}

role_extractor!(
    /// Any signed-in staff user: admin, coordinator or observer.
    Staff,
    Clearance::Staff
);
role_extractor!(
    /// A coordinator or an admin: may change cases and shelters.
    Coordinator,
    Clearance::Coordinator
);
role_extractor!(
    /// An admin.
    Admin,
    Clearance::Admin
);

/// A partner shelter, authenticated by one of its API keys.
#[derive(Debug, Clone)]
pub struct Partner {
    pub key_id: ApiKeyId,
    pub shelter_id: ShelterId,
    pub shelter_name: String,
    /// The request this shelter is making.
    pub request_id: Option<String>,
}

impl Partner {
    pub fn actor(&self) -> Actor {
        Actor::shelter(&self.shelter_id, &self.shelter_name).in_request(self.request_id.as_deref())
    }
}

/// The API key of a request: `X-API-Key`, or a bearer token that is a key.
fn presented_key(req: &HttpRequest) -> Option<String> {
    match req.headers().get("x-api-key") {
        Some(value) => value.to_str().ok().map(|v| v.trim().to_string()),
        None => bearer_token(req).filter(|t| t.starts_with(api_key::PREFIX)),
    }
}

/// The minute `now` falls in: the window request counts are kept by.
fn minute_of(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    let seconds = now.timestamp();
    chrono::DateTime::from_timestamp(seconds - seconds.rem_euclid(60), 0)
        .unwrap_or(now)
        .naive_utc()
}

/// What the database said of a presented key.
enum Presented {
    /// A live key: the partner, and its requests this minute (PostgreSQL).
    Live(Partner, Option<i32>),
    /// No such key: the client's bad keys this minute (PostgreSQL).
    Bad(Option<i64>),
}

async fn authenticate_partner(
    states: Option<(web::Data<AppState>, web::Data<AuthState>)>,
    presented: Option<String>,
    client: String,
) -> Result<Partner, AppError> {
    let (state, auth) = states.ok_or_else(|| AppError::internal("application state missing"))?;
    let presented = presented.ok_or_else(AppError::unauthorized)?;
    let now = state.clock.now();
    let (window, limit) = (minute_of(now), state.config.partner.rate_limit_per_minute);
    let left = || {
        (minute_of(now) + chrono::Duration::minutes(1) - now.naive_utc())
            .num_seconds()
            .max(1) as u64
    };
    let key = ApiKey::parse(&presented);
    let address = client.clone();
    let found = db::run(&state.pool, move |conn| {
        let at = now.naive_utc();
        // A malformed key or a typo fails its checksum before any lookup.
        let Some(key) = key else {
            return Ok(Presented::Bad(bad_key::record(conn, &address, at)?));
        };
        let (prefix, hash) = (key.prefix().to_string(), key.hash());
        let live = ApiKeyRow::find_live(conn, &prefix, at)?
            .filter(|(row, _)| constant_time_eq(row.key_hash.as_bytes(), hash.as_bytes()));
        let Some((row, shelter_name)) = live else {
            return Ok(Presented::Bad(bad_key::record(conn, &address, at)?));
        };
        row.touch(conn, at)?;
        let used = ApiKeyRow::count_request(conn, &row.id, window)?;
        let partner = Partner {
            key_id: row.id,
            shelter_id: row.shelter_id,
            shelter_name,
            request_id: None,
        };
        Ok(Presented::Live(partner, used))
    })
    .await?;
    // A client that keeps presenting bad keys is slowed down, whatever the keys.
    let too_many_bad = || {
        AppError::too_many_requests(
            left(),
            "Too many invalid API keys from this address; try again later.",
        )
    };
    let too_many = |secs| {
        AppError::too_many_requests(secs, "This API key has made too many requests; slow down.")
    };
    match found {
        Presented::Bad(Some(bad)) if bad > i64::from(state.config.partner.bad_keys_per_minute) => {
            Err(too_many_bad())
        }
        Presented::Bad(Some(_)) => Err(AppError::unauthorized()),
        Presented::Bad(None) => Err(match auth.bad_key_limiter.check(&client, now) {
            Ok(()) => AppError::unauthorized(),
            Err(secs) => AppError::too_many_requests(
                secs,
                "Too many invalid API keys from this address; try again later.",
            ),
        }),
        Presented::Live(_, Some(used)) if used as u32 > limit => Err(too_many(left())),
        Presented::Live(partner, Some(_)) => Ok(partner),
        Presented::Live(partner, None) => {
            auth.key_limiter
                .check(partner.key_id.as_str(), now)
                .map_err(too_many)?;
            Ok(partner)
        }
    }
}

impl FromRequest for Partner {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(partner) = req.extensions().get::<Partner>().cloned() {
            return Box::pin(async move { Ok(partner) });
        }
        let found = partner_of(req);
        let req = req.clone();
        Box::pin(async move {
            let partner = found.await?;
            remember_partner(&req, partner.clone());
            Ok(partner)
        })
    }
}

/// Authenticates the API key `req` presents.
fn partner_of(req: &HttpRequest) -> impl std::future::Future<Output = Result<Partner, AppError>> {
    let trusted = req
        .app_data::<web::Data<AuthState>>()
        .map(|a| a.trusted_proxies.clone())
        .unwrap_or_default();
    let client = super::client::address(req, &trusted);
    let (states, key, request_id) = (states(req), presented_key(req), RequestId::of(req));
    async move {
        let partner = authenticate_partner(states, key, client).await?;
        Ok(Partner {
            request_id,
            ..partner
        })
    }
}
