//! Property tests of the edge: every parser that takes a value from outside
//! gets arbitrary Unicode (control characters, Cyrillic, astral planes,
//! NUL) and must answer without panicking; what it accepts must mean what
//! it says; what it refuses is a 400 or 422 that never quotes the value.

use actix_web::http::header::HeaderValue;
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use actix_web::ResponseError;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use validator::{Validate, ValidateArgs, ValidationErrors};

use crate::auth::api_key::ApiKey;
use crate::auth::extract::bearer;
use crate::auth::token::RefreshToken;
use crate::auth::{client, password};
use crate::config::HumanDuration;
use crate::domain::personal::{normalise_name, BirthDate};
use crate::domain::*;
use crate::error::AppError;
use crate::models::user::normalise_email;
use crate::routes::extract::{parse_body, parse_filters, parse_listing, CodeCursor};
use crate::routes::extract::{CursorKind, IdCursor};
use crate::routes::{admin, alerts, api_keys, audit, auth, cases, partner, personal};
use crate::routes::{shelters, users};

/// Any text: any characters, NUL and other controls included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        // Text near what parsers look for: codes, ids, durations, in any script.
        proptest::collection::vec(
            prop_oneof![
                Just('E'),
                Just('V'),
                Just('-'),
                Just('Е'),
                Just('В'),
                Just('7'),
                Just('k'),
                Just('d'),
                Just('\0'),
                Just('.'),
                Just(' '),
                any::<char>()
            ],
            0..16
        )
        .prop_map(String::from_iter),
    ]
}

/// Any JSON value a field could be given.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        proptest::collection::vec(text(), 0..4).prop_map(|v| json!(v)),
        text().prop_map(|t| json!([{ "channel": "signal", "value": t }])),
    ]
}

fn now() -> Now {
    Now(DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc))
}

/// Whether `text` would be seen if an answer quoted it: long enough not to
/// occur in our own words by chance.
fn distinctive(text: &str) -> bool {
    text.chars().count() >= 6 && text.chars().any(|c| !c.is_ascii_alphanumeric())
}

/// A refusal must be a 400 or 422 that does not quote `values`.
fn check_refusal(error: &AppError, values: &[&str]) -> Result<(), TestCaseError> {
    let status = error.status_code().as_u16();
    prop_assert!(status == 400 || status == 422, "status {status}: {error}");
    let body = error.error_response().into_body();
    let body = actix_web::body::to_bytes(body);
    let body = futures_util::FutureExt::now_or_never(body)
        .and_then(Result::ok)
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body);
    for value in values.iter().filter(|v| distinctive(v)) {
        prop_assert!(!body.contains(value), "the answer quotes the input: {body}");
    }
    Ok(())
}

/// Parses `object` as a body of `T` with `check`: accepted, or refused well.
fn body<T: DeserializeOwned>(
    object: &Value,
    check: impl FnOnce(&T) -> Result<(), ValidationErrors>,
) -> Result<(), TestCaseError> {
    let bytes = Bytes::from(serde_json::to_vec(object).unwrap());
    let strings: Vec<&str> = object
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(Value::as_str)
        .collect();
    match parse_body::<T>(bytes, &[], check) {
        Ok(_) => Ok(()),
        Err(e) => check_refusal(&e, &strings),
    }
}

/// A body with the given fields set to arbitrary values.
fn fields(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(names), value()), 0..5).prop_map(|pairs| {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    })
}

fn listing<F: DeserializeOwned, C: CursorKind>(
    pairs: &[(String, String)],
) -> Result<(), TestCaseError> {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
    match parse_listing::<F, C>(&query) {
        Ok(_) => Ok(()),
        Err(e) => check_refusal(&e, &values),
    }
}

