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
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod extract;
pub mod health;
pub mod partner;
pub mod personal;
pub mod shelters;
pub mod text;
pub mod users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource!("/healthz", get => health::healthz))
        .service(resource!("/readyz", get => health::readyz))
        .service(
            web::scope("/api/v1")
                .service(resource!("/auth/login", post => auth::login))
                .service(resource!("/auth/refresh", post => auth::refresh))
                .service(resource!("/auth/logout", post => auth::logout))
                .service(resource!("/me", get => auth::me))
                .service(resource!("/me/password", post => auth::change_password))
                .service(resource!("/users", post => users::create, get => users::list))
                .service(resource!("/users/{id}", patch => users::update))
                .service(resource!("/shelters", post => shelters::create, get => shelters::list))
                .service(
                    resource!("/shelters/{id}", get => shelters::get, patch => shelters::update),
                )
                .service(resource!("/cases", post => cases::create, get => cases::list))
                .service(resource!("/cases/{id}", get => cases::get, patch => cases::update))
                .service(resource!("/cases/{id}/transitions", post => cases::transition))
                .service(resource!("/cases/{id}/events", get => cases::events))
                .service(resource!("/cases/{id}/contacts", post => cases::contact))
                .service(resource!("/cases/{id}/snooze", post => cases::snooze))
                .service(resource!(
                    "/cases/{id}/personal",
                    get => personal::read,
                    put => personal::write,
                    delete => personal::shred,
                ))
                .service(resource!(
                    "/shelters/{id}/api-keys",
                    post => api_keys::create,
                    get => api_keys::list,
                ))
                .service(resource!("/shelters/{id}/api-keys/{key_id}", delete => api_keys::revoke))
                .service(resource!(
                    "/partner/shelter",
                    get => partner::shelter,
                    patch => partner::update_shelter,
                ))
                .service(resource!("/partner/cases", get => partner::cases))
                .service(resource!("/partner/cases/{code}/checkins", post => partner::checkin))
                .service(resource!("/alerts", get => alerts::list))
                .service(resource!("/alerts/{id}/ack", post => alerts::acknowledge))
                .service(resource!("/admin/outbox", get => admin::outbox))
                .service(resource!("/admin/lockdown", post => admin::lockdown))
                .service(resource!("/audit", get => audit::list)),
        );
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
