//! Builds the server from its parts (configuration, pool, clock, listener),
//! so `corridor serve` and the tests run the same application.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::auth::token::JwtKeys;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{self, DbConnection, Pool};
use crate::domain::Role;
use crate::error::AppError;
use crate::jobs::alerts::AlertContext;
use crate::models::user::User;
use crate::ratelimit::RateLimiter;
use crate::{auth, routes, telemetry};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub jwt: JwtKeys,
    /// Requests per API key and minute.
    pub key_limiter: RateLimiter,
    /// Invalid API keys per client address and minute.
    pub bad_key_limiter: RateLimiter,
    /// The stall rules and what alerts need; read by every case change.
    pub alerts: AlertContext,
}

impl AppState {
    /// The JWT secret is the configured one, or one generated once into the data folder.
    pub fn new(config: Config, pool: Pool, clock: SharedClock) -> std::io::Result<Self> {
        let secret = if config.auth.jwt_secret.is_empty() {
            auth::secret::load_or_create(&config.server.data_dir, "jwt_secret", 32)?
        } else {
            config.auth.jwt_secret.clone()
        };
        Ok(Self {
            jwt: JwtKeys::new(secret.as_bytes(), config.auth.access_ttl.0),
            alerts: AlertContext::from_config(&config),
            key_limiter: RateLimiter::new(
                config.partner.rate_limit_per_minute,
                chrono::Duration::minutes(1),
            ),
            bad_key_limiter: RateLimiter::new(
                config.partner.bad_keys_per_minute,
                chrono::Duration::minutes(1),
            ),
            config: Arc::new(config),
            pool,
            clock,
        })
    }
}

/// Starts serving on `listener`; the returned server runs when awaited or spawned.
pub fn build_server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(BODY_LIMIT)
                    .error_handler(|e, _| json_error(e).into()),
            )
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::not_found().into()))
            .wrap(from_fn(telemetry::request_log))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

fn json_error(e: JsonPayloadError) -> AppError {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::payload_too_large(BODY_LIMIT)
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            AppError::payload_too_large(BODY_LIMIT)
        }
        JsonPayloadError::ContentType => AppError::unsupported_media_type(),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            AppError::bad_request(format!("The body does not fit this request: {e}."))
        }
        JsonPayloadError::Deserialize(e) => {
            AppError::bad_request(format!("The body is not valid JSON: {e}."))
        }
        _ => AppError::bad_request("The body could not be read."),
    }
}

fn query_error(e: QueryPayloadError) -> AppError {
    match e {
        QueryPayloadError::Deserialize(e) => {
            AppError::bad_request(format!("Bad query string: {e}."))
        }
        _ => AppError::bad_request("Bad query string."),
    }
}

/// On a database with no users at all, creates an admin with a generated
/// password and returns that password (to be shown once). Two instances
/// starting together cannot both create one: the email is unique.
pub fn ensure_first_admin(
    conn: &mut DbConnection,
    email: &str,
    now: chrono::NaiveDateTime,
) -> Result<Option<String>, AppError> {
    if User::count(conn)? > 0 {
        return Ok(None);
    }
    let password = auth::password::generate();
    let admin = User {
        id: crate::models::new_id(),
        email: crate::models::user::normalise_email(email),
        display_name: "Administrator".into(),
        role: Role::Admin.as_str().into(),
        password_hash: auth::password::hash(&password).map_err(AppError::internal)?,
        active: true,
        created_at: now,
        updated_at: now,
    };
    match admin.insert(conn) {
        Ok(()) => Ok(Some(password)),
        Err(e) if db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
