//! How the domain's types appear in the OpenAPI document: each is text of a
//! known shape, so each documents itself here, next to its parser.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;

/// A string with a description and an example, and a format when known.
pub fn text(description: &str, example: &str, format: Option<KnownFormat>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(format.map(SchemaFormat::KnownFormat))
        .description(Some(description))
        .examples([example])
        .into()
}

/// A string with a pattern it always matches.
pub fn patterned(description: &str, example: &str, pattern: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .examples([example])
        .into()
}

/// One of a closed set of names.
pub fn names(names: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
        .into()
}

/// Implements `ToSchema` for a type with a hand-written schema.
macro_rules! documented {
    ($name:ty, $schema:expr) => {
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $schema
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use documented;
