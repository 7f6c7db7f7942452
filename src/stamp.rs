//! Timestamps in and out, on the paths every request takes. SQLite stores
//! them as text ("2026-11-26 19:04:10.123456"), which diesel reads by trying
//! chrono's format parser against up to 18 formats; a list of 50 cases
//! reads 300 of them. And serde writes a `DateTime` through `fmt`, a
//! character at a time. Both are done here by hand for the one shape they
//! have, with chrono's own way kept for anything else, so what is read and
//! written does not change.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;
use serde::Serializer;

use crate::db::{MultiBackend, MultiRawValue};

/// A `Timestamp` column read through [`parse_stored`] on SQLite; for
/// `#[diesel(deserialize_as = Stamp)]` on a `NaiveDateTime` field.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Stamp(NaiveDateTime);

/// A nullable `Timestamp` column, likewise, for an `Option<NaiveDateTime>`.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct MaybeStamp(Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(stamp: Stamp) -> Self {
        stamp.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(stamp: MaybeStamp) -> Self {
        stamp.0
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        match parse_stored(value.read_text()) {
            Some(at) => Ok(Stamp(at)),
            None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp),
        }
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, MultiBackend> for Stamp {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        match value {
            MultiRawValue::Sqlite(v) => <Stamp as FromSql<Timestamp, Sqlite>>::from_sql(v),
            MultiRawValue::Postgresql(v) => <Stamp as FromSql<Timestamp, Pg>>::from_sql(v),
        }
    }
}

macro_rules! maybe_stamp_for {
    ($($backend:ty),+) => {$(
        impl FromSql<Nullable<Timestamp>, $backend> for MaybeStamp {
            fn from_sql(value: <$backend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                <Stamp as FromSql<Timestamp, $backend>>::from_sql(value).map(|s| MaybeStamp(Some(s.0)))
            }

            fn from_nullable_sql(
                value: Option<<$backend as Backend>::RawValue<'_>>,
            ) -> deserialize::Result<Self> {
                match value {
                    Some(value) => <Self as FromSql<Nullable<Timestamp>, $backend>>::from_sql(value),
                    None => Ok(MaybeStamp(None)),
                }
            }
        }
    )+};
}
maybe_stamp_for!(Sqlite, Pg, MultiBackend);

/// "YYYY-MM-DD HH:MM:SS" with an optional fraction of 1 to 9 digits, as
/// diesel writes a timestamp to SQLite; `None` for anything else.
pub fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?;
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(20, b.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    if second > 59 {
        return None;
    }
    date.and_hms_nano_opt(hour, minute, second, nanos)
}

