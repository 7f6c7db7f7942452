//! Emails: what each kind says (text and HTML), for the outbox, and the
//! transports that deliver them. Emails never carry personal data, shelter
//! names or places, origins or destinations: only case codes, stages and
//! alerts in words, durations, a shelter's email label (chosen to travel
//! by email), the API calls to make and a link to the API's page at that
//! operation, which says how to make them (a link straight into the API
//! would only answer 401 in a browser).

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

/// Full links into the API and its docs page, from `[server] public_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    site: String,
    base: String,
}

/// A stage or an alert kind in words: `safe house`, `no contact`.
pub fn words(name: &str) -> String {
    name.replace('_', " ")
}

impl Links {
    pub fn new(public_url: &str) -> Self {
        let site = public_url.trim_end_matches('/').to_string();
        Self {
            base: format!("{site}/api/v1"),
            site,
        }
    }

    pub fn case(&self, id: &CaseId) -> String {
        format!("{}/cases/{id}", self.base)
    }

    /// A case by its code, as a person reads it.
    pub fn case_by_code(&self, code: &CaseCode) -> String {
        format!("{}/cases/{code}", self.base)
    }

    /// The stalled cases, the most overdue first.
    pub fn stalled_cases(&self) -> String {
        format!("{}/cases?stalled=true&sort=stall_at", self.base)
    }

    /// The open alerts.
    pub fn open_alerts(&self) -> String {
        format!("{}/alerts?state=open", self.base)
    }

    /// The API's docs page opened at one operation (`tag`, `operation_id`):
    /// a page that says how to make the call, where a link into the API
    /// itself would answer a browser with 401.
    pub fn docs(&self, tag: &str, operation: &str) -> String {
        format!("{}/docs#/{tag}/{operation}", self.site)
    }

    pub fn cases(&self) -> String {
        format!("{}/cases", self.base)
    }

    /// The audit log, where sign-in refusals are listed.
    pub fn audit(&self) -> String {
        format!("{}/audit", self.base)
    }

    /// The readiness check, which says whether writes fail for space.
    pub fn health(&self) -> String {
        format!("{}/readyz", self.site)
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
    /// The case in the API, by its code.
    pub case_url: &'a str,
    /// Where the alert is acknowledged.
    pub ack_url: &'a str,
    /// The API's page at the acknowledgement: how to make the call.
    pub docs_url: &'a str,
    pub stage: Stage,
    /// The shelter as emails name it (its email label), when placed.
    pub shelter: Option<&'a str>,
    /// The rule that fired, in words, e.g. "in transit for 6 days (limit 5 days)".
    pub rule: &'a str,
    pub kind: AlertKind,
}

impl AlertFacts<'_> {
    /// `no contact`, `reported missing`.
    fn kind_words(&self) -> String {
        words(self.kind.as_str())
    }

    /// `safe house at House 3`, `transit`.
    fn place(&self) -> String {
        match self.shelter {
            Some(shelter) => format!("{} at {shelter}", words(self.stage.as_str())),
            None => words(self.stage.as_str()),
        }
    }

    /// What to do, as calls a REST client makes, and where that is shown.
    fn how_to_act(&self, ack: &str) -> Vec<String> {
        vec![
            format!(
                "See the case in your REST client, signed in: GET {}",
                self.case_url
            ),
            format!("{ack}: POST {}", self.ack_url),
            format!(
                "How to make these calls, on the API's page: {}",
                self.docs_url
            ),
        ]
    }
}

pub fn alert_raised(f: &AlertFacts<'_>) -> Email {
    let subject = format!("[Corridor] {} needs attention: {}", f.code, f.kind_words());
    let mut lines = vec![
        format!(
            "Case {} ({}) raised an alert: {}.",
            f.code,
            f.place(),
            f.kind_words()
        ),
        format!("Rule: {}.", f.rule),
    ];
    lines.extend(f.how_to_act("Once someone is on it, acknowledge it"));
    render(subject, lines, f.docs_url)
}

pub fn alert_escalated(f: &AlertFacts<'_>, unacknowledged_for: Duration) -> Email {
    let subject = format!(
        "[Corridor] Escalation: {} unacknowledged for {}",
        f.code,
        humane(unacknowledged_for)
    );
    let mut lines = vec![
        format!(
            "The {} alert on case {} ({}) has not been acknowledged for {}.",
            f.kind_words(),
            f.code,
            f.place(),
            humane(unacknowledged_for)
        ),
        format!("Rule: {}.", f.rule),
    ];
    lines.extend(f.how_to_act("Acknowledge it"));
    render(subject, lines, f.docs_url)
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

/// To the admins, once per episode: writes failed for lack of disk space
/// from `since` (until `until`, if it is over). Nothing of any case.
pub fn storage_full(
    since: chrono::DateTime<chrono::Utc>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    link: &str,
) -> Email {
    let format = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let (subject, when) = match until {
        Some(until) => (
            "[Corridor] The server ran out of disk space".to_string(),
            format!(
                "From {} until {}, every change failed for lack of disk space: staff and partner shelters got 507 answers, and nothing was changed by them. Writing works again now.",
                format(since),
                format(until)
            ),
        ),
        None => (
            "[Corridor] The server is out of disk space".to_string(),
            format!(
                "Since {}, every change fails for lack of disk space: staff and partner shelters get 507 answers, and nothing is changed by them. Reads still work.",
                format(since)
            ),
        ),
    };
    let lines = vec![
        when,
        "Free space on the disk that holds the database (and, on SQLite, its -wal file); with [database] max_size_mib set, the cap counts too. Nothing written before was lost, and changes that failed can be made again.".to_string(),
        "The readiness check says storage: full while it lasts:".to_string(),
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
            case_url: "http://x/api/v1/cases/EV-7K3Q9D",
            ack_url: "http://x/api/v1/alerts/2/ack",
            docs_url: "http://x/docs#/alerts/alerts_acknowledge",
            stage: Stage::SafeHouse,
            shelter: Some("House 3"),
            rule: "no contact for 3 days (limit 48 hours)",
            kind: AlertKind::NoContact,
        };
        let email = alert_raised(&facts);
        for part in [&email.subject, &email.text, &email.html] {
            assert!(part.contains("EV-7K3Q9D"), "{part}");
        }
        assert!(
            email.text.contains("(safe house at House 3)"),
            "{}",
            email.text
        );
        assert!(email.text.contains("no contact") && email.text.contains("limit 48 hours"));
        assert!(email.text.contains("GET http://x/api/v1/cases/EV-7K3Q9D"));
        assert!(email
            .text
            .contains("acknowledge it: POST http://x/api/v1/alerts/2/ack"));
        // The one link to follow opens the docs page at the operation.
        assert!(email
            .html
            .contains("<a href=\"http://x/docs#/alerts/alerts_acknowledge\">"));
        assert!(
            !email.html.contains("<a href=\"http://x/api/"),
            "{}",
            email.html
        );
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
