//! `Idempotency-Key` on every POST but sign-in (whose answers are tokens,
//! never kept): the first answer is kept 24 hours for the caller and key; a
//! retry with the same key and request gets it again, with
//! `Idempotent-Replayed: true`, and changes nothing; the same key with
//! another request is 422; a retry while the first still runs is 409. An
//! answer of ours that failed (5xx) or refused for load (429) is not kept,
//! so a retry runs. Keys are per caller: two callers never see each
//! other's answers.
//!
//! A replay is no way around the rules: it applies the endpoint's
//! clearance again to the caller's role now (403, as a fresh request
//! would get), an answer that holds a case's personal data is sealed
//! under that case's key and goes with its shred, and an answer that is
//! only true once (a lockdown's counts) is never kept: a retry runs again.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;

use crate::auth::extract::{principal, recheck};
use crate::config::BODY_LIMIT;
use crate::db;
use crate::domain::{CaseId, Clearance};
use crate::error::AppError;
use crate::models::idempotency::IdempotencyRow;
use crate::operations::idempotency::{self, Answer, Outcome};
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// The headers of an answer that are kept with it.
const KEPT: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// On an answer: it holds this case's personal data.
#[derive(Clone)]
struct HoldsPersonal(CaseId);

/// On an answer: what it reports is true only once, so it is never kept.
#[derive(Clone, Copy)]
struct NotKept;

/// Marks `res` as holding `case`'s personal data: kept under the case's
/// key, and deleted by its shred.
pub fn holds_personal(mut res: HttpResponse, case: &CaseId) -> HttpResponse {
    res.extensions_mut().insert(HoldsPersonal(case.clone()));
    res
}

/// Marks `res` as never kept: a retry with its key runs the request again.
pub fn not_kept(mut res: HttpResponse) -> HttpResponse {
    res.extensions_mut().insert(NotKept);
    res
}

/// A key as sent: 1–255 visible ASCII characters; its hash is what is stored.
pub fn parse_key(value: &[u8]) -> Option<String> {
    let visible = value.iter().all(|b| (0x21..=0x7e).contains(b));
    (!value.is_empty() && value.len() <= 255 && visible).then(|| crate::crypto::sha256_hex(value))
}

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let applies = req.method() == Method::POST && !req.path().starts_with("/api/v1/auth/");
    let sent = req.headers().get(HEADER).map(|v| v.as_bytes().to_vec());
    match (applies, sent) {
        (true, Some(sent)) => keyed(req, next, &sent).await,
        _ => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// Answers `req` with `error`, as the handler would have.
fn refuse(req: ServiceRequest, error: AppError) -> Result<ServiceResponse<BoxBody>, Error> {
    Ok(req.into_response(error.error_response()))
}

async fn keyed(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    sent: &[u8],
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(key_hash) = parse_key(sent) else {
        return refuse(
            req,
            AppError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters."),
        );
    };
    let caller = match principal(req.request()).await {
        Ok(Some(caller)) => caller,
        // No credentials: the handler says 401.
        Ok(None) => return Ok(next.call(req).await?.map_into_boxed_body()),
        Err(e) => return refuse(req, e),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return refuse(req, AppError::internal("application state missing"));
    };
    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(e) => return refuse(req, e),
    };
    let fingerprint = fingerprint(&req, &body);
    req.set_payload(Payload::from(body));
    let (keys, now) = (state.context.keys.clone(), state.now());
    let claimed = {
        let (caller, key_hash) = (caller.clone(), key_hash.clone());
        db::run(&state.pool, move |conn| {
            Ok(db::write(conn, |conn| {
                idempotency::claim(conn, &keys, &caller, &key_hash, &fingerprint, now)
            })?)
        })
        .await
    };
    match claimed {
        Err(e) => refuse(req, e),
        Ok(Outcome::Mismatch) => refuse(
            req,
            AppError::invalid(
                "Idempotency-Key",
                "was used with another request; use a new key for a new request",
            ),
        ),
        Ok(Outcome::Running) => refuse(
            req,
            AppError::conflict_retry(
                "A request with this Idempotency-Key is still running; retry in a moment.",
                1,
            ),
        ),
        Ok(Outcome::Replay(answer)) => {
            if let Some(clearance) = answer.clearance {
                if let Err(e) = recheck(req.request(), clearance).await {
                    return refuse(req, e);
                }
            }
            match replay(&answer) {
                Ok(res) => Ok(req.into_response(res)),
                Err(e) => refuse(req, e),
            }
        }
        Ok(Outcome::Run) => {
            let res = next.call(req).await;
            finish(&state, caller, key_hash, res).await
        }
    }
}

