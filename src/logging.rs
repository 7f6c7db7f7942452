//! The log: env_logger with one of two formats (`[log] format`). Text is a
//! readable line; JSON is one object a line with `time`, `level`, `target`,
//! `message`, the `request_id` of the request being served (when there is
//! one) and the fields a line carries (the request log's `method`, `route`,
//! `status`, `duration_ms`, `principal_kind`, `principal_id`). Nothing here
//! adds a body, a token or a query string: lines carry only what their
//! callers put in.

use std::io::Write;

use chrono::{SecondsFormat, Utc};
use log::kv::{Key, Value, VisitSource};
use serde_json::{Map, Value as Json};

/// Collects a record's fields as JSON.
struct Fields<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let json = if let Some(n) = value.to_u64() {
            Json::from(n)
        } else if let Some(n) = value.to_i64() {
            Json::from(n)
        } else if let Some(n) = value.to_f64() {
            Json::from(n)
        } else if let Some(b) = value.to_bool() {
            Json::from(b)
        } else {
            Json::from(value.to_string())
        };
        self.0.insert(key.as_str().to_string(), json);
        Ok(())
    }
}

/// One record as a JSON line's object.
pub fn json_line(record: &log::Record<'_>, request_id: Option<&str>) -> Map<String, Json> {
    let mut line = Map::new();
    line.insert(
        "time".into(),
        Utc::now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
            .into(),
    );
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("message".into(), record.args().to_string().into());
    if let Some(id) = request_id {
        line.insert("request_id".into(), id.into());
    }
    let _ = record.key_values().visit(&mut Fields(&mut line));
    line
}

/// Starts the log: `RUST_LOG` filters (default `info`), `json` picks the format.
pub fn init(json: bool) {
    let mut builder = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    );
    if json {
        builder.format(|buf, record| {
            let request = crate::panics::current_request();
            let line = json_line(record, request.as_deref());
            writeln!(buf, "{}", Json::Object(line))
        });
    } else {
        builder.format(|buf, record| {
            let time = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
            writeln!(
                buf,
                "[{time} {} {}] {}",
                record.level(),
                record.target(),
                record.args()
            )
        });
    }
    builder.init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_carries_the_request_and_its_fields() {
        let args = format_args!("request");
        let fields: &[(&str, Value<'_>)] = &[
            ("method", Value::from("GET")),
            ("route", Value::from("/api/v1/cases/{id}")),
            ("status", Value::from(200u16)),
            ("duration_ms", Value::from(1.5f64)),
        ];
        let record = log::Record::builder()
            .args(args)
            .level(log::Level::Info)
            .target("corridor::request")
            .key_values(&fields)
            .build();
        let line = json_line(&record, Some("5eed5eed5eed5eed"));
        assert_eq!(line["request_id"], "5eed5eed5eed5eed");
        assert_eq!(line["route"], "/api/v1/cases/{id}");
        assert_eq!(line["status"], 200);
        assert_eq!(line["duration_ms"], 1.5);
        assert_eq!(line["level"], "INFO");
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
    }
}
