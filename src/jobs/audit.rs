//! Group commit for the audit entries of reads. A read of personal data
//! owes one durable audit entry before its data may leave; committing each
//! alone would hold the chain head through one WAL flush per read. Reads
//! hand their entry to this appender instead, which appends every entry
//! waiting in one transaction (one lock of the head, one flush) and then
//! answers each read. No entry, no answer: a read whose entry could not be
//! appended fails.

use std::sync::{mpsc, Arc};

use tokio::sync::oneshot;

use crate::crypto::vault::Keys;
use crate::db::{self, Pool};
use crate::domain::DomainError;
use crate::models::audit::{AuditEntry, NewAuditEntry};

/// The most entries one transaction appends.
const BATCH: usize = 256;

type Reply = oneshot::Sender<Result<(), Failed>>;

/// Why a batch was not appended.
#[derive(Clone)]
enum Failed {
    /// No room on the disk: the read answers 507, as a write would.
    StorageFull,
    Other(String),
}

/// A handle to the appender thread; cheap to clone. The thread ends when
/// the last handle is dropped.
#[derive(Clone)]
pub struct AuditAppender {
    queue: mpsc::Sender<(NewAuditEntry, Reply)>,
}

impl AuditAppender {
    /// Starts the appender on a thread of its own, with a connection of its
    /// own to `database_url` (made on first need), so that it never queues
    /// behind requests for one.
    pub fn start(database_url: &str, keys: Arc<Keys>) -> Self {
        let (queue, waiting) = mpsc::channel::<(NewAuditEntry, Reply)>();
        let url = database_url.to_string();
        std::thread::Builder::new()
            .name("audit-appender".into())
            .spawn(move || {
                let mut pool = None;
                while let Ok(first) = waiting.recv() {
                    let mut batch = vec![first];
                    batch.extend(waiting.try_iter().take(BATCH - 1));
                    append(&mut pool, &url, &keys, batch);
                }
            })
            .expect("the audit appender thread starts");
        Self { queue }
    }

    /// Appends `entry` durably; returns once it is committed.
    pub async fn append(&self, entry: NewAuditEntry) -> Result<(), DomainError> {
        let (reply, committed) = oneshot::channel();
        let stopped = || DomainError::Internal("the audit appender stopped".into());
        self.queue.send((entry, reply)).map_err(|_| stopped())?;
        committed
            .await
            .map_err(|_| stopped())?
            .map_err(|failed| match failed {
                Failed::StorageFull => DomainError::StorageFull,
                Failed::Other(e) => DomainError::Internal(e),
            })
    }
}

/// Appends one batch in one transaction and answers every entry of it.
fn append(pool: &mut Option<Pool>, url: &str, keys: &Keys, batch: Vec<(NewAuditEntry, Reply)>) {
    let (entries, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    if pool.is_none() {
        *pool = db::connect_pool(url, 1).ok();
    }
    let result = pool
        .as_ref()
        .ok_or_else(|| Failed::Other("audit appender: cannot connect to the database".into()))
        .and_then(|pool| {
            let _writer = pool.writing();
            let mut conn = pool
                .get()
                .map_err(|e| Failed::Other(format!("audit appender: {e}")))?;
            db::write(&mut conn, |conn| {
                AuditEntry::append_all(conn, keys.audit(), entries)
            })
            .map(drop)
            .map_err(|e| match crate::domain::error::is_storage_full(&e) {
                true => Failed::StorageFull,
                false => Failed::Other(format!("audit appender: {e}")),
            })
        });
    match &result {
        // Logged once an episode, by the watch the read's 507 reaches.
        Err(Failed::StorageFull) => {}
        Err(Failed::Other(e)) => {
            log::error!("{e}");
            // Its connection may have lost the database: the next batch makes a new one.
            *pool = None;
        }
        Ok(()) => {}
    }
    for reply in replies {
        let _ = reply.send(result.clone());
    }
}
