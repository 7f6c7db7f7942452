//! A case's personal data: coordinators and admins read and write it (every
//! read and write audited), admins shred it.

use super::answers::*;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::extract::{with_etag, IfMatch, TimedBody};
use super::text::clean;
use crate::auth::{Admin, Coordinator};
use crate::domain::personal::{plausible_birth, BirthDate, Handle};
use crate::domain::{AuditAction, CaseRef, Now, Personal};
use crate::error::AppError;
use crate::models::case::Case;
use crate::operations::personal::{self, Duplicate};
use crate::state::AppState;

const MAX_CONTACTS: usize = 20;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(context = Now)]
pub struct PersonalBody {
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    legal_name: Option<String>,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    alias: Option<String>,
    #[validate(custom(function = "plausible_birth", use_context))]
    date_of_birth: Option<BirthDate>,
    #[serde(default)]
    #[validate(length(max = 20), custom(function = "handles"))]
    #[schema(max_items = 20)]
    contacts: Vec<Handle>,
    #[validate(length(max = 10_000))]
    #[schema(max_length = 10_000)]
    notes: Option<String>,
}

/// For validator: each way to reach the person says something, briefly.
fn handles(handles: &[Handle]) -> Result<(), ValidationError> {
    let fits = |h: &Handle| !h.value.trim().is_empty() && h.value.chars().count() <= 200;
    if handles.iter().all(fits) {
        Ok(())
    } else {
        Err(ValidationError::new("handles").with_message(
            format!("each value must be 1 to 200 characters (at most {MAX_CONTACTS} contacts)")
                .into(),
        ))
    }
}

impl PersonalBody {
    fn into_personal(self) -> Personal {
        Personal {
            legal_name: clean(self.legal_name),
            alias: clean(self.alias),
            date_of_birth: self.date_of_birth,
            contacts: self
                .contacts
                .into_iter()
                .map(|h| Handle {
                    value: h.value.trim().to_string(),
                    ..h
                })
                .collect(),
            notes: clean(self.notes),
        }
    }
}

/// What a PUT answers: what is stored now, and other cases that may be the
/// same person.
#[derive(Serialize, ToSchema)]
pub struct WrittenView {
    #[serde(flatten)]
    personal: Personal,
    possible_duplicates: Vec<Duplicate>,
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/personal",
    operation_id = "personal_read",
    tag = "personal",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code")),
    responses(
        (status = 200, description = "The personal data of the case (this read is audited)", body = Personal, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 410, response = Gone),
    ),
)]
pub async fn read(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<CaseRef>,
) -> Result<HttpResponse, AppError> {
    let stored = state
        .read_audited(user.actor(), move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            personal::read(conn, &id, change)
        })
        .await?;
    Ok(with_etag(stored.version, &stored.personal))
}

#[utoipa::path(
    put,
    path = "/api/v1/cases/{id}/personal",
    operation_id = "personal_write",
    tag = "personal",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = PersonalBody,
    responses(
        (status = 200, description = "What is stored now, and cases that may be the same person", body = WrittenView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn write(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    IfMatch(expected): IfMatch,
    id: web::Path<CaseRef>,
    TimedBody(body): TimedBody<PersonalBody>,
) -> Result<HttpResponse, AppError> {
    let personal = body.into_personal();
    if personal.is_empty() {
        let message = "give at least one of legal_name, alias, date_of_birth, contacts, notes";
        return Err(AppError::invalid("body", message));
    }
    let (stored, possible_duplicates) = state
        .change(user.actor(), expected, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            personal::write(conn, &id, personal, change)
        })
        .await?;
    let view = WrittenView {
        personal: stored.personal,
        possible_duplicates,
    };
    Ok(with_etag(stored.version, &view))
}

/// Destroys the case's personal data for good: its key, its sealed fields
/// and notes. The case, its stages and its timeline stay.
#[utoipa::path(
    delete,
    path = "/api/v1/cases/{id}/personal",
    operation_id = "personal_shred",
    tag = "personal",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code")),
    responses(
        (status = 204, description = "Shredded for good"),
        (status = 403, response = Forbidden),
        (status = 410, response = Gone),
    ),
)]
pub async fn shred(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    id: web::Path<CaseRef>,
) -> Result<HttpResponse, AppError> {
    let action = AuditAction::PersonalShredded;
    let case = state
        .change(admin.actor(), None, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            personal::shred(conn, &id, action, change).map(|()| id)
        })
        .await?;
    let keys = state.context.keys.clone();
    crate::db::run(&state.pool, move |conn| {
        personal::after_shred(conn, &keys, &[case]);
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
