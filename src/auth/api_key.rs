//! Partner API keys: `crd_`, 32 random base62 characters, and a 6-character
//! CRC32 checksum, so secret scanners recognise a key and a mistyped one is
//! refused before any database work. Only the SHA-256 of a key is stored,
//! with its first characters as a non-secret prefix to find it by.

pub const PREFIX: &str = "crd_";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY: usize = 32;
const CHECKSUM: usize = 6;
/// Characters of the body shown as the key's prefix (about 47 bits; the
/// other 24 characters, about 143 bits, stay secret).
const LOOKUP: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// The CRC32 (IEEE) of `data`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn checksum(body: &str) -> String {
    let mut n = crc32(body.as_bytes());
    let mut out = [b'0'; CHECKSUM];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ApiKey {
    pub fn generate() -> Self {
        let limit = 256 - (256 % BASE62.len());
        let mut body = String::with_capacity(BODY);
        while body.len() < BODY {
            for byte in crate::crypto::random_bytes::<64>() {
                if (byte as usize) < limit && body.len() < BODY {
                    body.push(BASE62[byte as usize % BASE62.len()] as char);
                }
            }
        }
        let sum = checksum(&body);
        Self(format!("{PREFIX}{body}{sum}"))
    }

    /// A well-formed key with a matching checksum, or `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix(PREFIX)?;
        if rest.len() != BODY + CHECKSUM || !rest.bytes().all(|b| BASE62.contains(&b)) {
            return None;
        }
        let (body, sum) = rest.split_at(BODY);
        crate::crypto::constant_time_eq(checksum(body).as_bytes(), sum.as_bytes())
            .then(|| Self(text.trim().to_string()))
    }

    /// The non-secret part that finds the key: `crd_` and 8 characters.
    pub fn prefix(&self) -> &str {
        &self.0[..PREFIX.len() + LOOKUP]
    }

    pub fn hash(&self) -> String {
        crate::crypto::sha256_hex(self.0.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_has_the_documented_shape_and_parses() {
        let key = ApiKey::generate();
        assert!(key.as_str().starts_with("crd_"));
        assert_eq!(key.as_str().len(), 4 + 32 + 6);
        assert_eq!(ApiKey::parse(key.as_str()), Some(key.clone()));
        assert_eq!(key.prefix().len(), 12);
        assert_ne!(ApiKey::generate(), key);
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let key = ApiKey::generate();
        let text = key.as_str();
        for i in 4..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(ApiKey::parse(&typo).is_none(), "{typo}");
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "",
            "crd_",
            "crd_short",
            "abc_0123456789012345678901234567890123456789",
            "eyJhbGciOiJIUzI1NiJ9.e30.x",
        ] {
            assert!(ApiKey::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
