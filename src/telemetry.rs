//! The request log and the last line of defence for error bodies.
//!
//! One line per request: request id, method, route pattern, status, duration.
//! Never a body, a header value, a token or a query string (filters such as
//! `q` could carry anything). The cause of a 5xx is logged next to the request
//! id; its body says nothing internal.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};

use crate::error::{AppError, PROBLEM_JSON};

/// The id of the request being served, as the log and `X-Request-Id` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `req`, if the request log gave it one.
    pub fn of(req: &actix_web::HttpRequest) -> Option<String> {
        req.extensions().get::<RequestId>().map(|id| id.0.clone())
    }
}

/// For handlers of callers not signed in (the audit of a failed sign-in).
impl actix_web::FromRequest for RequestId {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(RequestId(Self::of(req).unwrap_or_default())))
    }
}

pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = crate::crypto::hex(&crate::crypto::random_bytes::<8>());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    let mut res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            log::error!("{request_id} {method} - failed before routing: {e}");
            return Err(e);
        }
    };
    let status = res.status();
    if let Some(e) = res.response().error().filter(|_| status.is_server_error()) {
        log::error!("{request_id} internal error: {e}");
    }
    // Errors that did not come from AppError (405, actix's own) get a problem body too.
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        res = res.into_response(AppError::from_status(status).error_response());
    }
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(header::HeaderName::from_static("x-request-id"), value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".into());
    log::info!(
        "{request_id} {method} {route} {} {:.1}ms",
        status.as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(res)
}
