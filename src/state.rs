//! What every handler and extractor can reach: the pool, the configuration,
//! the clock, and the rules operations run under. Built once by `startup`.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{self, DbConnection, Pool};
use crate::domain::stall::StallRules;
use crate::domain::DomainError;
use crate::email::Links;
use crate::error::AppError;
use crate::models::event::Actor;
use crate::operations::Change;

pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub rules: StallRules,
    pub links: Links,
}

impl AppState {
    pub fn new(config: Config, pool: Pool, clock: SharedClock) -> Self {
        Self {
            rules: StallRules::from(&config.stall),
            links: Links::new(&config.server.public_url),
            config: Arc::new(config),
            pool,
            clock,
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
        let (rules, links) = (self.rules, self.links.clone());
        db::run(&self.pool, move |conn| {
            let change = Change {
                actor: &actor,
                now,
                rules: &rules,
                links: &links,
                if_match,
            };
            Ok(db::write(conn, |conn| operation(conn, &change))?)
        })
        .await
    }
}
