//! The OpenAPI 3.1 document, generated from the handlers' own annotations
//! and the types they take and give; a test holds it to the route table.
//! Every answer that is not a success is `application/problem+json`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr, Required, ServerBuilder};
use utoipa::{Modify, OpenApi};

use super::answers::{self, FieldErrorDoc, ProblemDoc};
use super::{admin, alerts, api_keys, audit, auth, cases, documents, health, partner, personal};
use super::{consents, expenses, legs, shelters};
use super::{stats, users};
use crate::domain::{AlertId, AlertKind, AlertState, ApiKeyId, Assignee, CaseCode, CaseId};
use crate::domain::{CaseRef, CaseSort, CodePrefix, DocumentId, RiskLevel, ShelterId, Stage};
use crate::domain::{ExpenseId, LegId, UserId};
use crate::error::AppError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Corridor",
        description = "A case tracker for evacuations of people at risk. Staff sign in for a \
                       bearer token (POST /api/v1/auth/login); partner shelters use an API key \
                       (`Authorization: Bearer crd_…` or `X-API-Key`). Lists are pages: \
                       `limit` (1–500, default 50) and `cursor` (the `next_cursor` of the \
                       previous page). Errors are application/problem+json.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        health::healthz, health::readyz, health::version, openapi_json, page, asset,
        super::metrics::metrics,
        auth::login, auth::refresh, auth::logout, auth::me, auth::change_password,
        users::create, users::list, users::update,
        shelters::create, shelters::list, shelters::get, shelters::update,
        cases::create, cases::list, cases::get, cases::update, cases::transition,
        cases::events, cases::contact, cases::snooze, cases::export,
        personal::read, personal::write, personal::shred,
        documents::create, documents::list, documents::get, documents::update,
        legs::create, legs::list, legs::get, legs::update,
        expenses::create, expenses::list, expenses::get, expenses::export,
        consents::record, consents::list,
        api_keys::create, api_keys::list, api_keys::revoke,
        partner::shelter, partner::update_shelter, partner::cases, partner::checkin,
        alerts::list, alerts::acknowledge,
        admin::outbox, admin::lockdown,
        audit::list,
        stats::stats,
    ),
    components(
        schemas(
            ProblemDoc, FieldErrorDoc,
            // Types named by path and query parameters.
            CaseId, ShelterId, UserId, AlertId, ApiKeyId, CaseCode, CaseRef, CodePrefix,
            CaseSort, Assignee, DocumentId, LegId, ExpenseId, Stage, RiskLevel, AlertState, AlertKind,
            admin::Delivery,
        ),
        responses(
            answers::BadRequest, answers::Unauthorized, answers::Forbidden, answers::NotFound,
            answers::Conflict, answers::Gone, answers::PreconditionFailed,
            answers::PayloadTooLarge, answers::UnsupportedMediaType, answers::Invalid,
            answers::TooManyRequests, answers::Internal, answers::Unavailable,
            answers::InsufficientStorage,
        ),
    ),
    modifiers(&Security, &Common),
    tags(
        (name = "auth", description = "Signing in and out, tokens, passwords"),
        (name = "cases", description = "Cases, their moves and timelines"),
        (name = "personal", description = "Personal data of a case, sealed at rest"),
        (name = "logistics", description = "What stands between a person and the next stage: documents, journeys, expenses, consent"),
        (name = "shelters", description = "Shelters and their API keys"),
        (name = "partner", description = "What a partner shelter does with its API key"),
        (name = "alerts", description = "Stalls and alerts"),
        (name = "admin", description = "Users, outbox, audit, lockdown"),
        (name = "meta", description = "Health, this document, statistics"),
    )
)]
pub struct ApiDoc;

/// The security schemes: staff bearer tokens; partner keys in either header.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The access token of POST /api/v1/auth/login (15 minutes).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "partner_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("crd_…")
                    .description(Some("A shelter's API key as a bearer token."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "partner_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A shelter's API key.",
            ))),
        );
    }
}

/// The problem answers that follow from an operation's shape, added to
/// each so none is forgotten: a 500 anywhere, a 503 (with Retry-After)
/// wherever the database is read; 401 where credentials are
/// needed (and 429 for a shelter's key); 404 where the path names
/// something; 400 and 422 for query parameters; 400, 413, 415 and 422 for a
/// body (sign-in bodies say only 400); and every POST but sign-in takes an
/// `Idempotency-Key`. Handlers name only what is their own (403, 409, …).
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Delete, &mut item.delete),
            ];
            let sign_in = path.starts_with("/api/v1/auth/");
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                for (status, name) in shaped_by(operation, path) {
                    respond(operation, status, name);
                }
                if writes(&method, path) {
                    respond(operation, "507", "InsufficientStorage");
                }
                if method == HttpMethod::Post && !sign_in {
                    idempotent(operation);
                }
            }
        }
    }
}

/// Whether an operation writes to the database, so that a full disk
/// answers it 507: every change, and the reads of personal data (each
/// writes its audit entry first).
fn writes(method: &HttpMethod, path: &str) -> bool {
    let audited_read = [
        "/personal",
        "/events",
        "/documents/{doc_id}",
        "/legs/{leg_id}",
    ]
    .iter()
    .any(|end| path.ends_with(end));
    *method != HttpMethod::Get || audited_read
}

