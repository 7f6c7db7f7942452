//! Who is calling: passwords, tokens and API keys, and the extractors that
//! handlers take as parameters (`Staff`, `Coordinator`, `Admin`, `Partner`).

pub mod api_key;
pub mod client;
pub mod extract;
pub mod password;
pub mod token;

use chrono::Duration;

pub use extract::{Admin, AuthUser, Coordinator, Partner, Staff};

use crate::config::Config;
use crate::ratelimit::RateLimiter;
use token::JwtKeys;

/// What authentication needs beyond the application state: the keys that
/// sign access tokens, and the request limits of API keys.
pub struct AuthState {
    pub jwt: JwtKeys,
    /// Requests per API key and minute.
    pub key_limiter: RateLimiter,
    /// Invalid API keys per client address and minute.
    pub bad_key_limiter: RateLimiter,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl AuthState {
    /// The JWT secret is the configured one, or one generated once into the
    /// data folder.
    pub fn new(config: &Config) -> std::io::Result<Self> {
        let secret = if config.auth.jwt_secret.is_empty() {
            crate::crypto::load_or_create_secret(&config.server.data_dir, "jwt_secret", 32)?
        } else {
            config.auth.jwt_secret.clone()
        };
        let per_minute = |limit| RateLimiter::new(limit, Duration::minutes(1));
        Ok(Self {
            jwt: JwtKeys::new(secret.as_bytes(), config.auth.access_ttl.0),
            key_limiter: per_minute(config.partner.rate_limit_per_minute),
            bad_key_limiter: per_minute(config.partner.bad_keys_per_minute),
            trusted_proxies: config
                .server
                .trusted_proxies()
                .map_err(std::io::Error::other)?,
        })
    }
}
