//! Case codes: `EV-` and six characters drawn at random from an alphabet
//! without look-alikes (no 0/O, 1/I/L). Never derived from personal data.

use std::fmt;

/// Digits and capitals that cannot be mistaken for one another.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const PREFIX: &str = "EV-";
const LENGTH: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseCode(String);

impl CaseCode {
    /// A fresh random code (about 887 million possibilities; uniqueness is
    /// enforced by the database and a clash simply draws again).
    pub fn generate() -> Self {
        let mut code = String::with_capacity(PREFIX.len() + LENGTH);
        code.push_str(PREFIX);
        let mut buf = [0u8; 32];
        while code.len() < PREFIX.len() + LENGTH {
            getrandom::fill(&mut buf).expect("the operating system's random source failed");
            // Rejection sampling keeps every character equally likely.
            let limit = 256 - (256 % ALPHABET.len());
            for &byte in buf.iter().filter(|&&b| (b as usize) < limit) {
                if code.len() == PREFIX.len() + LENGTH {
                    break;
                }
                code.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
        Self(code)
    }

    /// Accepts a full code, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        let upper = text.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix(PREFIX)?;
        (rest.len() == LENGTH && rest.bytes().all(|b| ALPHABET.contains(&b))).then_some(Self(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalises a search prefix (`ev-7k` → `EV-7K`), or `None` when no code
/// could start with it.
pub fn parse_prefix(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    if upper.is_empty() || upper.len() > PREFIX.len() + LENGTH {
        return None;
    }
    let (head, tail) = upper.split_at(upper.len().min(PREFIX.len()));
    let head_ok = PREFIX.starts_with(head);
    let tail_ok = tail.bytes().all(|b| ALPHABET.contains(&b));
    (head_ok && tail_ok).then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_codes_have_the_documented_shape() {
        for _ in 0..200 {
            let code = CaseCode::generate();
            assert_eq!(code.as_str().len(), 9);
            assert!(CaseCode::parse(code.as_str()).is_some(), "{code}");
        }
    }

    #[test]
    fn generated_codes_rarely_repeat() {
        // 2000 draws from 31^6 codes repeat once in about 440 runs, three
        // times about once in a billion; the database refuses repeats anyway.
        let codes: HashSet<String> = (0..2000).map(|_| CaseCode::generate().0).collect();
        assert!(codes.len() >= 1998, "{} distinct of 2000", codes.len());
    }

    #[test]
    fn look_alike_characters_never_appear() {
        for _ in 0..500 {
            let code = CaseCode::generate();
            assert!(
                !code.as_str()[3..].contains(['0', 'O', '1', 'I', 'L']),
                "{code}"
            );
        }
    }

    #[test]
    fn parsing_is_strict_but_case_insensitive() {
        assert!(CaseCode::parse("ev-7k3q9d").is_some());
        assert!(CaseCode::parse("EV-7K3Q9").is_none());
        assert!(CaseCode::parse("EV-7K3Q90").is_none());
        assert!(CaseCode::parse("XX-7K3Q9D").is_none());
    }

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(parse_prefix("ev-7k").as_deref(), Some("EV-7K"));
        assert_eq!(parse_prefix("E").as_deref(), Some("E"));
        assert_eq!(parse_prefix("%").as_deref(), None);
        assert_eq!(parse_prefix("EV-O").as_deref(), None);
    }
}
