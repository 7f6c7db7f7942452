//! Delivery: SMTP (STARTTLS or implicit TLS, credentials in the URL) or, with
//! no SMTP configured, `.eml` files in the data folder. Only the outbox
//! sender calls these; requests never wait on SMTP.

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// One outbox message as the transport needs it.
pub struct Outgoing<'a> {
    /// Stable per outbox row, so a retry after an uncertain send carries the same id.
    pub message_id: String,
    pub from: &'a Mailbox,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

impl Transport {
    /// From `[email] smtp_url`: empty means files in `data_dir/outbox`.
    pub fn from_config(smtp_url: &str, data_dir: &std::path::Path) -> Result<Self, String> {
        if smtp_url.trim().is_empty() {
            let dir = data_dir.join("outbox");
            crate::files::create_private_dir(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            return Ok(Self::Files(dir));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.trim())
            .map_err(|e| format!("[email] smtp_url is not usable: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Self::Smtp(transport))
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(_) => "SMTP".to_string(),
            Self::Files(dir) => format!("files in {}", dir.display()),
        }
    }

    pub async fn send(&self, mail: &Outgoing<'_>) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("bad recipient address: {e}"))?;
        let message = Message::builder()
            .from(mail.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(Some(mail.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                mail.text.to_string(),
                mail.html.to_string(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match self {
            Self::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Self::Files(dir) => AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }
}
