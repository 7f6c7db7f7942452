//! Pure rules, no I/O: stages and their moves, stall deadlines, case codes,
//! the closed vocabularies, the typed ids, and the ways an operation refuses.
//!
//! Each type here is parsed once, at the edge, by serde, and maps to its TEXT
//! column through diesel; a stored value that does not parse is an error,
//! never a default.

pub mod code;
pub mod country;
pub mod docs;
pub mod document;
pub mod error;
pub mod ids;
pub mod journey;
pub mod personal;
pub mod stage;
pub mod stall;
pub mod vocab;

pub use code::{CaseCode, CaseRef, CodePrefix};
pub use error::DomainError;
pub use ids::{AlertId, ApiKeyId, CaseId, ConsentId, DocumentId, ExpenseId, LegId, SessionId};
pub use ids::{ShelterId, UserId};
pub use personal::Personal;
pub use stage::{Outcome, Stage};
pub use vocab::{
    ActorKind, AlertKind, AlertState, Assignee, AuditAction, CaseSort, Channel, CheckinKind,
    Clearance, ConsentMethod, ConsentScope, Day, EventKind, Need, Needs, Now, RiskLevel, Role,
    Timestamp,
};

/// Serde errors raised by the parsers of this module carry this mark, so
/// the edge can tell a well-formed but invalid value (422, naming the field)
/// from malformed input (400). The mark never reaches a client.
const INVALID_MARK: char = '\u{1}';

/// A serde error saying the value is well-formed but not acceptable.
/// `example` is a value the same type accepts: the edge puts it in place
/// of the refused one to go on and find every other invalid field.
/// `message` must not contain the submitted value: it may be personal.
pub fn invalid<E: serde::de::Error>(example: &str, message: impl std::fmt::Display) -> E {
    E::custom(format_args!(
        "{INVALID_MARK}{example}{INVALID_MARK}{message}{INVALID_MARK}"
    ))
}

/// What an error made by [`invalid`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid<'a> {
    pub example: &'a str,
    pub message: &'a str,
}

/// The parts of an error made by [`invalid`], if `error` is one.
pub fn invalid_parts(error: &str) -> Option<Invalid<'_>> {
    let mut parts = error.split(INVALID_MARK).skip(1);
    Some(Invalid {
        example: parts.next()?,
        message: parts.next()?,
    })
}

/// Maps a type with `as_str` and `from_stored` to a TEXT column on every
/// backend.
macro_rules! text_column {
    ($name:ty) => {
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                <$name>::from_stored(&text).map_err(Into::into)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }
    };
}
pub(crate) use text_column;

/// A closed set of names stored as text: `as_str`, `parse`, the list of all
/// of them, serde both ways and a TEXT column, so the API, the database and
/// error messages use one spelling.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }

            fn from_stored(text: &str) -> Result<Self, String> {
                Self::parse(text)
                    .ok_or_else(|| format!("a stored {} is not one of {}", stringify!($name), Self::names()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Names;
                impl serde::de::Visitor<'_> for Names {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "one of {}", $name::names())
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        $name::parse(text).ok_or_else(|| {
                            $crate::domain::invalid(
                                $name::ALL[0].as_str(),
                                format_args!("must be one of {}", $name::names()),
                            )
                        })
                    }
                }
                d.deserialize_str(Names)
            }
        }

        $crate::domain::text_column!($name);
        $crate::domain::docs::documented!($name, $crate::domain::docs::names(&[$($text),+]));
    };
}
pub(crate) use string_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_value_is_recognised_by_its_mark_alone() {
        let e: serde_json::Error = invalid("a", "must be one of a, b");
        let text = e.to_string();
        let parts = invalid_parts(&text).unwrap();
        assert_eq!((parts.example, parts.message), ("a", "must be one of a, b"));
        let other = serde_json::from_str::<i32>("\"x\"").unwrap_err();
        assert_eq!(invalid_parts(&other.to_string()), None);
    }

    #[test]
    fn an_unknown_name_is_invalid_never_echoed_and_has_a_valid_example() {
        let e = serde_json::from_str::<Stage>("\"Akhmed Kanarov\"").unwrap_err();
        let text = e.to_string();
        let parts = invalid_parts(&text).unwrap();
        assert!(
            parts.message.starts_with("must be one of intake,"),
            "{}",
            parts.message
        );
        assert!(!e.to_string().contains("Akhmed"));
        let example = serde_json::Value::String(parts.example.into());
        assert_eq!(
            serde_json::from_value::<Stage>(example).unwrap(),
            Stage::Intake
        );
        let wrong_type = serde_json::from_str::<Stage>("5").unwrap_err();
        assert_eq!(invalid_parts(&wrong_type.to_string()), None);
    }
}
