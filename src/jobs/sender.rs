//! The outbox sender: delivers due emails and retries failures with
//! exponential back-off and jitter (30 s doubling to 1 h), giving up after
//! 72 hours. A message is marked sent only after the transport accepted it;
//! its Message-ID comes from its outbox row, so a retry after an uncertain
//! send (a timeout after the data went out) carries the same id and the
//! receiving side can recognise it.

use chrono::{Duration, NaiveDateTime};
use lettre::message::Mailbox;

use crate::clock::SharedClock;
use crate::db::{self, Pool};
use crate::email::transport::{Outgoing, Transport};
use crate::error::AppError;
use crate::models::outbox::OutboxMessage;

/// How long a claimed message is kept from other senders while this one
/// sends it: well over the SMTP timeout, so a message is never sent by two.
const LEASE_SECONDS: i64 = 180;
/// After this long undelivered, a message is dead.
pub const GIVE_UP_HOURS: i64 = 72;

pub struct Sender {
    pub pool: Pool,
    pub clock: SharedClock,
    pub transport: Transport,
    pub from: Mailbox,
    /// The right-hand side of Message-IDs.
    pub domain: String,
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
}

/// The wait before attempt `attempts + 1`: 30 s doubling per failure, at most
/// an hour, spread by ±20 % (`jitter` in 0..1) so many failures do not retry
/// in step.
pub fn backoff(attempts: i32, jitter: f64) -> Duration {
    let exponent = attempts.clamp(1, 16) - 1;
    let base = (30i64 << exponent).min(3600) as f64;
    Duration::milliseconds((base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0)) * 1000.0) as i64)
}

fn jitter() -> f64 {
    f64::from(u16::from_le_bytes(crate::crypto::random_bytes::<2>())) / f64::from(u16::MAX)
}

impl Sender {
    /// The sender `[email]` describes: SMTP, or files in the data folder.
    pub fn from_config(
        config: &crate::config::Config,
        pool: Pool,
        clock: SharedClock,
    ) -> Result<Self, String> {
        let from: Mailbox = config
            .email
            .from
            .parse()
            .map_err(|e| format!("[email] from: {e}"))?;
        Ok(Self {
            pool,
            clock,
            transport: Transport::from_config(&config.email.smtp_url, &config.server.data_dir)?,
            domain: from.email.domain().to_string(),
            from,
        })
    }

    /// Delivers what is due now, one message at a time (each claimed just
    /// before it is sent), until none is due or `stop` is asked: the
    /// message in flight is finished, none is left claimed.
    pub async fn deliver_due(&self, stop: &super::Stop) -> Result<Delivery, AppError> {
        let mut delivery = Delivery::default();
        while !stop.asked() {
            let now = self.clock.now().naive_utc();
            let claimed = db::run(&self.pool, move |conn| {
                Ok(OutboxMessage::claim_next(
                    conn,
                    now,
                    Duration::seconds(LEASE_SECONDS),
                )?)
            })
            .await?;
            let Some(message) = claimed else { break };
            let outgoing = Outgoing {
                message_id: format!("<{}@{}>", message.id, self.domain),
                from: &self.from,
                to: &message.recipient,
                subject: &message.subject,
                text: &message.text_body,
                html: &message.html_body,
            };
            let result = self.transport.send(&outgoing).await;
            let now = self.clock.now().naive_utc();
            match result {
                Ok(()) => {
                    delivery.sent += 1;
                    let id = message.id.clone();
                    db::run(&self.pool, move |conn| {
                        Ok(OutboxMessage::mark_sent(conn, &id, now)?)
                    })
                    .await?;
                }
                Err(error) => {
                    let dead = self.record_failure(&message, error, now).await?;
                    delivery.failed += 1;
                    delivery.dead += usize::from(dead);
                }
            }
        }
        Ok(delivery)
    }

    /// Schedules the retry, or gives up; the log names the message, never
    /// its recipient or content.
    async fn record_failure(
        &self,
        message: &OutboxMessage,
        error: String,
        now: NaiveDateTime,
    ) -> Result<bool, AppError> {
        let attempts = message.attempts + 1;
        let dead = now - message.created_at >= Duration::hours(GIVE_UP_HOURS);
        let retry_at = now + backoff(attempts, jitter());
        if dead {
            log::error!("outbox message {} is dead: undelivered after {attempts} attempts in {GIVE_UP_HOURS} hours", message.id);
        } else {
            log::warn!(
                "outbox message {}: attempt {attempts} failed; next try at {}",
                message.id,
                retry_at.and_utc().to_rfc3339()
            );
        }
        let id = message.id.clone();
        db::run(&self.pool, move |conn| {
            Ok(OutboxMessage::mark_failed(
                conn,
                &id,
                &error,
                retry_at,
                dead.then_some(now),
            )?)
        })
        .await?;
        Ok(dead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_thirty_seconds_to_an_hour() {
        let mid = |n| backoff(n, 0.5).num_seconds();
        assert_eq!([mid(1), mid(2), mid(3), mid(4)], [30, 60, 120, 240]);
        assert_eq!(mid(8), 3600);
        assert_eq!(mid(40), 3600);
    }

    #[test]
    fn jitter_spreads_by_a_fifth_either_way() {
        assert_eq!(backoff(1, 0.0).num_seconds(), 24);
        assert_eq!(backoff(1, 1.0).num_seconds(), 36);
        assert!((0.0..=1.0).contains(&jitter()));
    }
}
