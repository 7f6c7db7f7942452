//! Case codes: `EV-` and six characters drawn at random from an alphabet
//! without look-alikes (no 0/O, 1/I/L). Never derived from personal data.

use std::fmt;

use super::{invalid, text_column};

/// Digits and capitals that cannot be mistaken for one another.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const PREFIX: &str = "EV-";
const LENGTH: usize = 6;

#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
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

    fn from_stored(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| "a stored case code is malformed".to_string())
    }
}

text_column!(CaseCode);

super::docs::documented!(
    CaseCode,
    super::docs::patterned(
        "A case code: EV- and six characters (case-insensitive on input).",
        "EV-7K3Q9D",
        "^[Ee][Vv]-[2-9A-HJ-NP-Za-hj-np-z]{6}$",
    )
);

impl serde::Serialize for CaseCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CaseCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Self::parse(&text)
            .ok_or_else(|| invalid("EV-222222", "must be a case code, such as EV-7K3Q9D"))
    }
}

impl fmt::Display for CaseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The start of a case code, to search by (`ev-7k` → `EV-7K`): never
/// longer than a code, and only characters a code can hold, so it carries
/// no LIKE wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePrefix(String);

impl CodePrefix {
    /// `EV-7K`, `ev-7k`, or the code's own characters alone (`7K3`, as a
    /// person reads a code out), each to `EV-7K…`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut upper = text.trim().to_ascii_uppercase();
        let count = upper.chars().count();
        if count == 0 || count > PREFIX.len() + LENGTH {
            return None;
        }
        let is_code_start = PREFIX.starts_with(upper.as_str()) || upper.starts_with(PREFIX);
        if !is_code_start && count <= LENGTH {
            upper.insert_str(0, PREFIX);
        }
        // Characters, not bytes: a prefix such as "ЕВ" (Cyrillic) must not
        // be cut inside a character.
        let head_ok = upper.chars().zip(PREFIX.chars()).all(|(a, b)| a == b);
        let tail_ok = upper
            .chars()
            .skip(PREFIX.len())
            .all(|c| c.is_ascii() && ALPHABET.contains(&(c as u8)));
        (head_ok && tail_ok).then_some(Self(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::docs::documented!(
    CodePrefix,
    super::docs::text("The start of a case code.", "EV-7K", None)
);

/// A case as a path names it: by its id or by its code (`EV-7K3Q9D`, any
/// case), so that a code read out over the phone finds the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRef {
    Id(super::CaseId),
    Code(CaseCode),
}

impl CaseRef {
    pub fn parse(text: &str) -> Option<Self> {
        super::CaseId::parse(text)
            .map(CaseRef::Id)
            .or_else(|| CaseCode::parse(text).map(CaseRef::Code))
    }
}

impl<'de> serde::Deserialize<'de> for CaseRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            invalid(
                "EV-222222",
                "must be a case id or a case code, such as EV-7K3Q9D",
            )
        })
    }
}

super::docs::documented!(
    CaseRef,
    super::docs::patterned(
        "A case: its id (a UUID) or its code (EV- and six characters, any case).",
        "EV-7K3Q9D",
        "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[Ee][Vv]-[2-9A-HJ-NP-Za-hj-np-z]{6})$",
    )
);

impl<'de> serde::Deserialize<'de> for CodePrefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Self::parse(&text)
            .ok_or_else(|| invalid("EV", "must be the start of a case code, such as EV-7K"))
    }
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
        let prefix = |t: &str| CodePrefix::parse(t).map(|p| p.as_str().to_string());
        assert_eq!(prefix("ev-7k").as_deref(), Some("EV-7K"));
        assert_eq!(prefix("E").as_deref(), Some("E"));
        assert_eq!(prefix("%"), None);
        assert_eq!(prefix("EV-O"), None);
        assert_eq!(prefix("EV-7K3Q9DX"), None);
    }

    #[test]
    fn a_prefix_in_another_script_is_refused_without_panic() {
        for text in ["ЕВ", "ЕВ-7К", "E\u{301}", "EV-\u{1F600}", "ƐV", "EV-7К3"] {
            assert_eq!(CodePrefix::parse(text), None, "{text}");
        }
    }
}