/// Query pairs: names a list knows, and any values.
fn query(names: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((proptest::sample::select(names), text()), 0..4)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn case_codes_and_prefixes(s in text()) {
        if let Some(code) = CaseCode::parse(&s) {
            prop_assert!(code.as_str().is_ascii());
            prop_assert_eq!(CaseCode::parse(code.as_str()), Some(code.clone()));
            prop_assert!(CodePrefix::parse(code.as_str()).is_some());
        }
        if let Some(prefix) = CodePrefix::parse(&s) {
            let p = prefix.as_str();
            prop_assert!(p.is_ascii() && !p.contains(['%', '_', '\\']), "{:?}", p);
        }
    }

    #[test]
    fn ids_and_cursors(s in text()) {
        for parsed in [
            CaseId::parse(&s).map(|i| i.to_string()),
            UserId::parse(&s).map(|i| i.to_string()),
            ShelterId::parse(&s).map(|i| i.to_string()),
            AlertId::parse(&s).map(|i| i.to_string()),
            ApiKeyId::parse(&s).map(|i| i.to_string()),
            SessionId::parse(&s).map(|i| i.to_string()),
            IdCursor::parse(&s),
            CodeCursor::parse(&s),
            audit::EntryCursor::parse(&s),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(parsed.is_ascii() && !parsed.is_empty());
        }
    }

    #[test]
    fn durations(s in text()) {
        if let Ok(d) = HumanDuration::parse(&s) {
            prop_assert_eq!(HumanDuration::parse(&d.to_string()).map(|p| p.0), Ok(d.0));
        }
    }

    #[test]
    fn words_of_the_vocabulary(s in text()) {
        for ok in [
            Stage::parse(&s).is_some(),
            Role::parse(&s).is_some(),
            RiskLevel::parse(&s).is_some(),
            Outcome::parse(&s).is_some(),
            Channel::parse(&s).is_some(),
            CheckinKind::parse(&s).is_some(),
            AlertState::parse(&s).is_some(),
            AlertKind::parse(&s).is_some(),
            Need::parse(&s).is_some(),
        ] {
            prop_assert!(!ok || s.is_ascii());
        }
    }

    #[test]
    fn times_and_dates(s in text()) {
        let _ = serde_json::from_value::<Timestamp>(Value::String(s.clone()));
        let _ = serde_json::from_value::<BirthDate>(Value::String(s.clone()));
        let _ = crate::routes::extract::if_match(
            &TestRequest::default()
                .insert_header(("If-Match", HeaderValue::from_bytes(s.as_bytes()).unwrap_or(HeaderValue::from_static("x"))))
                .to_http_request(),
        );
    }

    #[test]
    fn credentials_and_keys(s in text(), email in text()) {
        if let Some(key) = ApiKey::parse(&s) {
            prop_assert!(key.prefix().starts_with("crd_"));
        }
        let _ = RefreshToken::parse(&s);
        if password::check_strength(&s, password::Account::new(&email, &email)).is_ok() {
            prop_assert!(s.chars().count() >= 12);
        }
        let _ = normalise_email(&email);
        let _ = normalise_name(&s);
    }

    #[test]
    fn bearer_tokens(s in text(), bytes in proptest::collection::vec(any::<u8>(), 0..60)) {
        for value in [format!("Bearer {s}").into_bytes(), format!("bEaReR  {s} ").into_bytes(), s.clone().into_bytes(), bytes] {
            if let Some(token) = bearer(&value) {
                // What follows the scheme and its space, trimmed, as written.
                let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ').unwrap());
                prop_assert!(scheme.eq_ignore_ascii_case(b"bearer"));
                prop_assert_eq!(token, std::str::from_utf8(&rest[1..]).unwrap().trim());
            }
        }
        let (bearing, basic) = (format!("Bearer {s}"), format!("Basic {s}"));
        prop_assert_eq!(bearer(bearing.as_bytes()), Some(s.trim()));
        prop_assert_eq!(bearer(basic.as_bytes()), None);
    }

    #[test]
    fn client_addresses(forwarded in proptest::collection::vec(any::<u8>(), 0..60)) {
        let mut req = TestRequest::default().peer_addr("10.0.0.2:4000".parse().unwrap());
        if let Ok(value) = HeaderValue::from_bytes(&forwarded) {
            req = req.insert_header(("X-Forwarded-For", value));
        }
        let address = client::address(&req.to_http_request(), &["10.0.0.2".parse().unwrap()]);
        prop_assert!(address.parse::<std::net::IpAddr>().is_ok(), "{}", address);
    }

    #[test]
    fn case_bodies(object in fields(&[
        "risk_level", "household_size", "needs", "origin_region", "destination_country",
        "assigned_to", "to", "shelter_id", "outcome", "note", "override_capacity", "channel",
        "until", "reason",
    ])) {
        body::<cases::CreateCase>(&object, Validate::validate)?;
        body::<cases::UpdateCase>(&object, Validate::validate)?;
        body::<cases::TransitionBody>(&object, Validate::validate)?;
        body::<cases::ContactBody>(&object, Validate::validate)?;
        body::<cases::SnoozeBody>(&object, Validate::validate)?;
    }

    #[test]
    fn other_bodies(object in fields(&[
        "name", "city", "country", "capacity", "contact_email", "active", "email",
        "display_name", "role", "password", "label", "expires_at", "kind", "note",
        "legal_name", "alias", "date_of_birth", "contacts", "notes", "current_password",
        "new_password", "refresh_token",
    ])) {
        let now = now();
        body::<shelters::CreateShelter>(&object, Validate::validate)?;
        body::<shelters::UpdateShelter>(&object, Validate::validate)?;
        body::<users::CreateUser>(&object, Validate::validate)?;
        body::<users::UpdateUser>(&object, Validate::validate)?;
        body::<api_keys::CreateKey>(&object, |t| t.validate_with_args(&now))?;
        body::<partner::CapacityBody>(&object, Validate::validate)?;
        body::<partner::CheckinBody>(&object, Validate::validate)?;
        body::<personal::PersonalBody>(&object, |t| t.validate_with_args(&now))?;
        body::<alerts::AckBody>(&object, Validate::validate)?;
        body::<auth::LoginRequest>(&object, Validate::validate)?;
        body::<auth::RefreshRequest>(&object, Validate::validate)?;
        body::<auth::ChangePasswordRequest>(&object, Validate::validate)?;
    }

    #[test]
    fn raw_bodies(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let parsed = parse_body::<cases::CreateCase>(Bytes::from(bytes), &[], Validate::validate);
        if let Err(e) = parsed {
            check_refusal(&e, &[])?;
        }
    }

    #[test]
    fn list_queries(pairs in query(&[
        "stage", "shelter_id", "assigned_to", "risk_level", "stalled", "q", "limit", "cursor",
        "state", "case_id", "kind", "after",
    ])) {
        listing::<crate::models::case::CaseFilter, IdCursor>(&pairs)?;
        listing::<crate::models::alert::AlertFilter, IdCursor>(&pairs)?;
        listing::<audit::AuditFilter, audit::EntryCursor>(&pairs)?;
        listing::<admin::OutboxFilter, IdCursor>(&pairs)?;
        listing::<crate::routes::extract::NoFilters, CodeCursor>(&pairs)?;
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        if let Err(e) = parse_filters::<crate::models::case::CaseFilter>(&query) {
            let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
            check_refusal(&e, &values)?;
        }
    }

    #[test]
    fn idempotency_keys(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Some(hash) = crate::routes::idempotency::parse_key(&bytes) {
            prop_assert!(!bytes.is_empty() && bytes.len() <= 255);
            prop_assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}

#[test]
fn a_cyrillic_search_is_refused_not_a_panic() {
    let pairs = [("q".to_string(), "ЕВ".to_string())];
    let e = parse_listing::<crate::models::case::CaseFilter, IdCursor>(
        &form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish(),
    )
    .err()
    .expect("refused");
    assert_eq!(e.status_code().as_u16(), 422);
    assert_eq!(e.field_errors()[0].field, "q");
}
