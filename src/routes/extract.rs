//! The edge: request bodies, list queries and `If-Match`, parsed into typed
//! values before a handler runs.
//!
//! Malformed input (not JSON, a wrong type, an unknown field) is 400. A
//! well-formed value that is not acceptable (an unknown stage, a bad id, a
//! number out of range) is 422 with `errors: [{field, message}]` naming every
//! such field; messages name what is allowed and never echo what was sent,
//! which may be personal.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::models::case::SortCursor;
use serde_path_to_error::{Path, Segment};
use validator::{Validate, ValidateArgs, ValidationErrors};

use super::text::{is_refused_control, strip_controls, CONTROL_MESSAGE};
use crate::domain::{invalid, invalid_parts, CaseCode, Now};
use crate::error::{AppError, FieldError};
use crate::models::page::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
use crate::state::AppState;

/// A JSON body of type `T`, parsed and validated.
pub struct Body<T>(pub T);

/// A JSON body whose rules depend on the time (an expiry in the future):
/// validated with the request's [`Now`] from the injected clock.
pub struct TimedBody<T>(pub T);

/// A sign-in body (credentials, a refresh token): as [`Body`], but any
/// problem with it is one 400 that tells nothing — not which field, not why.
pub struct Credentials<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Credentials<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = json_bytes(req, payload);
        Box::pin(async move {
            parse_body(bytes.await?, &[], T::validate)
                .map(Credentials)
                .map_err(|_| AppError::bad_request("The sign-in request could not be read."))
        })
    }
}

/// A PATCH body: as [`Body`], and the fields `T::READ_ONLY` names (which
/// exist but only other operations change) are 422 rather than unknown.
pub struct Patch<T>(pub T);

pub trait ReadOnlyFields {
    const READ_ONLY: &'static [&'static str];
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Body<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = json_bytes(req, payload);
        Box::pin(async move { parse_body(bytes.await?, &[], T::validate).map(Body) })
    }
}

impl<T> FromRequest for TimedBody<T>
where
    T: DeserializeOwned + for<'a> ValidateArgs<'a, Args = &'a Now> + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let now = req
            .app_data::<web::Data<AppState>>()
            .map(|state| Now(state.clock.now()));
        let bytes = json_bytes(req, payload);
        Box::pin(async move {
            let now = now.ok_or_else(|| AppError::internal("application state missing"))?;
            parse_body(bytes.await?, &[], |t: &T| t.validate_with_args(&now)).map(TimedBody)
        })
    }
}

impl<T: DeserializeOwned + Validate + ReadOnlyFields + 'static> FromRequest for Patch<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = json_bytes(req, payload);
        Box::pin(async move { parse_body(bytes.await?, T::READ_ONLY, T::validate).map(Patch) })
    }
}

/// The body's bytes: an empty body is `{}` (so an action without options
/// needs none), any other must say it is JSON (415 otherwise); the size
/// limit is the `PayloadConfig` one (413).
fn json_bytes(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Bytes, AppError>> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_media_type);
    let bytes = Bytes::from_request(req, payload);
    Box::pin(async move {
        let bytes = bytes
            .await
            .map_err(|_| AppError::payload_too_large(crate::config::BODY_LIMIT))?;
        if bytes.is_empty() {
            Ok(Bytes::from_static(b"{}"))
        } else if is_json {
            Ok(bytes)
        } else {
            Err(AppError::unsupported_media_type())
        }
    })
}

/// `application/json`, or any `…/json` or `…/…+json`, with any parameters.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    match essence.split_once('/') {
        Some((_, subtype)) => {
            let subtype = subtype.to_ascii_lowercase();
            subtype == "json" || subtype.ends_with("+json")
        }
        None => false,
    }
}

pub(crate) fn parse_body<T: DeserializeOwned>(
    bytes: Bytes,
    read_only: &[&str],
    check: impl FnOnce(&T) -> Result<(), ValidationErrors>,
) -> Result<T, AppError> {
    let Strict(mut value) = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::bad_request(format!("The body is not valid JSON: {e}.")))?;
    let mut errors = Vec::new();
    refuse_controls(&mut value, "", &mut errors)?;
    if let Some(object) = value.as_object_mut() {
        for &field in read_only {
            if object.remove(field).is_some() {
                errors.push(FieldError::new(field, "cannot be changed with PATCH"));
            }
        }
    }
    let parsed: T = parse_all(&mut value, &mut errors)?;
    if let Err(e) = check(&parsed) {
        // A field refused by its parser was checked with a stand-in value.
        let fresh: Vec<FieldError> = AppError::from(e).field_errors().to_vec();
        let known: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        errors.extend(fresh.into_iter().filter(|e| !known.contains(&e.field)));
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(validation(errors))
    }
}

