//! What every handler and extractor can reach: the pool, the configuration,
//! the clock, and what operations run under. Built once by `startup`.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{self, DbConnection, Pool};
use crate::domain::DomainError;
use crate::error::AppError;
use crate::jobs::audit::AuditAppender;
use crate::metrics::Metrics;
use crate::models::event::Actor;
use crate::operations::{Audited, Change, Context};

pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub context: Arc<Context>,
    /// Appends the audit entries of reads, in batches.
    pub audit: AuditAppender,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(config: Config, pool: Pool, clock: SharedClock, context: Arc<Context>) -> Self {
        Self {
            audit: AuditAppender::start(&config.database.url, context.keys.clone()),
            metrics: Arc::new(Metrics::new()),
            config: Arc::new(config),
            pool,
            clock,
            context,
        }
    }

    /// Now, as the database stores times (UTC, microseconds).
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now().naive_utc()
    }

    /// Runs one operation in a writing transaction, by `actor`, now, with
    /// the version the client last saw (`If-Match`).
    pub async fn change<T, F>(
        &self,
        actor: Actor,
        if_match: Option<i32>,
        operation: F,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &Change<'_>) -> Result<T, DomainError> + Send + 'static,
    {
        let now = self.now();
        let context = self.context.clone();
        db::run(&self.pool, move |conn| {
            let change = Change {
                if_match,
                ..context.change(&actor, now)
            };
            Ok(db::write(conn, |conn| operation(conn, &change))?)
        })
        .await
    }

    /// Runs a read of personal data by `actor`, and appends the audit entry
    /// it owes before its value leaves.
    pub async fn read_audited<T, F>(&self, actor: Actor, read: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &Change<'_>) -> Result<Audited<T>, DomainError>
            + Send
            + 'static,
    {
        let now = self.now();
        let context = self.context.clone();
        let audited = db::run(&self.pool, move |conn| {
            let change = context.change(&actor, now);
            Ok(read(conn, &change)?)
        })
        .await?;
        self.audit.append(audited.entry).await?;
        Ok(audited.value)
    }
}
