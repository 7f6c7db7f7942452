//! Free text from requests, tidied the same way everywhere.

use serde::{Deserialize, Deserializer};

/// Optional text: trimmed, and empty means absent.
pub fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// For validator: one line of text (a label shown in emails).
/// A personal value as sent (a document number, a booking reference),
/// trimmed, and wiped from memory when dropped.
pub fn sealed_input(text: Option<String>) -> Option<zeroize::Zeroizing<String>> {
    text.map(|t| zeroize::Zeroizing::new(t.trim().to_string()))
}

pub fn one_line(text: &str) -> Result<(), validator::ValidationError> {
    if text.chars().any(char::is_control) {
        Err(validator::ValidationError::new("one_line")
            .with_message("must be one line, without tabs or line breaks".into()))
    } else {
        Ok(())
    }
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

/// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line
/// break, and prefixed with `'` when it begins like a spreadsheet formula
/// (`=`, `+`, `-`, `@`, tab, carriage return), so it is never run as one.
pub fn csv_cell(text: &str) -> String {
    let mut cell = String::with_capacity(text.len() + 2);
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        cell.push('\'');
    }
    cell.push_str(text);
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// One CSV line, CRLF-terminated.
pub fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = cells
        .into_iter()
        .map(csv_cell)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for start in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                csv_cell(start).trim_start_matches('"').starts_with('\''),
                "{start}"
            );
        }
        assert_eq!(csv_line(["a", "b,c"]), "a,\"b,c\"\r\n");
    }
}