/// JSON read as a [`Value`], refusing an object that names a key twice:
/// which of the two a reader believes differs from parser to parser (a
/// proxy may check one and Corridor act on the other), so neither is.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{}` is given twice",
                    key.escape_debug()
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Takes refused control characters out of `text`, recording the error of
/// `field` if there were any.
fn refuse_in_text(text: &mut String, field: &str, errors: &mut Vec<FieldError>) {
    if strip_controls(text) {
        errors.push(FieldError::new(field, CONTROL_MESSAGE));
    }
}

/// Records every string in `value` that holds a refused control character
/// as an error of its field, and takes those characters out so the rest of
/// the body is still checked. A field name with one is malformed: 400.
fn refuse_controls(
    value: &mut Value,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Result<(), AppError> {
    match value {
        Value::String(text) => refuse_in_text(text, field, errors),
        Value::Array(items) => {
            for item in items {
                refuse_controls(item, field, errors)?;
            }
        }
        Value::Object(object) => {
            for (key, item) in object.iter_mut() {
                if key.chars().any(is_refused_control) {
                    return Err(AppError::bad_request(
                        "A field name contains control characters.",
                    ));
                }
                let path = match field {
                    "" => key.clone(),
                    _ => format!("{field}.{key}"),
                };
                refuse_controls(item, &path, errors)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Input that can be deserialized, and mended where a value was refused.
trait Source {
    type Error: std::fmt::Display;
    fn read<T: DeserializeOwned>(&self) -> Result<T, serde_path_to_error::Error<Self::Error>>;
    /// Puts `example` where the value at `path` was; false when there is none.
    fn mend(&mut self, path: &Path, example: &str) -> bool;
}

/// Deserializes `source`; each value refused as invalid is recorded as a
/// field error and replaced by a value its type accepts, and reading goes
/// on, so one answer lists every invalid field (and the validator still
/// sees the rest). Malformed input is 400 at once.
fn parse_all<T: DeserializeOwned, S: Source>(
    source: &mut S,
    errors: &mut Vec<FieldError>,
) -> Result<T, AppError> {
    for _ in 0..64 {
        let error = match source.read() {
            Ok(parsed) => return Ok(parsed),
            Err(e) => e,
        };
        let message = error.inner().to_string();
        let Some(invalid) = invalid_parts(&message) else {
            return Err(AppError::bad_request(describe(error.path(), &message)));
        };
        errors.push(FieldError::new(field_name(error.path()), invalid.message));
        if !source.mend(error.path(), invalid.example) {
            break;
        }
    }
    Err(validation(std::mem::take(errors)))
}

impl Source for Value {
    type Error = serde_json::Error;

    fn read<T: DeserializeOwned>(&self) -> Result<T, serde_path_to_error::Error<Self::Error>> {
        serde_path_to_error::deserialize(self)
    }

    fn mend(&mut self, path: &Path, example: &str) -> bool {
        let mut node = self;
        for segment in path.iter() {
            node = match segment {
                Segment::Map { key } => match node.get_mut(key.as_str()) {
                    Some(next) => next,
                    None => return false,
                },
                Segment::Seq { index } => match node.get_mut(*index) {
                    Some(next) => next,
                    None => return false,
                },
                _ => return false,
            };
        }
        *node = Value::String(example.to_string());
        true
    }
}

/// Query pairs.
impl Source for Vec<(String, String)> {
    type Error = serde_urlencoded::de::Error;

    fn read<T: DeserializeOwned>(&self) -> Result<T, serde_path_to_error::Error<Self::Error>> {
        let text = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.iter())
            .finish();
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(
            form_urlencoded::parse(text.as_bytes()),
        ))
    }

    fn mend(&mut self, path: &Path, example: &str) -> bool {
        let key = field_name(path);
        let mut found = false;
        for (_, v) in self.iter_mut().filter(|(k, _)| *k == key) {
            *v = example.to_string();
            found = true;
        }
        found
    }
}

fn path_text<'a>(segments: impl Iterator<Item = &'a Segment>) -> String {
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } if text.is_empty() => text.push_str(key),
            Segment::Map { key } => text.push_str(&format!(".{key}")),
            _ => text.push_str(".?"),
        }
    }
    text
}

