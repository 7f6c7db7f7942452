//! The URL table, on one screen, and the small helpers every handler shares:
//! list pages, ids in paths, ETags and `If-Match`, field errors.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};

use crate::db;
use crate::error::{AppError, FieldError};
use crate::models::case::Change;
use crate::models::event::Actor;
use crate::startup::AppState;

pub mod alerts;
pub mod api_keys;
pub mod auth;
pub mod cases;
pub mod health;
pub mod partner;
pub mod shelters;
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
                .service(resource("/admin/outbox").route(get().to(alerts::outbox))),
        );
}

/// Runs a change to one case in a writing transaction, by `actor`, now,
/// under the configured stall rules.
pub async fn change_case<T, F>(
    state: &web::Data<AppState>,
    actor: Actor,
    expected: Option<i32>,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut db::DbConnection, &Change<'_>) -> Result<T, AppError> + Send + 'static,
{
    let now = state.clock.now().naive_utc();
    let rules = state.alerts.rules;
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let change = Change {
                actor: &actor,
                now,
                rules: &rules,
                if_match: expected,
            };
            f(conn, &change)
        })
    })
    .await
}

/// Anything the table does not name.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found())
}

/// A page of a list: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `?limit=&cursor=` of a list with no filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// `?limit=` and `?cursor=`, checked. The cursor is the id of the last item
/// of the previous page; ids are time-ordered UUIDs, so pages neither skip
/// nor repeat rows however many are added meanwhile.
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>, fields: &mut Fields) -> Self {
        Self::parse_with(limit, cursor, fields, |c| {
            uuid::Uuid::parse_str(c).ok().map(|id| id.to_string())
        })
    }

    /// As `parse`, for lists whose cursor is not an id (`cursor` normalises
    /// a cursor, or refuses it).
    pub fn parse_with(
        limit: Option<i64>,
        cursor: Option<&str>,
        fields: &mut Fields,
        parse_cursor: fn(&str) -> Option<String>,
    ) -> Self {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                fields.error("limit", format!("must be between 1 and {MAX_LIMIT}"));
                DEFAULT_LIMIT
            }
        };
        let after = cursor.and_then(|c| {
            let parsed = parse_cursor(c);
            if parsed.is_none() {
                fields.error("cursor", "is not a cursor this API gave out");
            }
            parsed
        });
        Self { limit, after }
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra row and turns the rest into a page.
    pub fn page<R, T>(
        &self,
        mut rows: Vec<R>,
        id: impl Fn(&R) -> String,
        view: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(&id) } else { None };
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

/// Collects field errors while parsing a request, validator's first.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    pub fn from_validator(result: Result<(), validator::ValidationErrors>) -> Self {
        match result {
            Ok(()) => Self::default(),
            Err(e) => Self(AppError::from(e).field_errors().to_vec()),
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Parses a name from a closed set; records an error listing the set.
    pub fn name<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: fn(&str) -> Option<T>,
        names: fn() -> String,
    ) -> Option<T> {
        let value = value?;
        let parsed = parse(value);
        if parsed.is_none() {
            self.error(field, format!("must be one of {}", names()));
        }
        parsed
    }

    /// Parses a list of names from a closed set.
    pub fn names<T>(
        &mut self,
        field: &str,
        values: Option<&[String]>,
        parse: fn(&str) -> Option<T>,
        names: fn() -> String,
    ) -> Option<Vec<T>> {
        let values = values?;
        let parsed: Option<Vec<T>> = values.iter().map(|v| parse(v)).collect();
        if parsed.is_none() {
            self.error(field, format!("each must be one of {}", names()));
        }
        parsed
    }

    /// Parses an id; records `message` on the field when it is not one.
    pub fn id(&mut self, field: &str, value: Option<&str>, message: &str) -> Option<String> {
        let parsed = parse_id(value?).ok();
        if parsed.is_none() {
            self.error(field, message);
        }
        parsed
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.0))
        }
    }
}

/// Ids in paths are UUIDs; anything else cannot exist.
pub fn parse_id(text: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(text)
        .map(|id| id.to_string())
        .map_err(|_| AppError::not_found())
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version named by `If-Match`: `None` when absent or `*`. A value that
/// names no version can match nothing: 412.
pub fn if_match(req: &HttpRequest) -> Result<Option<i32>, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::precondition_failed())?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| AppError::precondition_failed())
}

/// 200 with the object and its ETag.
pub fn with_etag<T: Serialize>(version: i32, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Refuses fields a PATCH may not touch (422) and fields that do not exist (400).
pub fn check_patch_extras(
    extras: &serde_json::Map<String, serde_json::Value>,
    read_only: &[&str],
    fields: &mut Fields,
) -> Result<(), AppError> {
    for key in extras.keys() {
        if read_only.contains(&key.as_str()) {
            fields.error(key, "cannot be changed with PATCH");
        } else {
            return Err(AppError::bad_request(format!("unknown field `{key}`")));
        }
    }
    Ok(())
}

/// For validator: text that is not only whitespace.
pub fn not_blank(text: &str) -> Result<(), validator::ValidationError> {
    if text.trim().is_empty() {
        Err(validator::ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// Optional text: trimmed, and empty means absent.
pub fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}
