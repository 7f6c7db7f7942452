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

/// The product's own words: a password built on them is guessed first by
/// anyone who knows whose accounts these are.
const PRODUCT_WORDS: [&str; 8] = [
    "corridor",
    "evacuation",
    "evacuee",
    "chechnya",
    "grozny",
    "lgbt",
    "shelter",
    "safehouse",
];

/// zxcvbn's score (0–4) a new password must reach.
pub const MIN_SCORE: u8 = 3;
/// zxcvbn reads at most this much of a password: its work grows with the
/// length, and a longer password is not guessed by its prefix anyway.
const ESTIMATED_CHARS: usize = 64;

/// `text` with look-alike letters folded to Latin ones (Cyrillic `а` to
/// `a`, Greek `ο` to `o`), compatibility forms folded (NFKC) and lower case,
/// so `Pаssword1234` with a Cyrillic `а` is the `password1234` it imitates.
pub fn fold_confusables(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'а' | 'α' => 'a',
            'в' | 'β' => 'b',
            'с' | 'ϲ' => 'c',
            'ԁ' => 'd',
            'е' | 'ё' | 'ε' => 'e',
            'һ' | 'н' => 'h',
            'і' | 'ї' | 'ι' => 'i',
            'ј' => 'j',
            'к' | 'κ' => 'k',
            'м' => 'm',
            'о' | 'ο' | 'σ' => 'o',
            'р' | 'ρ' => 'p',
            'ԛ' => 'q',
            'ѕ' => 's',
            'т' | 'τ' => 't',
            'υ' => 'u',
            'ν' => 'v',
            'ԝ' | 'ω' => 'w',
            'х' | 'χ' => 'x',
            'у' | 'γ' => 'y',
            other => other,
        })
        .collect()
}

/// Is `password` a common one, alone or followed by digits or symbols
/// (`password1234`)?
fn is_common(password: &str) -> bool {
    let lower = fold_confusables(password);
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

/// Who a password is for: what a guesser would try first besides the
/// product's words.
#[derive(Debug, Clone, Copy, Default)]
pub struct Account<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl<'a> Account<'a> {
    pub fn new(email: &'a str, name: &'a str) -> Self {
        Self {
            email: Some(email),
            name: Some(name),
        }
    }

    /// The words zxcvbn weighs a password against.
    fn words(&self) -> Vec<String> {
        let mut words: Vec<String> = PRODUCT_WORDS.iter().map(|w| w.to_string()).collect();
        for text in [self.email, self.name].into_iter().flatten() {
            let folded = fold_confusables(text);
            words.extend(
                folded
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.chars().count() >= 3)
                    .map(str::to_string),
            );
            words.push(folded.chars().filter(|c| c.is_alphanumeric()).collect());
            words.push(folded);
        }
        words
    }
}

/// Checks a new password against the rules of NIST SP 800-63B and a
/// strength estimate (zxcvbn, with the product's words and the account's
/// email and name as what a guesser tries first, look-alike letters
/// folded); the message names the rule broken. A password may not contain
/// the local part of the account's email when that has 6 characters or
/// more.
pub fn check_strength(password: &str, account: Account<'_>) -> Result<(), String> {
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
    let folded = fold_confusables(password);
    let local = fold_confusables(
        account
            .email
            .and_then(|e| e.split('@').next())
            .unwrap_or_default(),
    );
    if local.chars().count() >= 6 && folded.contains(&local) {
        return Err("must not contain the name part of the account's email".into());
    }
    let estimated: String = folded.chars().take(ESTIMATED_CHARS).collect();
    let words = account.words();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let score = u8::from(zxcvbn::zxcvbn(&estimated, &words).score());
    if score < MIN_SCORE {
        return Err(format!(
            "is too easy to guess (strength {score} of 4, at least {MIN_SCORE} needed): \
             avoid keyboard patterns, repeats, years, names and the words of this service; \
             a few unrelated words make a strong password"
        ));
    }
    Ok(())
}

/// For validator: the rules that need no account, with a message naming
/// the one broken.
pub fn validate(password: &str) -> Result<(), validator::ValidationError> {
    check_strength(password, Account::default())
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
        let none = Account::default();
        assert!(check_strength("elevenchars", none).is_err());
        assert!(check_strength("river otter lamp", none).is_ok());
        assert!(check_strength(&"xy".repeat(MAX_LENGTH), none).is_err());
        let long = "a quiet river, then the night train north; ".repeat(3);
        assert!(
            check_strength(&long, none).is_ok(),
            "128 characters are fine"
        );
    }

    #[test]
    fn weak_passwords_are_refused_by_the_rule_they_break() {
        let none = Account::default();
        let email = |e| Account {
            email: Some(e),
            name: None,
        };
        let rule = |p: &str, a: Account<'_>| check_strength(p, a).unwrap_err();
        assert!(rule("            ", none).contains("one character repeated"));
        assert!(rule("aaaaaaaaaaaaaaa", none).contains("one character repeated"));
        assert!(rule("123456789012", none).contains("consecutive"));
        assert!(rule("abcdefghijklm", none).contains("consecutive"));
        assert!(rule("987654321098", none).contains("consecutive"));
        assert!(rule("password1234", none).contains("most used"));
        assert!(rule("Baseball1234!", none).contains("most used"));
        let zelimkhan = email("zelimkhan@example.org");
        assert!(rule("my zelimkhan secret", zelimkhan).contains("email"));
        assert!(
            check_strength("my zel secret here", email("zel@example.org")).is_ok(),
            "a short local part does not count"
        );
        assert!(check_strength("correct horse battery staple", zelimkhan).is_ok());
    }

    #[test]
    fn guessable_passwords_are_refused_by_the_estimate() {
        let account = Account::new("admin@corridor.local", "Malika Dudaeva");
        for weak in [
            "passwordpassword",
            "qwertyqwerty",
            "abcabcabcabc",
            "123123123123",
            "aaaaaaaaaaab",
            "123456789abc",
            "zaq12wsxcde3",
            "Corridor1234",
            "evacuation2026",
            "corridor2026!",
            "Pаssword1234", // a Cyrillic а
            "malikadudaeva1",
        ] {
            assert!(
                check_strength(weak, account).is_err(),
                "{weak} was accepted"
            );
        }
        for strong in [
            "correct horse battery staple",
            "a long night train to Tbilisi",
            "violet-anchor-mosaic-71",
        ] {
            assert_eq!(check_strength(strong, account), Ok(()), "{strong}");
        }
    }

    #[test]
    fn look_alike_letters_fold_to_latin() {
        assert_eq!(fold_confusables("Pаssword"), "password");
        assert_eq!(fold_confusables("ΡΑSSWΟRD"), "password");
        assert_eq!(fold_confusables("ｐａｓｓ"), "pass");
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
        assert_eq!(check_strength(&a, Account::default()), Ok(()));
        assert_ne!(a, b);
    }
}
