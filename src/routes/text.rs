//! Free text from requests, tidied the same way everywhere.

use serde::{Deserialize, Deserializer};

/// Optional text: trimmed, and empty means absent.
pub fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// For validator: text that is not only whitespace.
pub fn not_blank(text: &str) -> Result<(), validator::ValidationError> {
    if text.trim().is_empty() {
        Err(validator::ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What text from outside may not hold: control characters but tab, line
/// feed and carriage return. NUL in particular, which PostgreSQL refuses
/// and which cuts C strings short.
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

pub const CONTROL_MESSAGE: &str = "must not contain control characters";

/// Takes refused control characters out of `text`; whether there were any.
pub fn strip_controls(text: &mut String) -> bool {
    let before = text.len();
    text.retain(|c| !is_refused_control(c));
    text.len() != before
}
