//! A case's documents: add one, list them, read one, change one (If-Match).
//! Coordinators and admins write; all staff read. The number is personal:
//! never in a list; a single document shows it to coordinators and admins
//! (one `personal.read` in the audit log), to observers only that it exists.

use super::answers::*;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::ReadOnlyFields;
use super::extract::{created_with_etag, with_etag, Body, IfMatch, Listing, NoFilters, Patch};
use super::records;
use super::text::{double_option, not_blank, one_line, sealed_input};
use crate::auth::{Coordinator, Staff};
use crate::domain::document::{DocumentKind, DocumentStatus, Holder};
use crate::domain::{country, CaseId, CaseRef, Day, DocumentId, Timestamp};
use crate::error::AppError;
use crate::models::case::Case;
use crate::models::document::Document;
use crate::operations::documents::{self, DocumentDraft, DocumentPatch};
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDocument {
    kind: DocumentKind,
    /// Issuing country (a passport) or destination (a visa).
    #[validate(custom(function = "country::validate"))]
    #[schema(pattern = "^[A-Z]{2}$", example = "CA")]
    country: String,
    /// `needed` when absent.
    status: Option<DocumentStatus>,
    applied_on: Option<Day>,
    appointment_at: Option<Timestamp>,
    expected_by: Option<Day>,
    valid_until: Option<Day>,
    held_by: Option<Holder>,
    /// Personal: sealed under the case's key, never in a list.
    #[validate(
        length(min = 1, max = 64),
        custom(function = "one_line"),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 64)]
    number: Option<String>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDocument {
    #[validate(custom(function = "country::validate"))]
    #[schema(pattern = "^[A-Z]{2}$", example = "CA")]
    country: Option<String>,
    /// A move the document's state allows (409 with the allowed ones
    /// otherwise).
    status: Option<DocumentStatus>,
    #[serde(default, deserialize_with = "double_option")]
    applied_on: Option<Option<Day>>,
    #[serde(default, deserialize_with = "double_option")]
    appointment_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "double_option")]
    expected_by: Option<Option<Day>>,
    #[serde(default, deserialize_with = "double_option")]
    valid_until: Option<Option<Day>>,
    #[serde(default, deserialize_with = "double_option")]
    held_by: Option<Option<Holder>>,
    /// Personal: sealed under the case's key; null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[validate(
        length(min = 1, max = 64),
        custom(function = "one_line"),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 64)]
    number: Option<Option<String>>,
}

impl ReadOnlyFields for UpdateDocument {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "case_id",
        "kind",
        "has_number",
        "version",
        "created_at",
        "updated_at",
    ];
}

/// A document as lists show it: never its number.
#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    id: DocumentId,
    case_id: CaseId,
    kind: DocumentKind,
    country: String,
    status: DocumentStatus,
    applied_on: Option<chrono::NaiveDate>,
    appointment_at: Option<DateTime<Utc>>,
    expected_by: Option<chrono::NaiveDate>,
    valid_until: Option<chrono::NaiveDate>,
    held_by: Option<Holder>,
    /// Whether a number is stored (read it from the single document).
    has_number: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl DocumentView {
    fn new(d: Document) -> Self {
        Self {
            has_number: d.number_sealed.is_some(),
            id: d.id,
            case_id: d.case_id,
            kind: d.kind,
            country: d.country,
            status: d.status,
            applied_on: d.applied_on,
            appointment_at: d.appointment_at.map(|at| at.and_utc()),
            expected_by: d.expected_by,
            valid_until: d.valid_until,
            held_by: d.held_by,
            version: d.version,
            created_at: d.created_at.and_utc(),
            updated_at: d.updated_at.and_utc(),
        }
    }
}

/// One document: with its number for coordinators and admins.
#[derive(Serialize, ToSchema)]
pub struct DocumentDetail {
    #[serde(flatten)]
    document: DocumentView,
    /// The number (coordinators and admins; absent for observers, null when
    /// none is stored or the case was shredded).
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<Option<String>>,
}

