//! The ways an operation refuses, in the words of the domain. Only
//! `crate::error` turns them into HTTP problems.

use super::stage::TransitionError;
use super::Stage;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// No such object, or one outside the caller's scope: the same answer.
    #[error("not found")]
    NotFound,
    /// A value that is well-formed but not acceptable here.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The move is not in the table of PRODUCT.md.
    #[error("illegal transition from {from} to {to}")]
    IllegalTransition { from: Stage, to: Stage },
    /// A document cannot move between these states.
    #[error("illegal document move from {from} to {to}")]
    IllegalDocumentMove {
        from: super::document::DocumentStatus,
        to: super::document::DocumentStatus,
    },
    /// A leg cannot move between these states.
    #[error("illegal leg move from {from} to {to}")]
    IllegalLegMove {
        from: super::journey::LegStatus,
        to: super::journey::LegStatus,
    },
    /// The shelter has no room for the household (and no override was asked).
    #[error("shelter full")]
    ShelterFull {
        capacity: i32,
        occupancy: i64,
        requested: i32,
    },
    /// A closed case takes no more contacts or snoozes.
    #[error("case closed")]
    CaseClosed,
    /// The case's personal data was destroyed for good.
    #[error("shredded")]
    Shredded,
    /// A resolved alert needs no acknowledgement.
    #[error("alert resolved")]
    AlertResolved,
    /// The version the client last saw (`If-Match`) is not the current one.
    #[error("stale version")]
    StaleVersion,
    #[error("duplicate email")]
    DuplicateEmail,
    /// The last active admin cannot be demoted or deactivated.
    #[error("last admin")]
    LastAdmin,
    /// Something that should not happen; the text goes to the log only.
    #[error("{0}")]
    Internal(String),
    #[error("database: {0}")]
    Database(diesel::result::Error),
    /// A write failed for lack of disk space (where the database error
    /// itself could not travel).
    #[error("out of disk space")]
    StorageFull,
}

/// Whether `e` says a write failed for lack of space: SQLite's
/// SQLITE_FULL ("database or disk is full"), PostgreSQL's `disk_full`
/// (SQLSTATE 53100: "could not extend file …: No space left on device",
/// hint "Check free disk space."). diesel keeps no SQLSTATE, so the words
/// tell; PostgreSQL's server messages are English unless `lc_messages`
/// says otherwise.
pub fn is_storage_full(e: &diesel::result::Error) -> bool {
    let diesel::result::Error::DatabaseError(_, info) = e else {
        return false;
    };
    let message = info.message().to_ascii_lowercase();
    let hint = info.hint().unwrap_or_default().to_ascii_lowercase();
    [
        "database or disk is full",
        "no space left on device",
        "could not extend file",
    ]
    .iter()
    .any(|sign| message.contains(sign))
        || hint.contains("check free disk space")
}

impl DomainError {
    /// Whether a write failed for lack of disk space.
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::Database(e) => is_storage_full(e),
            Self::StorageFull => true,
            _ => false,
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<diesel::result::Error> for DomainError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound,
            other => Self::Database(other),
        }
    }
}

impl From<TransitionError> for DomainError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Illegal { from, to } => Self::IllegalTransition { from, to },
            TransitionError::Field { field, message } => Self::Invalid { field, message },
        }
    }
}