/// The field an error is about: its path, without a trailing list index
/// (`needs[0]` is about `needs`).
fn field_name(path: &Path) -> String {
    let mut segments: Vec<&Segment> = path.iter().collect();
    while matches!(segments.last(), Some(Segment::Seq { .. })) {
        segments.pop();
    }
    path_text(segments.into_iter())
}

/// A 400's detail: where and what kind of mistake, without the value sent.
fn describe(path: &Path, message: &str) -> String {
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, e)| e.split(" at line ").next().unwrap_or(e));
    let what = if message.starts_with("invalid type") {
        format!(
            "wrong type, expected {}",
            expected.unwrap_or("another type")
        )
    } else if message.starts_with("unknown field") {
        let name = message.split('`').nth(1).unwrap_or_default();
        format!("unknown field `{name}`")
    } else if message.starts_with("missing field") || message.starts_with("invalid length") {
        message
            .split(" at line ")
            .next()
            .unwrap_or(message)
            .to_string()
    } else {
        "invalid value".to_string()
    };
    match path_text(path.iter()) {
        at if at.is_empty() || at == "?" => format!("The request does not fit: {what}."),
        at => format!("The request does not fit at `{at}`: {what}."),
    }
}

/// 422 naming each field once (its first problem), in field order.
fn validation(mut errors: Vec<FieldError>) -> AppError {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(e.field.clone()));
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    AppError::validation(errors)
}

/// The paging of every list, for the OpenAPI document (parsed by [`Listing`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Paging {
    /// How many items a page holds.
    #[param(minimum = 1, maximum = 500, default = 50)]
    limit: Option<i64>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// A list request: the filters `F` of the query string, and which page
/// (`limit`, and `cursor` of kind `C`).
pub struct Listing<F, C = IdCursor> {
    pub filter: F,
    pub page: PageRequest,
    cursor: PhantomData<C>,
}

/// What a list's cursor is: the key of the last row of a page.
pub trait CursorKind {
    /// The cursor in its canonical form, or `None` for one this API never gave.
    fn parse(text: &str) -> Option<String>;
}

/// Cursors of lists ordered by id.
pub struct IdCursor;

impl CursorKind for IdCursor {
    fn parse(text: &str) -> Option<String> {
        uuid::Uuid::parse_str(text).ok().map(|id| id.to_string())
    }
}

/// Cursors of the case list: an id (its default order), or where a page of
/// a sorted order ended (see [`SortCursor`]).
pub struct CaseCursor;

impl CursorKind for CaseCursor {
    fn parse(text: &str) -> Option<String> {
        IdCursor::parse(text).or_else(|| SortCursor::parse(text).map(|c| c.to_string()))
    }
}

/// Cursors of lists ordered by case code (no case id leaves for a shelter).
pub struct CodeCursor;

impl CursorKind for CodeCursor {
    fn parse(text: &str) -> Option<String> {
        CaseCode::parse(text).map(|code| code.to_string())
    }
}

/// A list with no filters.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilters {}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    limit: Option<Limit>,
    cursor: Option<String>,
}

struct Limit(i64);

impl<'de> serde::Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if (1..=MAX_LIMIT).contains(&n) {
            Ok(Limit(n))
        } else {
            Err(invalid(
                "50",
                format_args!("must be between 1 and {MAX_LIMIT}"),
            ))
        }
    }
}

impl<F: DeserializeOwned + 'static, C: CursorKind> FromRequest for Listing<F, C> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_listing(req.query_string()))
    }
}