/// The body, whole (it is at most the body limit; more is 413).
async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, AppError> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_request("The body could not be read."))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(AppError::payload_too_large(BODY_LIMIT));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// What makes two requests the same: method, path and query, content type
/// and body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let mut text = Vec::with_capacity(body.len() + 128);
    for part in [
        req.method().as_str().as_bytes(),
        req.uri().to_string().as_bytes(),
        content_type,
    ] {
        text.extend_from_slice(part);
        text.push(0);
    }
    text.extend_from_slice(body);
    crate::crypto::sha256_hex(&text)
}

/// Keeps the first answer (or releases the key when it was a failure of
/// ours), then gives it to the client.
async fn finish(
    state: &AppState,
    caller: String,
    key_hash: String,
    res: Result<ServiceResponse<impl MessageBody + 'static>, Error>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (keys, pool) = (state.context.keys.clone(), state.pool.clone());
    let res = match res {
        Ok(res) => res,
        Err(e) => {
            let _ = db::run(&pool, move |conn| {
                Ok(IdempotencyRow::release(conn, &caller, &key_hash)?)
            })
            .await;
            return Err(e);
        }
    };
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let status = head.status();
    let clearance = req.extensions().get::<Clearance>().copied();
    let case = head
        .extensions()
        .get::<HoldsPersonal>()
        .map(|h| h.0.clone());
    let once = head.extensions().get::<NotKept>().is_some();
    let body = match actix_web::body::to_bytes(body).await {
        Ok(body) => body,
        Err(_) => {
            return Ok(ServiceResponse::new(
                req,
                AppError::internal("body").error_response(),
            ))
        }
    };
    let keep = !status.is_server_error() && status != StatusCode::TOO_MANY_REQUESTS && !once;
    let headers = KEPT
        .iter()
        .filter_map(|name| {
            let value = head.headers().get(name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect();
    let answer = Answer::new(status.as_u16(), headers, &body, clearance);
    let now = state.now();
    let stored = db::run(&pool, move |conn| {
        Ok(db::write(conn, |conn| match keep {
            true => {
                let case = case.as_ref();
                idempotency::keep(conn, &keys, &caller, &key_hash, &answer, case, now)
            }
            false => Ok(IdempotencyRow::release(conn, &caller, &key_hash)?),
        })?)
    })
    .await;
    match stored {
        // A full disk is logged once an episode; a claim left running is
        // abandoned after a while, and a retry then runs afresh.
        Err(e) if e.is_storage_full() => {
            state.context.storage.failed(state.clock.now());
        }
        // The change is made; only its replay is lost. Say so in the log.
        Err(e) => log::error!("an idempotent answer could not be kept: {e}"),
        Ok(()) => {}
    }
    Ok(ServiceResponse::new(
        req,
        head.set_body(body).map_into_boxed_body(),
    ))
}

/// The kept answer again.
fn replay(answer: &Answer) -> Result<HttpResponse, AppError> {
    let status = StatusCode::from_u16(answer.status)
        .map_err(|_| AppError::internal("a kept answer has no status"))?;
    let mut res = HttpResponse::build(status);
    for (name, value) in &answer.headers {
        res.insert_header((name.as_str(), value.as_str()));
    }
    res.insert_header((REPLAYED, HeaderValue::from_static("true")));
    Ok(res.body(answer.body()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_visible_ascii_of_1_to_255_and_stored_as_its_hash() {
        let hashed = parse_key(b"order-42").unwrap();
        assert_eq!(hashed.len(), 64);
        assert!(!hashed.contains("order"));
        assert_eq!(parse_key(&[b'k'; 255]).map(|h| h.len()), Some(64));
        for bad in [
            &b""[..],
            &[b'k'; 256],
            b"has space",
            b"tab\t",
            "ключ".as_bytes(),
        ] {
            assert_eq!(parse_key(bad), None, "{bad:?}");
        }
    }
}
