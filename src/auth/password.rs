//! Password hashing with Argon2id (19 MiB, t = 2, p = 1: OWASP's minimum).
//! Hashing is slow on purpose: call these from a blocking thread.

use std::sync::OnceLock;

use actix_web::web;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

pub const MIN_LENGTH: usize = 12;
/// Longer inputs are refused before hashing, so a huge password cannot tie up a core.
pub const MAX_LENGTH: usize = 1024;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> Result<String, String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anyone knows, verified against when the email is
/// unknown, so a wrong email costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret = crate::crypto::hex(&crate::crypto::random_bytes::<16>());
        hash(&secret).unwrap_or_default()
    })
}

/// Checks the length rules; the message names what is wrong.
pub fn check_strength(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters long"));
    }
    if password.len() > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} bytes long"));
    }
    Ok(())
}

/// For validator: the strength rules, with a message naming the one broken.
pub fn validate(password: &str) -> Result<(), validator::ValidationError> {
    check_strength(password)
        .map_err(|message| validator::ValidationError::new("password").with_message(message.into()))
}

/// Hashes on a blocking thread: Argon2 is slow on purpose.
pub async fn hash_off_thread(password: String) -> Result<String, AppError> {
    web::block(move || hash(&password))
        .await
        .map_err(|_| AppError::internal("blocking task failed"))?
        .map_err(AppError::internal)
}

/// Verifies on a blocking thread; with no hash (an unknown account) it
/// checks against a dummy one, so that costs the same time.
pub async fn verify_off_thread(password: String, hash: Option<String>) -> Result<bool, AppError> {
    web::block(move || {
        let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
        password.len() <= MAX_LENGTH && verify(&password, hash)
    })
    .await
    .map_err(|_| AppError::internal("blocking task failed"))
}

/// A password for a new account that a person reads once: 20 characters
/// without look-alikes (about 99 bits).
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        for byte in crate::crypto::random_bytes::<32>() {
            if (byte as usize) < limit && out.len() < 20 {
                out.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_strength("elevenchars").is_err());
        assert!(check_strength("twelve chars").is_ok());
        assert!(check_strength(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 20);
        assert!(check_strength(&a).is_ok());
        assert_ne!(a, b);
    }
}
