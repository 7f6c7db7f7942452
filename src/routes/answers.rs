//! The answers an operation of the OpenAPI document can name: the problem
//! body (RFC 9457) and one reusable response a problem status, so every
//! handler's annotation says `(status = 404, response = NotFound)`. Below
//! the handlers, which name these, and the document, which gathers them.

use serde::Serialize;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::ToSchema;

use crate::error::PROBLEM_JSON;

/// What every error answer holds (RFC 9457).
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// `/problems/<slug>`, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// For 422: each invalid field, with what is allowed (never the value sent).
    errors: Option<Vec<FieldErrorDoc>>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorDoc {
    field: String,
    message: String,
}

/// Declares the reusable problem answers: `(status = 404, response = NotFound)`.
macro_rules! problems {
    ($($name:ident => $description:literal),+ $(,)?) => {
        $(
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), problem($description).into())
                }
            }
        )+
    };
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

// The problem answers operations name: `(status = 404, response = NotFound)`.
pub use crate::models::page::Page;
pub use crate::routes::extract::Paging;

problems!(
    BadRequest => "Malformed: not JSON, a wrong type, an unknown field or parameter.",
    Unauthorized => "Missing, invalid or expired credentials.",
    Forbidden => "Signed in, but this role may not do this.",
    NotFound => "No such thing, or not yours to see.",
    Conflict => "The request conflicts with the current state (see detail).",
    Gone => "The personal data of this case was shredded.",
    PreconditionFailed => "If-Match names a version that is not the current one.",
    PayloadTooLarge => "The body is over 64 KiB.",
    UnsupportedMediaType => "A body that is not JSON.",
    Invalid => "Well-formed, but some values are not acceptable; `errors` names each field.",
    TooManyRequests => "Too many requests; Retry-After says when to try again.",
    Internal => "Something went wrong on our side; the body says nothing more.",
    Unavailable => "Not ready: the database does not answer or is not migrated (or, from `/readyz`, writes fail for lack of disk space: `storage: full`).",
    InsufficientStorage => "Out of disk space: nothing was changed, reads still work; Retry-After says when to try again.",
);
