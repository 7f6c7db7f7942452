//! While the disk is full: whether space came back, and the admins' email
//! of each episode once it can be queued.

use chrono::{DateTime, Utc};

use crate::db::DbConnection;
use crate::domain::DomainError;
use crate::operations::{storage, Context};

/// Probes the disk while an episode runs, then queues the emails owed.
/// How many episodes were told.
pub fn check(
    conn: &mut DbConnection,
    context: &Context,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    storage::probe(conn, &context.storage, now);
    storage::tell_admins(conn, &context.storage, &context.links, now)
}
