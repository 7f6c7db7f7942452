//! Passwords: the rules a new one must meet (NIST SP 800-63B), and hashing
//! with Argon2id (19 MiB, t = 2, p = 1: OWASP's minimum). Hashing is slow on
//! purpose: call it from a blocking thread.

use std::collections::HashSet;
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

/// The 10,000 most used passwords, lower case (see the file's header).
fn common() -> &'static HashSet<&'static str> {
    static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();
    COMMON.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Is `password` a common one, alone or followed by digits or symbols
/// (`password1234`)?
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    common().contains(lower.as_str()) || (!stem.is_empty() && common().contains(stem))
}

/// Is `password` a run of consecutive characters, up or down (`123456789012`,
/// `abcdefghijkl`, `987654321098`; digits wrap from 9 to 0)?
fn is_sequence(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let step = |a: char, b: char| -> i64 {
        match (a, b) {
            ('9', '0') => 1,
            ('0', '9') => -1,
            _ => i64::from(u32::from(b)) - i64::from(u32::from(a)),
        }
    };
    let steps: Vec<i64> = chars.windows(2).map(|w| step(w[0], w[1])).collect();
    steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1)
}

/// Checks a new password against the rules of NIST SP 800-63B; the message
/// names the rule broken. `email` is the account's: a password may not
/// contain its local part when that has 6 characters or more.
pub fn check_strength(password: &str, email: Option<&str>) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters long"));
    }
    if password.len() > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} bytes long"));
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return Err("must not be one character repeated".into());
        }
    }
    if is_sequence(password) {
        return Err("must not be a run of consecutive characters such as 1234 or abcd".into());
    }
    if is_common(password) {
        return Err(
            "is one of the 10,000 most used passwords (or one of them with digits added)".into(),
        );
    }
    let local = email
        .and_then(|e| e.split('@').next())
        .unwrap_or_default()
        .to_lowercase();
    if local.chars().count() >= 6 && password.to_lowercase().contains(&local) {
        return Err("must not contain the name part of the account's email".into());
    }
    Ok(())
}

/// For validator: the rules that need no email, with a message naming the
/// one broken.
pub fn validate(password: &str) -> Result<(), validator::ValidationError> {
    check_strength(password, None)
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
        assert!(check_strength("elevenchars", None).is_err());
        assert!(check_strength("twelve chars", None).is_ok());
        assert!(check_strength(&"xy".repeat(MAX_LENGTH), None).is_err());
        assert!(
            check_strength(&"ab".repeat(64), None).is_ok(),
            "128 characters are fine"
        );
    }

    #[test]
    fn weak_passwords_are_refused_by_the_rule_they_break() {
        let rule = |p: &str, e: Option<&str>| check_strength(p, e).unwrap_err();
        assert!(rule("            ", None).contains("one character repeated"));
        assert!(rule("aaaaaaaaaaaaaaa", None).contains("one character repeated"));
        assert!(rule("123456789012", None).contains("consecutive"));
        assert!(rule("abcdefghijklm", None).contains("consecutive"));
        assert!(rule("987654321098", None).contains("consecutive"));
        assert!(rule("password1234", None).contains("most used"));
        assert!(rule("Baseball1234!", None).contains("most used"));
        let email = Some("zelimkhan@example.org");
        assert!(rule("my zelimkhan secret", email).contains("email"));
        assert!(
            check_strength("my zel secret here", Some("zel@example.org")).is_ok(),
            "a short local part does not count"
        );
        assert!(check_strength("correct horse battery staple", email).is_ok());
    }

    #[test]
    fn the_list_holds_ten_thousand_passwords() {
        assert_eq!(common().len(), 10_000);
        assert!(common().contains("123456") && common().contains("dragon"));
    }

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 20);
        assert!(check_strength(&a, None).is_ok());
        assert_ne!(a, b);
    }
}
