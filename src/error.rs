//! One error type for the whole API, rendered as `application/problem+json`
//! (RFC 9457). Handlers return `Result<_, AppError>` and build errors with the
//! short constructors below. A diesel `NotFound` becomes 404; anything
//! unexpected becomes a 500 whose body says nothing internal, while the cause
//! is logged (without request data) by the request log.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::BODY_LIMIT;
use crate::domain::error::is_storage_full;
use crate::domain::DomainError;

pub const PROBLEM_JSON: &str = "application/problem+json";

const STORAGE_FULL: &str = "storage-full";

/// What a 507 asks a client to wait: an operator has to free space first.
pub const STORAGE_RETRY_SECONDS: u64 = 60;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Boxed, so `Result<T, AppError>` stays small.
#[derive(Debug)]
pub struct AppError(Box<ErrorInner>);

#[derive(Debug)]
pub struct ErrorInner {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    extra: Map<String, Value>,
    retry_after: Option<u64>,
    /// The cause of a 5xx, for the log only.
    internal: Option<String>,
}

impl std::ops::Deref for AppError {
    type Target = ErrorInner;
    fn deref(&self) -> &ErrorInner {
        &self.0
    }
}

impl std::ops::DerefMut for AppError {
    fn deref_mut(&mut self) -> &mut ErrorInner {
        &mut self.0
    }
}

impl AppError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(ErrorInner {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            extra: Map::new(),
            retry_after: None,
            internal: None,
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            detail,
        )
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid values",
            "Some fields have invalid values; see errors.",
        );
        e.errors = errors;
        e
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Not authenticated",
            "Missing, invalid or expired credentials.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            "Your role does not allow this action.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "No such resource.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "This resource does not support that method.",
        )
    }

    pub fn conflict(slug: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, slug, title, detail)
    }

    /// 409 for a request that may succeed when retried after `secs`.
    pub fn conflict_retry(detail: impl Into<String>, secs: u64) -> Self {
        let mut e = Self::conflict("in-progress", "Still in progress", detail);
        e.retry_after = Some(secs);
        e
    }

    pub fn gone(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "gone", "Gone", detail)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "Precondition failed",
            "If-Match does not match the current version; fetch it again.",
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Body too large",
            format!("Request bodies are limited to {limit} bytes."),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "Send JSON with Content-Type: application/json.",
        )
    }

    pub fn too_many_requests(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
            detail,
        );
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    pub fn unavailable() -> Self {
        Self::unavailable_for("The service cannot answer right now; try again shortly.")
    }

    /// A 503 that says why.
    pub fn unavailable_for(detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        e.retry_after = Some(5);
        e
    }

    /// A 507: a write failed because the disk (or the database's size
    /// cap) is full. Nothing was changed; reads still answer.
    pub fn storage_full() -> Self {
        let mut e = Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            STORAGE_FULL,
            "Out of disk space",
            "The server is out of disk space, so nothing was changed. Reads still work; \
             try the change again once an operator has freed space.",
        );
        e.retry_after = Some(STORAGE_RETRY_SECONDS);
        e
    }

    /// 409 for a move a state machine does not allow, naming the moves it
    /// does.
    fn illegal_move<'a>(
        slug: &'static str,
        title: &'static str,
        what: &str,
        from: &str,
        to: &str,
        allowed: impl Iterator<Item = &'a str>,
    ) -> Self {
        let allowed: Vec<&str> = allowed.collect();
        let detail = match allowed.is_empty() {
            true => format!("{what} {from} cannot become {to}: it is over."),
            false => format!(
                "{what} {from} cannot become {to}; it may become {}.",
                allowed.join(", ")
            ),
        };
        Self::conflict(slug, title, detail)
            .with("from", from)
            .with("to", to)
            .with("allowed", allowed)
    }

    /// Whether this is the 507 of a full disk.
    pub fn is_storage_full(&self) -> bool {
        self.slug == STORAGE_FULL
    }

    /// A 500. `cause` goes to the log, never to the client; it must not hold
    /// request data.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "Something went wrong on our side.",
        );
        e.internal = Some(cause.into());
        e
    }

    /// A generic problem for a status that has no constructor of its own.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            404 => Self::not_found(),
            405 => Self::method_not_allowed(),
            413 => Self::payload_too_large(BODY_LIMIT),
            415 => Self::unsupported_media_type(),
            s if s >= 500 => {
                let mut e = Self::internal(format!("status {s}"));
                e.status = status;
                e
            }
            _ => {
                let mut e = Self::bad_request("The request could not be processed.");
                e.status = status;
                e
            }
        }
    }

    /// Adds a member to the problem document (such as `allowed`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn slug(&self) -> &'static str {
        self.slug
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }
}

/// So a streamed body can end in one.
impl std::error::Error for AppError {}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.internal {
            Some(cause) => write!(f, "{}: {cause}", self.status),
            None => write!(f, "{} {}", self.status, self.slug),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // A 5xx names its request, so a user's report finds it in the log.
        let mut extra = std::borrow::Cow::Borrowed(&self.extra);
        if self.status.is_server_error() {
            if let Some(id) = crate::panics::current_request() {
                extra.to_mut().insert("request_id".into(), id.into());
            }
        }
        let problem = Problem {
            kind: format!("/problems/{}", self.slug),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
            extra: &extra,
        };
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::not_found(),
            other if is_storage_full(&other) => Self::storage_full(),
            other if is_outage(&other) => {
                log::error!("database unavailable: {other}");
                Self::unavailable()
            }
            other => Self::internal(format!("database: {other}")),
        }
    }
}