/// The problem answers `operation`'s shape implies.
fn shaped_by(operation: &Operation, path: &str) -> Vec<(&'static str, &'static str)> {
    let sign_in = path.starts_with("/api/v1/auth/");
    let mut answers = vec![("500", "Internal")];
    // Whatever reads the database answers 503 while it is down.
    let without_database = ["/healthz", "/docs", "/docs/{file}", "/api/v1/openapi.json"];
    if !without_database.contains(&path) {
        answers.push(("503", "Unavailable"));
    }
    let schemes: Vec<&str> = operation
        .security
        .iter()
        .flatten()
        .flat_map(|requirement| {
            serde_json::to_value(requirement)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
                .unwrap_or_default()
        })
        .map(|name| if name == "staff" { "staff" } else { "partner" })
        .collect();
    if !schemes.is_empty() {
        answers.push(("401", "Unauthorized"));
    }
    if schemes.contains(&"partner") {
        answers.push(("429", "TooManyRequests"));
    }
    let located = |place: ParameterIn| {
        operation.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == place,
            RefOr::Ref(_) => false,
        })
    };
    if located(ParameterIn::Path) {
        answers.push(("404", "NotFound"));
    }
    if located(ParameterIn::Query) {
        answers.extend([("400", "BadRequest"), ("422", "Invalid")]);
    }
    if operation.request_body.is_some() {
        answers.extend([
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ]);
        if !sign_in {
            answers.push(("422", "Invalid"));
        }
    }
    answers
}

fn respond(operation: &mut Operation, status: &str, name: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

fn idempotent(operation: &mut Operation) {
    let key = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the first answer is kept 24 hours for you and this key; the \
             same request again gets it back (with `Idempotent-Replayed: true`) and changes \
             nothing. 1–255 visible ASCII characters.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[\\x21-\\x7E]+$")),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(key));
    respond(operation, "409", "Conflict");
    respond(operation, "422", "Invalid");
}

/// The document, with this server as its server.
pub fn document(public_url: &str) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![ServerBuilder::new()
        .url(public_url.trim_end_matches('/'))
        .build()]);
    doc
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "docs_openapi_json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(document(&state.config.server.public_url))
}

/// What the docs page may load: its own files, this server's document,
/// and the data-URI icons of its stylesheet. Nothing else, from nowhere else.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// The files of the docs page: Swagger UI 5.35.0 (npm `swagger-ui-dist`),
/// vendored in `assets/docs` and embedded here.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui.css"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/init.js"),
    ),
    (
        "favicon-32x32.png",
        "image/png",
        include_bytes!("../../assets/docs/favicon-32x32.png"),
    ),
];

/// The interactive docs page (Swagger UI), whatever the Accept header.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "docs_page",
    tag = "meta",
    responses((status = 200, description = "The docs page", content_type = "text/html", body = String)),
)]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(&include_bytes!("../../assets/docs/index.html")[..])
}

/// A file of the docs page.
#[utoipa::path(
    get,
    path = "/docs/{file}",
    operation_id = "docs_asset",
    tag = "meta",
    params(("file" = String, Path, description = "swagger-ui-bundle.js, swagger-ui.css, init.js or favicon-32x32.png")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"), (String = "text/css"), (String = "image/png"),
        )),
    ),
)]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(AppError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn documented() -> BTreeSet<(String, String)> {
        let doc = ApiDoc::openapi();
        let mut found = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("get", &item.get),
                ("post", &item.post),
                ("put", &item.put),
                ("patch", &item.patch),
                ("delete", &item.delete),
            ] {
                if op.is_some() {
                    found.insert((method.to_string(), path.clone()));
                }
            }
        }
        found
    }

    #[test]
    fn the_document_names_exactly_the_routes_served() {
        let served: BTreeSet<(String, String)> = super::super::table()
            .into_iter()
            .map(|(m, p)| (m.to_string(), p))
            .collect();
        assert_eq!(documented(), served);
    }

    /// Every `$ref` names a component the document holds: a type used
    /// only by a parameter is easy to leave out of `components(schemas)`.
    #[test]
    fn every_reference_resolves() {
        fn walk<'a>(value: &'a serde_json::Value, refs: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                        refs.push(target);
                    }
                    map.values().for_each(|v| walk(v, refs));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut refs = Vec::new();
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for target in refs {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(
                doc.pointer(pointer).is_some(),
                "{target} is not in the document"
            );
        }
    }

    #[test]
    fn every_operation_says_what_can_go_wrong() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("500"), "{method} {path}");
                let secured = op.get("security").is_some();
                if secured || path.starts_with("/api/v1/auth/") {
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
                if method != "get" {
                    assert!(responses.contains_key("507"), "{method} {path}");
                }
                if op.get("requestBody").is_some() {
                    // Sign-in bodies answer 400 whatever is wrong with them.
                    let statuses: &[&str] = match path.starts_with("/api/v1/auth/") {
                        true => &["400", "413", "415"],
                        false => &["400", "413", "415", "422"],
                    };
                    for status in statuses {
                        assert!(responses.contains_key(*status), "{status}: {method} {path}");
                    }
                }
            }
        }
    }
}
