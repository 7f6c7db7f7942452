//! The request log and the last line of defence for error bodies.
//!
//! One line per request: request id, method, route pattern, status, duration.
//! Never a body, a header value, a token or a query string (filters such as
//! `q` could carry anything). The cause of a 5xx is logged next to the request
//! id; its body says nothing internal. A panic while serving is caught
//! here: the client gets a plain 500, the log the place (see `panics`).
//!
//! Every response carries the security headers: no sniffing, no framing, no
//! referrer, a Content-Security-Policy that allows nothing (unless the
//! handler set its own), and HSTS when `public_url` is https.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};

use crate::db;
use crate::error::{AppError, PROBLEM_JSON};
use crate::panics::RequestScope;
use crate::state::AppState;

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
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_id(v))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let gate = Arc::new(db::Gate::default());
    req.extensions_mut().insert(gate.clone());
    let method = req.method().clone();
    let outcome = serve_caught(next.call(req), Some(&request_id), Some(&gate)).await;
    let mut res = match outcome {
        Ok(Ok(res)) => res.map_into_boxed_body(),
        Ok(Err(e)) => {
            log::error!("{request_id} {method} - failed before routing: {e}");
            return Err(e);
        }
        // Outside a resource (routing itself): no request left to answer with.
        Err(Panicked) => return Err(AppError::internal("panicked before a handler").into()),
    };
    // A session check the handler's database work did not pass runs now,
    // and a failed one answers instead of the handler.
    if let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() {
        if let Err(refused) = gate.settle(&state.pool).await {
            let _scope = RequestScope::enter(Some(request_id.clone()));
            res = res.into_response(refused.error_response());
        }
    }
    let status = res.status();
    let full = status == StatusCode::INSUFFICIENT_STORAGE;
    if let Some(e) = res
        .response()
        .error()
        .filter(|_| status.is_server_error() && !full)
    {
        log::error!("{request_id} internal error: {e}");
    }
    // A full disk is logged once an episode, by the watch.
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        let storage = &state.context.storage;
        let replayed = res.headers().contains_key("idempotent-replayed");
        if full {
            storage.failed(state.clock.now());
        } else if status.is_success() && !method.is_safe() && !replayed {
            storage.wrote(state.clock.now());
        }
    }
    // Errors that did not come from AppError (actix's own) get a problem body too.
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let _scope = RequestScope::enter(Some(request_id.clone()));
        res = res.into_response(AppError::from_status(status).error_response());
    }
    let https = res
        .request()
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.server.public_url.starts_with("https://"));
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(header::HeaderName::from_static("x-request-id"), value);
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    secure(headers, https);
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".into());
    let seconds = started.elapsed().as_secs_f64();
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state
            .metrics
            .observe(&method, &route, status.as_u16(), seconds);
    }
    let (kind, id) = principal(res.request());
    let ms = (seconds * 10_000.0).round() / 10.0;
    log::info!(
        target: "corridor::request",
        request_id = request_id.as_str(),
        method = method.as_str(),
        route = route.as_str(),
        status = status.as_u16(),
        duration_ms = ms,
        principal_kind = kind,
        principal_id = id.as_str();
        "{request_id} {method} {route} {} {ms:.1}ms {kind}{}{id}",
        status.as_u16(),
        if id.is_empty() { "" } else { " " },
    );
    Ok(res)
}

/// A request id of our own: 16 hex digits, unique in this process (a
/// counter through a bijective mix) and unlikely to meet another process's
/// (the counter starts at random). Names a request in the log, nothing
/// more: a client may send its own. No system call per request.
fn new_request_id() -> String {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| {
        std::sync::atomic::AtomicU64::new(u64::from_le_bytes(crate::crypto::random_bytes()))
    });
    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::crypto::hex(&mix(n).to_be_bytes())
}

/// SplitMix64's finalizer: a bijection on 64 bits, so distinct counts give
/// distinct ids.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// An incoming `X-Request-Id` is kept when it is 1 to 64 characters of
/// `[A-Za-z0-9._-]`; anything else is replaced.
fn is_sane_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Who made the request, as authentication found it, for the request log:
/// `user` or `shelter`, and its id. Authentication puts it in the request's
/// extensions; a request without one was anonymous.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kind: &'static str,
    pub id: String,
}

fn principal(req: &actix_web::HttpRequest) -> (&'static str, String) {
    match req.extensions().get::<Caller>() {
        Some(caller) => (caller.kind, caller.id.clone()),
        None => ("anonymous", String::new()),
    }
}

/// Wraps each resource (see `routes`), where the request, routed, can be
/// kept to answer with: a panic in an extractor or handler is a plain 500,
/// which the request log then logs and completes like any other.
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request = req.request().clone();
    match serve_caught(next.call(req), None, None).await {
        Ok(res) => res.map(ServiceResponse::map_into_boxed_body),
        Err(Panicked) => {
            let error = AppError::internal("the handler panicked");
            Ok(ServiceResponse::new(request, error.error_response()))
        }
    }
}

/// A request whose handler panicked.
struct Panicked;

/// Drives `serving`, with this thread working for `request_id` (when
/// given) at each poll, so a panic, and any blocking task, is logged with
/// it, and the request's database work passes its `gate` (when given);
/// turns a panic into [`Panicked`]: the future is not polled again.
async fn serve_caught<F: Future>(
    serving: F,
    request_id: Option<&str>,
    gate: Option<&Arc<db::Gate>>,
) -> Result<F::Output, Panicked> {
    let mut serving = std::pin::pin!(serving);
    std::future::poll_fn(|cx| {
        let _scope = request_id.map(|id| RequestScope::enter(Some(id.to_string())));
        let _gate = gate.map(|gate| db::GateScope::enter(Some(gate.clone())));
        match std::panic::catch_unwind(AssertUnwindSafe(|| serving.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(Panicked)),
        }
    })
    .await
}

/// The security headers of every response.
fn secure(headers: &mut header::HeaderMap, https: bool) {
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_POLICY),
        );
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// The API serves data, never pages: nothing may load, and nothing frame it.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{test, App, HttpResponse};

    #[::std::prelude::v1::test]
    fn request_ids_are_sane_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 16 && is_sane_id(id)));
        // Neighbouring counts do not give neighbouring ids.
        assert_ne!(mix(1) >> 32, mix(2) >> 32);
    }

    #[actix_web::test]
    async fn a_panicking_handler_costs_one_request_and_says_nothing() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(request_log))
                .service(
                    web::resource("/boom")
                        .route(web::get().to(|| async {
                            let input = String::from("Иванов");
                            if !input.is_empty() {
                                panic!("cannot handle {input}");
                            }
                            HttpResponse::Ok().finish()
                        }))
                        .wrap(from_fn(catch_panics)),
                )
                .route("/fine", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/boom").to_request()).await;
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        assert!(res.headers().contains_key("x-request-id"));
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        assert!(
            !body.contains("Иванов") && !body.contains("panic"),
            "{body}"
        );
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;
        assert_eq!(res.status(), 200, "the worker serves on");
        assert_eq!(
            res.headers().get(header::CONTENT_SECURITY_POLICY).unwrap(),
            API_POLICY
        );
    }
}