/// Whether `e` says the database is down, restarting or unreachable (or,
/// on SQLite, locked by another process), rather than that the query failed:
/// worth a retry, so 503.
fn is_outage(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    let Error::DatabaseError(kind, info) = e else {
        return matches!(e, Error::BrokenTransactionManager);
    };
    if matches!(kind, Kind::ClosedConnection | Kind::UnableToSendCommand) {
        return true;
    }
    let message = info.message().to_ascii_lowercase();
    [
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "the database system is",
        "could not connect",
        "connection refused",
        "database is locked",
    ]
    .iter()
    .any(|sign| message.contains(sign))
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => Self::not_found(),
            DomainError::Invalid { field, message } => Self::invalid(field, message),
            DomainError::IllegalDocumentMove { from, to } => {
                let allowed = from.allowed_targets().iter().map(|s| s.as_str());
                let (slug, title) = ("illegal-document-move", "Illegal document move");
                Self::illegal_move(
                    slug,
                    title,
                    "A document",
                    from.as_str(),
                    to.as_str(),
                    allowed,
                )
            }
            DomainError::IllegalLegMove { from, to } => {
                let allowed = from.allowed_targets().iter().map(|s| s.as_str());
                let (slug, title) = ("illegal-leg-move", "Illegal leg move");
                Self::illegal_move(slug, title, "A leg", from.as_str(), to.as_str(), allowed)
            }
            DomainError::IllegalTransition { from, to } => {
                let allowed: Vec<&str> =
                    from.allowed_targets().iter().map(|s| s.as_str()).collect();
                let detail = if allowed.is_empty() {
                    format!("A case in {from} cannot move to {to}: it cannot move at all.")
                } else {
                    format!(
                        "A case in {from} cannot move to {to}; it may move to {}.",
                        allowed.join(", ")
                    )
                };
                Self::conflict("illegal-transition", "Illegal transition", detail)
                    .with("from", from.as_str())
                    .with("to", to.as_str())
                    .with("allowed", allowed)
            }
            DomainError::ShelterFull {
                capacity,
                occupancy,
                requested,
            } => Self::conflict(
                "shelter-full",
                "Shelter full",
                format!(
                    "The shelter has {occupancy} of {capacity} places taken and this needs \
                     {requested}; send \"override_capacity\": true to place anyway."
                ),
            )
            .with("capacity", capacity)
            .with("occupancy", occupancy)
            .with("requested", requested),
            DomainError::CaseClosed => Self::conflict(
                "case-closed",
                "Case closed",
                "The case is closed; it takes no more contacts or snoozes.",
            ),
            DomainError::AlertResolved => Self::conflict(
                "alert-resolved",
                "Alert resolved",
                "The alert is resolved already.",
            ),
            DomainError::StaleVersion => Self::precondition_failed(),
            DomainError::Shredded => Self::new(
                StatusCode::GONE,
                "shredded",
                "Shredded",
                "The personal data of this case was destroyed for good.",
            ),
            DomainError::DuplicateEmail => Self::conflict(
                "duplicate-email",
                "Email taken",
                "A user with this email exists already.",
            ),
            DomainError::LastAdmin => Self::conflict(
                "last-admin",
                "Last admin",
                "This is the last active admin; make another admin first.",
            ),
            DomainError::Internal(cause) => Self::internal(cause),
            DomainError::Database(e) => e.into(),
            DomainError::StorageFull => Self::storage_full(),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        log::error!("database pool: {e}");
        Self::unavailable()
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(e: validator::ValidationErrors) -> Self {
        let mut errors: Vec<FieldError> = e
            .field_errors()
            .into_iter()
            .flat_map(|(field, list)| {
                list.iter().map(move |err| {
                    let message = err
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| describe(err));
                    // A check across fields names the field it is about by its code.
                    let field = if field == "__all__" {
                        &err.code
                    } else {
                        &field
                    };
                    FieldError::new(field.to_string(), message)
                })
            })
            .collect();
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Self::validation(errors)
    }
}

/// A readable message for validator's built-in checks.
fn describe(err: &validator::ValidationError) -> String {
    let param = |name: &str| err.params.get(name).map(|v| v.to_string());
    match err.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        "email" => "must be an email address".into(),
        code => format!("is invalid ({code})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};

    /// An error as PostgreSQL's driver reports one: message and hint.
    struct Reported(&'static str, Option<&'static str>);

    impl DatabaseErrorInformation for Reported {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            self.1
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn database(message: &'static str, hint: Option<&'static str>) -> AppError {
        Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(Reported(message, hint)),
        )
        .into()
    }

    #[test]
    fn a_full_disk_is_507_with_retry_after_and_nothing_internal() {
        for full in [
            // SQLite's SQLITE_FULL, on a full disk or past max_page_count.
            database("database or disk is full", None),
            // PostgreSQL's disk_full (SQLSTATE 53100) on a table's file,
            // and on its write-ahead log.
            database(
                "could not extend file \"base/16384/16385\": No space left on device",
                Some("Check free disk space."),
            ),
            database(
                "could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
                None,
            ),
        ] {
            assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
            assert!(full.is_storage_full());
            let res = full.error_response();
            assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "60");
            let body = actix_web::body::to_bytes(res.into_body());
            let body = futures_util::FutureExt::now_or_never(body)
                .unwrap()
                .unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(body.contains("/problems/storage-full"), "{body}");
            assert!(body.contains("out of disk space"), "{body}");
            for internal in ["base/", "pg_wal", "No space left", "16384"] {
                assert!(!body.contains(internal), "{internal} in {body}");
            }
        }
        // A constraint or an outage is not a full disk.
        assert!(!database("UNIQUE constraint failed: users.email", None).is_storage_full());
        assert_eq!(
            database("the database system is starting up", None).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let domain = DomainError::from(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database or disk is full".to_string()),
        ));
        assert!(domain.is_storage_full());
        assert!(AppError::from(domain).is_storage_full());
    }
}
