//! Emails: what each kind says (text and HTML), for the outbox, and the
//! transports that deliver them. Emails never carry personal data, shelter
//! names or places, origins or destinations: only case codes, stages,
//! durations and links.

pub mod transport;

use chrono::Duration;

use crate::domain::stall::humane;
use crate::domain::{AlertId, AlertKind, CaseCode, CaseId, Stage};
pub use crate::models::outbox::Email;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Full links into the API, from `[server] public_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(public_url: &str) -> Self {
        Self {
            base: format!("{}/api/v1", public_url.trim_end_matches('/')),
        }
    }

    pub fn case(&self, id: &CaseId) -> String {
        format!("{}/cases/{id}", self.base)
    }

    pub fn cases(&self) -> String {
        format!("{}/cases", self.base)
    }

    /// The audit log, where sign-in refusals are listed.
    pub fn audit(&self) -> String {
        format!("{}/audit", self.base)
    }

    /// Where an alert is acknowledged (with POST).
    pub fn alert_ack(&self, id: &AlertId) -> String {
        format!("{}/alerts/{id}/ack", self.base)
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
    pub code: &'a CaseCode,
    pub case_url: &'a str,
    /// Where the alert is acknowledged.
    pub ack_url: &'a str,
    pub stage: Stage,
    /// The rule that fired, in words, e.g. "in transit for 6 days (limit 5 days)".
    pub rule: &'a str,
    pub kind: AlertKind,
}

impl AlertFacts<'_> {
    /// `no contact`, `reported missing`.
    fn kind_words(&self) -> String {
        self.kind.as_str().replace('_', " ")
    }
}

pub fn alert_raised(f: &AlertFacts<'_>) -> Email {
    let subject = format!("[Corridor] {} needs attention: {}", f.code, f.kind_words());
    let lines = vec![
        format!(
            "Case {} ({}) raised an alert: {}.",
            f.code,
            f.stage,
            f.kind_words()
        ),
        format!("Rule: {}.", f.rule),
        format!("Once someone is on it, acknowledge it: POST {}", f.ack_url),
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
            f.kind_words(),
            f.code,
            f.stage,
            humane(unacknowledged_for)
        ),
        format!("Rule: {}.", f.rule),
        format!("Acknowledge it: POST {}", f.ack_url),
    ];
    render(subject, lines, f.case_url)
}

/// To the admins, once per episode: a staff account is locked everywhere
/// after failed sign-ins from many addresses. Names the account and how
/// many addresses, never which.
pub fn account_locked(account: &str, failures: usize, addresses: usize, link: &str) -> Email {
    let subject = format!("[Corridor] Sign-ins to {account} are locked everywhere");
    let lines = vec![
        format!(
            "{failures} sign-ins to the account {account} failed within {} minutes, from {addresses} client address(es); every sign-in to it is refused until they age.",
            crate::models::login_failure::WINDOW_MINUTES
        ),
        "If that was not its owner, someone is guessing the password: tell the owner, and keep the account locked or change its password (corridor users set-password). corridor users unlock lifts the lock at once.".to_string(),
        "The refusals are in the audit log (login.locked).".to_string(),
    ];
    render(subject, lines, link)
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
    fn an_alert_email_names_code_stage_rule_and_link() {
        let code = CaseCode::parse("EV-7K3Q9D").unwrap();
        let facts = AlertFacts {
            code: &code,
            case_url: "http://x/api/v1/cases/1",
            ack_url: "http://x/api/v1/alerts/2/ack",
            stage: Stage::Transit,
            rule: "no contact for 3 days (limit 48 hours)",
            kind: AlertKind::NoContact,
        };
        let email = alert_raised(&facts);
        for part in [&email.subject, &email.text, &email.html] {
            assert!(part.contains("EV-7K3Q9D"), "{part}");
        }
        assert!(email.text.contains("transit") && email.text.contains("limit 48 hours"));
        assert!(email.text.contains("http://x/api/v1/cases/1"));
        assert!(email
            .text
            .contains("acknowledge it: POST http://x/api/v1/alerts/2/ack"));
        assert!(email.html.starts_with("<!doctype html>"));
    }

    #[test]
    fn links_are_full_urls_whatever_the_trailing_slash() {
        let id = CaseId::parse("01936d3a-0000-7000-8000-00000000000a").unwrap();
        for base in ["https://corridor.example", "https://corridor.example/"] {
            assert_eq!(
                Links::new(base).case(&id),
                "https://corridor.example/api/v1/cases/01936d3a-0000-7000-8000-00000000000a"
            );
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