const CASE: &str = "The case: its id, or its code";

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/documents",
    operation_id = "documents_create",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE)),
    request_body = CreateDocument,
    responses(
        (status = 201, description = "The document", body = DocumentView, headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "Where it lives"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<CaseRef>,
    Body(body): Body<CreateDocument>,
) -> Result<HttpResponse, AppError> {
    let draft = DocumentDraft {
        kind: body.kind,
        country: body.country,
        status: body.status.unwrap_or(DocumentStatus::Needed),
        applied_on: body.applied_on.map(|d| d.0),
        appointment_at: body.appointment_at.map(|t| t.0.naive_utc()),
        expected_by: body.expected_by.map(|d| d.0),
        valid_until: body.valid_until.map(|d| d.0),
        held_by: body.held_by,
        number: sealed_input(body.number),
    };
    let document = state
        .change(user.actor(), None, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            documents::add(conn, &id, draft, change)
        })
        .await?;
    let path = format!("/cases/{}/documents/{}", document.case_id, document.id);
    let version = document.version;
    Ok(created_with_etag(
        path,
        version,
        &DocumentView::new(document),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/documents",
    operation_id = "documents_list",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), Paging),
    responses(
        (status = 200, description = "A page of the case's documents, oldest first, without numbers", body = Page<DocumentView>),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    id: web::Path<CaseRef>,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let (load, key) = (Document::list_for_case, |d: &Document| d.id.to_string());
    records::page(&state, id.into_inner(), page, load, key, DocumentView::new).await
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/documents/{doc_id}",
    operation_id = "documents_get",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), ("doc_id" = DocumentId, Path, description = "The document")),
    responses(
        (status = 200, description = "The document; its number for coordinators and admins (audited)", body = DocumentDetail, headers(("ETag" = String, description = "The version, for If-Match"))),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    Staff(user): Staff,
    path: web::Path<(CaseRef, DocumentId)>,
) -> Result<HttpResponse, AppError> {
    let (case, doc) = path.into_inner();
    let find: records::Find<Document> = Box::new(move |conn| {
        let id = Case::find_ref(conn, &case)?.id;
        let document = Document::find(conn, &id, &doc)?;
        Ok((id, document))
    });
    let target = |d: &Document| format!("document {}", d.id);
    let (document, number) = records::read(&state, &user, find, documents::number, target).await?;
    let version = document.version;
    let detail = DocumentDetail {
        document: DocumentView::new(document),
        number,
    };
    Ok(with_etag(version, &detail))
}

#[utoipa::path(
    patch,
    path = "/api/v1/cases/{id}/documents/{doc_id}",
    operation_id = "documents_update",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), ("doc_id" = DocumentId, Path, description = "The document"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = UpdateDocument,
    responses(
        (status = 200, description = "The document", body = DocumentView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn update(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    IfMatch(expected): IfMatch,
    path: web::Path<(CaseRef, DocumentId)>,
    Patch(body): Patch<UpdateDocument>,
) -> Result<HttpResponse, AppError> {
    let (case, doc) = path.into_inner();
    let patch = DocumentPatch {
        country: body.country,
        status: body.status,
        applied_on: body.applied_on.map(|d| d.map(|d| d.0)),
        appointment_at: body.appointment_at.map(|t| t.map(|t| t.0.naive_utc())),
        expected_by: body.expected_by.map(|d| d.map(|d| d.0)),
        valid_until: body.valid_until.map(|d| d.map(|d| d.0)),
        held_by: body.held_by,
        number: body.number.map(sealed_input),
    };
    let document = state
        .change(user.actor(), expected, move |conn, change| {
            let id = Case::resolve(conn, &case)?;
            documents::update(conn, &id, &doc, patch, change)
        })
        .await?;
    let version = document.version;
    Ok(with_etag(version, &DocumentView::new(document)))
}
