//! The URL table, on one screen. Handlers live beside it, one file per
//! resource; `extract` parses what requests bring, `text` tidies free text.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::AppError;

/// A resource at `$path` answering each method with its handler; any other
/// method gets 405 with `Allow` naming these, and a panic in a handler
/// costs only its request (`telemetry::catch_panics`).
macro_rules! resource {
    ($path:literal $(, $method:ident => $handler:expr)+ $(,)?) => {
        web::resource($path)
            $(.route(web::$method().to($handler)))+
            .default_service(web::to(|| async {
                method_not_allowed(&[$(stringify!($method)),+])
            }))
            .wrap(actix_web::middleware::from_fn(crate::telemetry::catch_panics))
    };
}

pub mod admin;
pub mod alerts;
pub mod answers;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod consents;
pub mod docs;
pub mod documents;
pub mod expenses;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod legs;
pub mod metrics;
pub mod partner;
pub mod personal;
pub mod records;
pub mod shelters;
pub mod stats;
pub mod text;
pub mod users;

/// The table: each path, under its prefix, with its methods and handlers.
/// It makes both what is served (`configure`) and the list the OpenAPI
/// document is held to (`table`).
macro_rules! routes {
    ($($prefix:literal { $($path:literal => [$($method:ident => $handler:expr),+ $(,)?]),+ $(,)? })+) => {
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::scope($prefix)
                        $(.service(resource!($path $(, $method => $handler)+)))+
                        .wrap(actix_web::middleware::from_fn(idempotency::guard))
                );
            )+
        }

        /// Every (method, full path) served.
        pub fn table() -> Vec<(&'static str, String)> {
            let mut all = Vec::new();
            $($($(all.push((stringify!($method), format!("{}{}", $prefix, $path)));)+)+)+
            all
        }
    };
}

routes! {
    // actix tries a scope's resources in this order, and each `{…}` path it
    // tries costs a regex search of the whole path, match or not: the
    // busiest paths come first.
    "/api/v1" {
        "/cases" => [post => cases::create, get => cases::list],
        "/cases.csv" => [get => cases::export],
        "/cases/{id}" => [get => cases::get, patch => cases::update],
        "/cases/{id}/transitions" => [post => cases::transition],
        "/cases/{id}/contacts" => [post => cases::contact],
        "/cases/{id}/events" => [get => cases::events],
        "/cases/{id}/snooze" => [post => cases::snooze],
        "/cases/{id}/documents" => [post => documents::create, get => documents::list],
        "/cases/{id}/documents/{doc_id}" => [get => documents::get, patch => documents::update],
        "/cases/{id}/legs" => [post => legs::create, get => legs::list],
        "/cases/{id}/legs/{leg_id}" => [get => legs::get, patch => legs::update],
        "/cases/{id}/expenses" => [post => expenses::create, get => expenses::list],
        "/cases/{id}/expenses/{expense_id}" => [get => expenses::get],
        "/expenses.csv" => [get => expenses::export],
        "/cases/{id}/consents" => [post => consents::record, get => consents::list],
        "/cases/{id}/personal" => [
            get => personal::read,
            put => personal::write,
            delete => personal::shred,
        ],
        "/partner/shelter" => [get => partner::shelter, patch => partner::update_shelter],
        "/partner/cases" => [get => partner::cases],
        "/partner/cases/{code}/checkins" => [post => partner::checkin],
        "/auth/login" => [post => auth::login],
        "/auth/refresh" => [post => auth::refresh],
        "/auth/logout" => [post => auth::logout],
        "/me" => [get => auth::me],
        "/me/password" => [post => auth::change_password],
        "/alerts" => [get => alerts::list],
        "/alerts/{id}/ack" => [post => alerts::acknowledge],
        "/shelters" => [post => shelters::create, get => shelters::list],
        "/shelters/{id}" => [get => shelters::get, patch => shelters::update],
        "/shelters/{id}/api-keys" => [post => api_keys::create, get => api_keys::list],
        "/shelters/{id}/api-keys/{key_id}" => [delete => api_keys::revoke],
        "/users" => [post => users::create, get => users::list],
        "/users/{id}" => [patch => users::update],
        "/admin/outbox" => [get => admin::outbox],
        "/admin/lockdown" => [post => admin::lockdown],
        "/audit" => [get => audit::list],
        "/stats" => [get => stats::stats],
        "/openapi.json" => [get => docs::openapi_json],
        "/version" => [get => health::version],
    }
    "" {
        "/healthz" => [get => health::healthz],
        "/readyz" => [get => health::readyz],
        "/docs" => [get => docs::page],
        "/docs/{file}" => [get => docs::asset],
        "/metrics" => [get => metrics::metrics],
    }
}

/// 405, naming the methods the resource answers.
fn method_not_allowed(methods: &[&str]) -> HttpResponse {
    let allow: Vec<String> = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
    let mut res = AppError::method_not_allowed().error_response();
    if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
        res.headers_mut().insert(header::ALLOW, value);
    }
    res
}

/// Anything the table does not name.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found())
}

/// 200 with a page of a list as JSON, written into a buffer sized for its
/// items at once: serde_json's own starts at 128 bytes and grows by
/// doubling, copying a page of 50 cases eight times over.
pub fn page_response<T: serde::Serialize>(page: crate::models::page::Page<T>) -> HttpResponse {
    /// About one case's JSON; a smaller item only leaves room unused.
    const ITEM_BYTES: usize = 640;
    let capacity = 64 + page.items.len() * ITEM_BYTES;
    extract::json(&mut HttpResponse::Ok(), &page, capacity)
}
