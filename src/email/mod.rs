//! Emails: what each kind says (text and HTML), and the transports that
//! deliver them. Emails never carry personal data, shelter names or places,
//! origins or destinations: only case codes, stages, durations and links.

pub mod transport;

use chrono::Duration;

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `90 minutes`, `5 hours`, `3 days`: the largest whole unit.
pub fn humane(d: Duration) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if d.num_days() >= 3 {
        plural(d.num_days(), "day")
    } else if d.num_hours() >= 2 {
        plural(d.num_hours(), "hour")
    } else {
        plural(d.num_minutes().max(0), "minute")
    }
}

/// Wraps lines of text as a minimal HTML document.
fn html(title: &str, lines: &[String], link: Option<&str>) -> String {
    let mut body = format!("<h2>{}</h2>\n", escape(title));
    for line in lines {
        body.push_str(&format!("<p>{}</p>\n", escape(line)));
    }
    if let Some(link) = link {
        body.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(link)));
    }
    format!("<!doctype html>\n<html><body>\n{body}</body></html>\n")
}

/// What an alert email says about its case.
pub struct AlertFacts<'a> {
    pub code: &'a str,
    pub case_url: &'a str,
    pub stage: &'a str,
    /// The rule that fired, in words, e.g. "in transit for 6 days (limit 5 days)".
    pub rule: &'a str,
    pub kind: &'a str,
}

pub fn alert_raised(f: &AlertFacts<'_>) -> Email {
    let subject = format!(
        "[Corridor] {} needs attention: {}",
        f.code,
        f.kind.replace('_', " ")
    );
    let lines = vec![
        format!(
            "Case {} ({}) raised an alert: {}.",
            f.code,
            f.stage,
            f.kind.replace('_', " ")
        ),
        format!("Rule: {}.", f.rule),
        "Acknowledge it with POST /api/v1/alerts/{id}/ack once someone is on it.".to_string(),
    ];
    render(subject, lines, f.case_url)
}

pub fn alert_escalated(f: &AlertFacts<'_>, unacknowledged_for: Duration) -> Email {
    let subject = format!(
        "[Corridor] Escalation: {} unacknowledged for {}",
        f.code,
        humane(unacknowledged_for)
    );
    let lines = vec![
        format!(
            "The {} alert on case {} ({}) has not been acknowledged for {}.",
            f.kind.replace('_', " "),
            f.code,
            f.stage,
            humane(unacknowledged_for)
        ),
        format!("Rule: {}.", f.rule),
    ];
    render(subject, lines, f.case_url)
}

fn render(subject: String, lines: Vec<String>, link: &str) -> Email {
    let mut text = lines.join("\n\n");
    text.push_str(&format!("\n\n{link}\n"));
    Email {
        html: html(&subject, &lines, Some(link)),
        subject,
        text,
    }
}

/// The weekly status email, from lines already free of personal data.
pub fn digest(week: &str, sections: &[(String, Vec<String>)], link: &str) -> Email {
    let subject = format!("[Corridor] Weekly status {week}");
    let mut text = format!("Corridor weekly status, {week}\n");
    let mut body = format!("<h2>{}</h2>\n", escape(&subject));
    for (title, lines) in sections {
        text.push_str(&format!("\n{title}\n"));
        body.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape(title)));
        if lines.is_empty() {
            text.push_str("  (none)\n");
            body.push_str("<li>(none)</li>\n");
        }
        for line in lines {
            text.push_str(&format!("  {line}\n"));
            body.push_str(&format!("<li>{}</li>\n", escape(line)));
        }
        body.push_str("</ul>\n");
    }
    text.push_str(&format!("\n{link}\n"));
    body.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(link)));
    Email {
        subject,
        text,
        html: format!("<!doctype html>\n<html><body>\n{body}</body></html>\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(humane(Duration::days(6)), "6 days");
        assert_eq!(humane(Duration::hours(49)), "49 hours");
        assert_eq!(humane(Duration::minutes(90)), "90 minutes");
        assert_eq!(humane(Duration::minutes(1)), "1 minute");
    }

    #[test]
    fn an_alert_email_names_code_stage_rule_and_link() {
        let facts = AlertFacts {
            code: "EV-7K3Q9D",
            case_url: "http://x/api/v1/cases/1",
            stage: "transit",
            rule: "no contact for 3 days (limit 48 hours)",
            kind: "no_contact",
        };
        let email = alert_raised(&facts);
        for part in [&email.subject, &email.text, &email.html] {
            assert!(part.contains("EV-7K3Q9D"), "{part}");
        }
        assert!(email.text.contains("transit") && email.text.contains("limit 48 hours"));
        assert!(email.text.contains("http://x/api/v1/cases/1"));
        assert!(email.html.starts_with("<!doctype html>"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
