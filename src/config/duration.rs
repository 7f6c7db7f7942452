//! Durations written the way people write them in configuration files.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A duration written the way people write them: `90s`, `15m`, `48h`,
/// `21d`, `2w`, or combined, `1h30m`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub chrono::Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty duration".into());
        }
        let mut total = chrono::Duration::zero();
        let mut number = String::new();
        for ch in text.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            let n: i64 = number
                .parse()
                .map_err(|_| format!("`{text}` is not a duration like 90s, 15m, 48h or 21d"))?;
            number.clear();
            let part = match ch {
                's' => chrono::Duration::try_seconds(n),
                'm' => chrono::Duration::try_minutes(n),
                'h' => chrono::Duration::try_hours(n),
                'd' => chrono::Duration::try_days(n),
                'w' => chrono::Duration::try_weeks(n),
                _ => None,
            }
            .ok_or_else(|| format!("`{text}` is not a duration like 90s, 15m, 48h or 21d"))?;
            total += part;
        }
        if !number.is_empty() {
            return Err(format!("`{text}` lacks a unit (s, m, h, d or w)"));
        }
        Ok(Self(total))
    }

    pub fn std(self) -> std::time::Duration {
        self.0.to_std().unwrap_or_default()
    }
}

impl fmt::Debug for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.num_seconds())
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.num_seconds();
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if secs != 0 && secs % size == 0 {
                return write!(f, "{}{unit}", secs / size);
            }
        }
        write!(f, "{secs}s")
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

pub(super) fn days(n: i64) -> HumanDuration {
    HumanDuration(chrono::Duration::days(n))
}

pub(super) fn hours(n: i64) -> HumanDuration {
    HumanDuration(chrono::Duration::hours(n))
}

pub(super) fn minutes(n: i64) -> HumanDuration {
    HumanDuration(chrono::Duration::minutes(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_durations_parse() {
        assert_eq!(HumanDuration::parse("90s").unwrap().0.num_seconds(), 90);
        assert_eq!(HumanDuration::parse("48h").unwrap().0.num_hours(), 48);
        assert_eq!(HumanDuration::parse("21d").unwrap().0.num_days(), 21);
        assert_eq!(HumanDuration::parse("1h30m").unwrap().0.num_minutes(), 90);
        for bad in ["", "10", "h", "3x", "-1d"] {
            assert!(
                HumanDuration::parse(bad).is_err(),
                "{bad} should be refused"
            );
        }
    }
}
