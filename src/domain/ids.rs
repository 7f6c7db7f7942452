//! Ids that cross module boundaries, each its own type, so that no function
//! takes four `&str` in a row. Ids are time-ordered UUIDs (v7) in their
//! canonical text form: they sort by creation and serve as list cursors.

/// An id any id type accepts, put in place of a refused one (see `invalid`).
const EXAMPLE: &str = "00000000-0000-7000-8000-000000000000";

/// Declares an id type: `new` (a fresh UUIDv7), `parse` (any UUID, made
/// canonical), serde both ways and a TEXT column.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            pub fn parse(text: &str) -> Option<Self> {
                let id = uuid::Uuid::try_parse(text).ok()?;
                // Written once into a buffer of its size: `to_string` goes
                // through the formatter and grows its string three times,
                // for every id of every row read.
                let mut canonical = [0u8; uuid::fmt::Hyphenated::LENGTH];
                Some(Self(id.hyphenated().encode_lower(&mut canonical).to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            fn from_stored(text: &str) -> Result<Self, String> {
                Self::parse(text).ok_or_else(|| format!("a stored {} is not a UUID", stringify!($name)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Id;
                impl serde::de::Visitor<'_> for Id {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an id")
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        $name::parse(text).ok_or_else(|| super::invalid(EXAMPLE, "must be an id"))
                    }
                }
                d.deserialize_str(Id)
            }
        }

        super::text_column!($name);
        super::docs::documented!(
            $name,
            super::docs::text(
                concat!("A ", stringify!($name), ": a UUID."),
                "01936d3a-5e4f-7a2b-8c1d-2e3f4a5b6c7d",
                Some(utoipa::openapi::schema::KnownFormat::Uuid),
            )
        );
    };
}

id_type!(
    /// An evacuation case.
    CaseId
);
id_type!(
    /// A staff account.
    UserId
);
id_type!(
    /// A shelter (safe house).
    ShelterId
);
id_type!(
    /// An alert on a case.
    AlertId
);
id_type!(
    /// A partner shelter's API key (its row, not the secret).
    ApiKeyId
);
id_type!(
    /// A signed-in session, behind its access and refresh tokens.
    SessionId
);
id_type!(
    /// A document of a case (a passport, a visa).
    DocumentId
);
id_type!(
    /// A leg of a case's journey.
    LegId
);
id_type!(
    /// Money spent on a case.
    ExpenseId
);
id_type!(
    /// A consent given or withdrawn.
    ConsentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_uuids() {
        let id = CaseId::parse("01936D3A-0000-7000-8000-00000000000A").unwrap();
        assert_eq!(id.as_str(), "01936d3a-0000-7000-8000-00000000000a");
        assert!(CaseId::parse("nope").is_none());
        assert!(CaseId::new() < CaseId::new(), "new ids sort by creation");
    }

    #[test]
    fn a_malformed_id_is_an_invalid_value() {
        let e = serde_json::from_str::<ShelterId>("\"someone\"").unwrap_err();
        let text = e.to_string();
        let parts = super::super::invalid_parts(&text).unwrap();
        assert_eq!(parts.message, "must be an id");
        assert!(ShelterId::parse(parts.example).is_some());
    }
}