/// The query's pairs, refused control characters taken out of the values
/// (and recorded in `errors`); a name with one is malformed.
fn query_pairs(
    query: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<(String, String)>, AppError> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut seen = std::collections::HashSet::new();
    for (key, value) in pairs.iter_mut() {
        if key.chars().any(is_refused_control) {
            return Err(AppError::bad_request(
                "A query parameter name contains control characters.",
            ));
        }
        // No parameter here takes a list: a second value is a mistake (or
        // a probe for which one a proxy and Corridor would each believe).
        if !seen.insert(key.clone()) {
            return Err(AppError::bad_request(format!(
                "The query parameter `{}` is given more than once.",
                key.escape_debug()
            )));
        }
        refuse_in_text(value, key, errors);
    }
    Ok(pairs)
}

/// The filters `F` of a query that reads everything at once (an export):
/// as [`Listing`] without paging.
pub struct Filters<F>(pub F);

impl<F: DeserializeOwned + 'static> FromRequest for Filters<F> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_filters(req.query_string()).map(Filters))
    }
}

pub(crate) fn parse_filters<F: DeserializeOwned>(query: &str) -> Result<F, AppError> {
    let mut errors = Vec::new();
    let mut pairs = query_pairs(query, &mut errors)?;
    let filter: F = parse_all(&mut pairs, &mut errors)?;
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(validation(errors))
    }
}

pub(crate) fn parse_listing<F: DeserializeOwned, C: CursorKind>(
    query: &str,
) -> Result<Listing<F, C>, AppError> {
    let mut errors = Vec::new();
    let pairs = query_pairs(query, &mut errors)?;
    let (mut page_pairs, mut filter_pairs): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| k == "limit" || k == "cursor");
    let params: PageParams = parse_all(&mut page_pairs, &mut errors)?;
    let filter: F = parse_all(&mut filter_pairs, &mut errors)?;
    let after = params.cursor.and_then(|text| {
        let parsed = C::parse(&text);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "cursor",
                "is not a cursor this API gave out",
            ));
        }
        parsed
    });
    if !errors.is_empty() {
        return Err(validation(errors));
    }
    Ok(Listing {
        filter,
        page: PageRequest {
            limit: params.limit.map_or(DEFAULT_LIMIT, |l| l.0),
            after,
        },
        cursor: PhantomData,
    })
}

/// The version named by `If-Match`: `None` when absent or `*`. A value that
/// names no version can match nothing: 412.
pub struct IfMatch(pub Option<i32>);

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if_match(req).map(IfMatch))
    }
}

pub(crate) fn if_match(req: &HttpRequest) -> Result<Option<i32>, AppError> {
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

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// 200 with the object and its ETag.
pub fn with_etag<T: Serialize>(version: i32, body: &T) -> HttpResponse {
    /// About one case's JSON, the largest object answered this way.
    const OBJECT_BYTES: usize = 768;
    json(
        HttpResponse::Ok().insert_header((header::ETAG, etag(version))),
        body,
        OBJECT_BYTES,
    )
}

/// `body` as JSON, written once into a buffer of about its size
/// (`capacity`), where actix's `json` grows a string from 128 bytes.
pub fn json<T: Serialize>(
    res: &mut actix_web::HttpResponseBuilder,
    body: &T,
    capacity: usize,
) -> HttpResponse {
    let mut bytes = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => res.content_type(header::ContentType::json()).body(bytes),
        // As an error, so the request log records the cause.
        Err(e) => HttpResponse::from_error(AppError::internal(format!("writing JSON: {e}"))),
    }
}

/// 201 with the new object and `Location`, its URL under `/api/v1`.
pub fn created<T: Serialize>(path: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1{path}")))
        .json(body)
}

/// 201 with the new object, its `Location` and its ETag.
pub fn created_with_etag<T: Serialize>(path: String, version: i32, body: &T) -> HttpResponse {
    let mut res = created(path, body);
    if let Ok(value) = header::HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, value);
    }
    res
}

#[cfg(test)]
mod strict_tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth_and_one_given_once_is_kept() {
        for body in [
            r#"{"to":"transit","to":"closed"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"[{"x":1},{"y":1,"y":1}]"#,
        ] {
            let e = serde_json::from_str::<Strict>(body).err().unwrap();
            assert!(e.to_string().contains("is given twice"), "{body}: {e}");
        }
        let Strict(value) =
            serde_json::from_str(r#"{"a":[1,-2,3.5,"x",null,true],"b":{"c":{}}}"#).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a":[1,-2,3.5,"x",null,true],"b":{"c":{}}})
        );
    }
}