/// Writes `at` as serde_json writes a `DateTime<Utc>`: RFC 3339 with "Z",
/// and 0, 3, 6 or 9 digits of fraction, as many as it needs.
pub fn rfc3339(at: &DateTime<Utc>) -> RfcText {
    match write(&at.naive_utc(), b'T', true) {
        Some(text) => text,
        // Years of five digits and leap seconds: chrono's own way.
        None => RfcText::Long(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// Writes `at` as diesel writes a timestamp to SQLite (chrono's "%F %T%.f"):
/// what [`parse_stored`] reads.
pub fn stored(at: &NaiveDateTime) -> RfcText {
    match write(at, b' ', false) {
        Some(text) => text,
        None => RfcText::Long(at.format("%F %T%.f").to_string()),
    }
}

/// "YYYY-MM-DD?HH:MM:SS", `sep` between date and time, a fraction of 0, 3,
/// 6 or 9 digits as the nanoseconds need, and "Z" when `zulu`; `None` for
/// a year outside 0 to 9999 or a leap second.
fn write(at: &NaiveDateTime, sep: u8, zulu: bool) -> Option<RfcText> {
    let (year, nanos) = (at.year(), at.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut out = [0u8; 30];
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    let digits = match nanos {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    if digits > 0 {
        put(20, nanos / 10u32.pow(9 - digits as u32), digits);
    }
    out[4] = b'-';
    out[7] = b'-';
    out[10] = sep;
    out[13] = b':';
    out[16] = b':';
    let mut len = 19;
    if digits > 0 {
        out[19] = b'.';
        len = 20 + digits;
    }
    if zulu {
        out[len] = b'Z';
        len += 1;
    }
    Some(RfcText::Short(out, len))
}

/// A `Timestamp` to bind, written by [`stored`] on SQLite rather than
/// through chrono's formatter (a tenth of a session check); PostgreSQL
/// binds it as ever. For the queries every request makes (`db::native!`).
#[derive(Debug, diesel::expression::AsExpression)]
#[diesel(sql_type = Timestamp)]
pub struct At(pub NaiveDateTime);

impl ToSql<Timestamp, Sqlite> for At {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(stored(&self.0).as_str().to_string());
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for At {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

/// The text [`rfc3339`] or [`stored`] wrote.
pub enum RfcText {
    Short([u8; 30], usize),
    Long(String),
}

impl RfcText {
    pub fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits and separators were written.
            RfcText::Short(bytes, len) => std::str::from_utf8(&bytes[..*len]).unwrap_or_default(),
            RfcText::Long(text) => text,
        }
    }
}

/// For `#[serde(serialize_with = "crate::stamp::serialize")]`.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rfc3339(at).as_str())
}

/// For `#[serde(serialize_with = "crate::stamp::serialize_opt")]`.
pub fn serialize_opt<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_time() -> impl Strategy<Value = NaiveDateTime> {
        // Years 1 to 9999, any second, and fractions of every precision.
        (
            0i64..253_402_300_800 - 62_135_596_800,
            0u32..4,
            0u32..1_000_000_000,
        )
            .prop_map(|(secs, precision, nanos)| {
                let nanos = match precision {
                    0 => 0,
                    1 => nanos / 1_000_000 * 1_000_000,
                    2 => nanos / 1_000 * 1_000,
                    _ => nanos,
                };
                DateTime::from_timestamp(secs - 62_135_596_800 + 86_400 * 366, nanos)
                    .map(|t| t.naive_utc())
                    .unwrap_or_default()
            })
    }

    proptest! {
        #[test]
        fn stored_text_reads_back_as_chrono_reads_it(at in any_time()) {
            let text = at.format("%F %T%.f").to_string();
            prop_assert_eq!(parse_stored(&text), Some(at));
        }

        #[test]
        fn any_text_is_refused_or_read_as_chrono_reads_it(text in "\\PC{0,40}|[0-9 :.-]{19,30}") {
            if let Some(at) = parse_stored(&text) {
                prop_assert_eq!(NaiveDateTime::parse_from_str(&text, "%F %T%.f").ok(), Some(at));
            }
        }

        #[test]
        fn a_bound_time_is_what_diesel_writes_for_chrono(at in any_time()) {
            let text = stored(&at);
            prop_assert_eq!(text.as_str(), at.format("%F %T%.f").to_string());
            prop_assert_eq!(parse_stored(text.as_str()), Some(at));
        }

        #[test]
        fn json_is_what_serde_writes_for_chrono(at in any_time()) {
            let at = at.and_utc();
            let ours = serde_json::to_string(&rfc3339(&at).as_str()).unwrap();
            prop_assert_eq!(ours, serde_json::to_string(&at).unwrap());
        }
    }

    #[test]
    fn other_shapes_fall_through() {
        for text in [
            "2026-11-26T19:04:10",
            "2026-11-26 19:04:60",
            "2026-02-30 00:00:00",
            "2026-11-26 19:04:10.",
            "2026-11-26 19:04:10.1234567891",
            "+2026-1-26 19:04:10",
            "2026-11-26 19:04:10+00:00",
            "２０２６-11-26 19:04:10",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|t| t.and_utc());
        let leap = leap.expect("a leap second");
        assert_eq!(
            serde_json::to_string(&rfc3339(&leap).as_str()).unwrap(),
            serde_json::to_string(&leap).unwrap()
        );
        let (leap, far) = (
            leap.naive_utc(),
            NaiveDate::from_ymd_opt(12_026, 1, 1).unwrap(),
        );
        for at in [leap, far.and_hms_opt(0, 0, 0).unwrap()] {
            assert_eq!(stored(&at).as_str(), at.format("%F %T%.f").to_string());
        }
    }
}
