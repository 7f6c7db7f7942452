//! Access tokens (HS256 JWTs tied to a server-side session) and refresh
//! tokens (opaque, stored only as a SHA-256 hash, rotated on every use).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Role, SessionId};
use crate::models::session::SessionUser;

pub const ISSUER: &str = "corridor";

pub const AUDIENCE: &str = "corridor-api";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// The user's role, name and email when the token was issued. A request
    /// holds them against the database in the same query that checks the
    /// session, so a change of any counts on the very next request.
    pub role: Role,
    pub name: String,
    pub email: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    verified: Arc<Mutex<HashMap<String, Arc<AccessClaims>>>>,
}

/// Tokens whose signature was checked, kept so a client's next requests
/// skip the HMAC, base64 and JSON of a verification (7 % of a GET). Time is
/// still checked on every use; the session behind a token is checked in the
/// database on every request regardless. Found by the whole token, in a
/// map keyed by a hash seeded at random, so no lookup reveals anything of
/// a token not presented.
const VERIFIED_KEPT: usize = 1024;

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Expiry and not-before are checked against the injected clock below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            verified: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AccessClaims>>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(
        &self,
        user: &SessionUser,
        session_id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.user_id.to_string(),
            sid: session_id.to_string(),
            role: user.role,
            name: user.display_name.clone(),
            email: user.email.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// The claims of a valid, current token; `None` for anything else (wrong
    /// algorithm, signature, audience or issuer, a missing claim, expired or
    /// not yet valid).
    /// Shared with the kept verification: a request copies none of it.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Arc<AccessClaims>> {
        let kept = self.lock().get(token).cloned();
        let claims = match kept {
            Some(claims) => claims,
            None => {
                let claims = decode::<AccessClaims>(token, &self.decoding, &self.validation)
                    .ok()?
                    .claims;
                let claims = Arc::new(claims);
                let mut verified = self.lock();
                if verified.len() >= VERIFIED_KEPT {
                    verified.clear();
                }
                verified.insert(token.to_string(), claims.clone());
                claims
            }
        };
        let now = now.timestamp();
        let current = claims.exp > now && claims.nbf <= now && claims.iat <= now;
        current.then_some(claims)
    }
}

/// A refresh token is `<session id>.<secret>`; the database keeps the hash.
pub struct RefreshToken {
    pub session_id: SessionId,
    pub secret: String,
}

impl RefreshToken {
    pub fn generate(session_id: &SessionId) -> Self {
        Self {
            session_id: session_id.clone(),
            secret: crate::crypto::hex(&crate::crypto::random_bytes::<32>()),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (session_id, secret) = text.split_once('.')?;
        let session_id = SessionId::parse(session_id)?;
        let well_formed = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
        well_formed.then(|| Self {
            session_id,
            secret: secret.to_string(),
        })
    }

    pub fn hash(&self) -> String {
        crate::crypto::sha256_hex(self.secret.as_bytes())
    }

    pub fn token(&self) -> String {
        format!("{}.{}", self.session_id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::minutes(15))
    }

    fn subject(id: &UserId) -> SessionUser {
        SessionUser {
            user_id: id.clone(),
            email: "a@example.org".into(),
            display_name: "A".into(),
            role: Role::Observer,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_fresh_token_verifies_until_it_expires() {
        let keys = keys();
        let (user, session) = (UserId::new(), SessionId::new());
        let token = keys.issue(&subject(&user), &session, now()).unwrap();
        let claims = keys.verify(&token, now()).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str()),
            (user.as_str(), session.as_str())
        );
        assert!(keys.verify(&token, now() + Duration::minutes(14)).is_some());
        assert!(keys.verify(&token, now() + Duration::minutes(15)).is_none());
        assert!(
            keys.verify(&token, now() - Duration::minutes(1)).is_none(),
            "not before"
        );
    }

    #[test]
    fn a_kept_verification_answers_only_for_the_very_token_and_stays_bounded() {
        let keys = keys();
        let token = keys
            .issue(&subject(&UserId::new()), &SessionId::new(), now())
            .unwrap();
        assert!(keys.verify(&token, now()).is_some());
        // One character more or less, or another signature: checked afresh.
        let (body, signature) = token.rsplit_once('.').unwrap();
        for other in [
            format!("{token}x"),
            token[..token.len() - 1].to_string(),
            format!("{body}.{}", signature.chars().rev().collect::<String>()),
        ] {
            assert!(keys.verify(&other, now()).is_none(), "{other}");
        }
        for _ in 0..VERIFIED_KEPT + 10 {
            let token = keys
                .issue(&subject(&UserId::new()), &SessionId::new(), now())
                .unwrap();
            assert!(keys.verify(&token, now()).is_some());
        }
        assert!(keys.lock().len() <= VERIFIED_KEPT);
        assert!(keys.verify(&token, now()).is_some());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = JwtKeys::new(b"another secret of enough length!", Duration::minutes(15));
        let token = other
            .issue(&subject(&UserId::new()), &SessionId::new(), now())
            .unwrap();
        assert!(keys().verify(&token, now()).is_none());
    }

    #[test]
    fn refresh_tokens_round_trip_and_hash() {
        let token = RefreshToken::generate(&SessionId::new());
        let parsed = RefreshToken::parse(&token.token()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert_eq!(token.hash().len(), 64);
        assert!(RefreshToken::parse("nonsense").is_none());
        assert!(RefreshToken::parse("x.y").is_none());
    }
}
