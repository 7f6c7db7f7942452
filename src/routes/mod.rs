//! The URL table, on one screen. Handlers live beside it, one file per
//! resource; `extract` parses what requests bring, `text` tidies free text.

use actix_web::{web, HttpResponse};

use crate::error::AppError;

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
    use web::{get, patch, post, resource};
    cfg.service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/readyz").route(get().to(health::readyz)))
        .service(
            web::scope("/api/v1")
                .service(resource("/auth/login").route(post().to(auth::login)))
                .service(resource("/auth/refresh").route(post().to(auth::refresh)))
                .service(resource("/auth/logout").route(post().to(auth::logout)))
                .service(resource("/me").route(get().to(auth::me)))
                .service(resource("/me/password").route(post().to(auth::change_password)))
                .service(
                    resource("/users")
                        .route(post().to(users::create))
                        .route(get().to(users::list)),
                )
                .service(resource("/users/{id}").route(patch().to(users::update)))
                .service(
                    resource("/shelters")
                        .route(post().to(shelters::create))
                        .route(get().to(shelters::list)),
                )
                .service(
                    resource("/shelters/{id}")
                        .route(get().to(shelters::get))
                        .route(patch().to(shelters::update)),
                )
                .service(
                    resource("/cases")
                        .route(post().to(cases::create))
                        .route(get().to(cases::list)),
                )
                .service(
                    resource("/cases/{id}")
                        .route(get().to(cases::get))
                        .route(patch().to(cases::update)),
                )
                .service(resource("/cases/{id}/transitions").route(post().to(cases::transition)))
                .service(resource("/cases/{id}/events").route(get().to(cases::events)))
                .service(resource("/cases/{id}/contacts").route(post().to(cases::contact)))
                .service(resource("/cases/{id}/snooze").route(post().to(cases::snooze)))
                .service(
                    resource("/cases/{id}/personal")
                        .route(get().to(personal::read))
                        .route(web::put().to(personal::write))
                        .route(web::delete().to(personal::shred)),
                )
                .service(
                    resource("/shelters/{id}/api-keys")
                        .route(post().to(api_keys::create))
                        .route(get().to(api_keys::list)),
                )
                .service(
                    resource("/shelters/{id}/api-keys/{key_id}")
                        .route(web::delete().to(api_keys::revoke)),
                )
                .service(
                    resource("/partner/shelter")
                        .route(get().to(partner::shelter))
                        .route(patch().to(partner::update_shelter)),
                )
                .service(resource("/partner/cases").route(get().to(partner::cases)))
                .service(
                    resource("/partner/cases/{code}/checkins").route(post().to(partner::checkin)),
                )
                .service(resource("/alerts").route(get().to(alerts::list)))
                .service(resource("/alerts/{id}/ack").route(post().to(alerts::acknowledge)))
                .service(resource("/admin/outbox").route(get().to(admin::outbox)))
                .service(resource("/admin/lockdown").route(post().to(admin::lockdown)))
                .service(resource("/audit").route(get().to(audit::list))),
        );
}

/// Anything the table does not name.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found())
}
