//! How a process writes to a SQLite database: through one connection of its
//! own, with the file's checkpoints done beside it.
//!
//! SQLite takes one writer at a time. A connection drops its whole page
//! cache whenever another connection has written since its last
//! transaction, so writes spread over a pool's connections each start cold
//! and read their pages again; one connection that does every write keeps
//! its cache. A commit that crosses SQLite's checkpoint threshold copies the
//! write-ahead log into the database file and syncs both to disk, inside
//! the write lock, and every writer behind it waits: a thread beside the
//! writer does that copying instead, without taking the write lock, and the
//! writer's own threshold stays only as the bound on the log's size should
//! that thread fall behind. Durability is the same either way: a commit is
//! in the log when it returns, the log reaches the disk at a checkpoint
//! (`synchronous = NORMAL`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sqlite::SqliteConnection;

use super::DbConnection;

/// The writer's own checkpoint threshold, in log pages (SQLite's default is
/// 1,000): only reached when the background checkpoints fall behind, it
/// bounds the log at about 40 MB of 4 KiB pages.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// SQLite's page size, which Corridor never changes (the default since
/// SQLite 3.12).
const SQLITE_PAGE_SIZE: u64 = 4096;

/// How long the checkpoint thread lets commits gather before it copies
/// them: one checkpoint for a burst rather than one per commit.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(20);

/// The writer of one SQLite database, shared by every pool of the process
/// on that file (see [`SqliteWriter::for_path`]).
pub struct SqliteWriter {
    path: PathBuf,
    /// The connection, opened at the first write and again after one that
    /// broke it (a panic mid-transaction drops it with the transaction).
    conn: Mutex<Option<SqliteConnection>>,
    /// The most pages the file may hold (`PRAGMA max_page_count`), if capped.
    max_pages: Mutex<Option<u64>>,
    checkpoints: Arc<Checkpoints>,
}

/// What the writer tells its checkpoint thread.
#[derive(Default)]
struct Checkpoints {
    state: Mutex<CheckpointState>,
    wake: Condvar,
}

#[derive(Default)]
struct CheckpointState {
    /// Something was committed since the last checkpoint.
    dirty: bool,
    /// The writer is gone: the thread ends.
    closed: bool,
}

/// One writer per database file and process, so that two pools on the same
/// file (the server's and the audit appender's) do not take turns dropping
/// each other's cache.
static WRITERS: Mutex<Vec<Weak<SqliteWriter>>> = Mutex::new(Vec::new());

impl SqliteWriter {
    /// The writer of the database at `path`, made on first use.
    pub fn for_path(path: &Path) -> Arc<Self> {
        let mut writers = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
        writers.retain(|w| w.strong_count() > 0);
        if let Some(found) = writers
            .iter()
            .filter_map(Weak::upgrade)
            .find(|w| w.path == path)
        {
            return found;
        }
        let checkpoints = Arc::new(Checkpoints::default());
        let writer = Arc::new(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(None),
            max_pages: Mutex::new(None),
            checkpoints: checkpoints.clone(),
        });
        writers.push(Arc::downgrade(&writer));
        let path = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("corridor-checkpoint".into())
            .spawn(move || checkpoint_beside(&path, &checkpoints));
        if let Err(e) = spawned {
            // The writer's own threshold still checkpoints, inside the lock.
            log::warn!("no checkpoint thread ({e}); commits will checkpoint themselves");
        }
        writer
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer's
    /// connection. The caller holds the process's write lock.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<Error>,
    {
        let mut slot = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let conn = match slot.take() {
            Some(conn) => conn,
            None => self.open()?,
        };
        let mut conn = DbConnection::Sqlite(conn);
        // Should `f` panic, the connection is dropped here, unreturned, and
        // its transaction rolled back with it.
        let done = in_immediate_transaction(&mut conn, f);
        let DbConnection::Sqlite(mut conn) = conn else {
            unreachable!("the backend of a connection does not change")
        };
        if done.is_ok() {
            self.checkpoints.committed();
        }
        if !diesel::r2d2::R2D2Connection::is_broken(&mut conn) {
            *slot = Some(conn);
        }
        done
    }

    /// Caps the file at `bytes` (rounded down to whole pages): a write
    /// that would grow it past fails as on a full disk (SQLITE_FULL).
    /// Writes through this writer only: every write of a pool's requests
    /// and jobs.
    pub fn cap(&self, bytes: u64) -> Result<(), Error> {
        let pages = (bytes / SQLITE_PAGE_SIZE).max(1);
        *self.max_pages.lock().unwrap_or_else(|e| e.into_inner()) = Some(pages);
        let mut slot = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            Some(conn) => conn.batch_execute(&format!("PRAGMA max_page_count = {pages}")),
            None => Ok(()),
        }
    }

    fn open(&self) -> Result<SqliteConnection, Error> {
        let max_pages = *self.max_pages.lock().unwrap_or_else(|e| e.into_inner());
        let opened = super::open_sqlite(&self.path).and_then(|mut conn| {
            conn.batch_execute(&format!(
                "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}"
            ))?;
            if let Some(pages) = max_pages {
                conn.batch_execute(&format!("PRAGMA max_page_count = {pages}"))?;
            }
            Ok(conn)
        });
        opened.map_err(|e| {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, Box::new(e.to_string()))
        })
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        let mut state = self
            .checkpoints
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        state.closed = true;
        self.checkpoints.wake.notify_all();
    }
}

impl Checkpoints {
    fn committed(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.dirty {
            state.dirty = true;
            self.wake.notify_all();
        }
    }

    /// Waits for a commit to checkpoint; false once the writer is gone.
    fn wait(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self
            .wake
            .wait_while(state, |s| !s.dirty && !s.closed)
            .unwrap_or_else(|e| e.into_inner());
        state.dirty = false;
        !state.closed
    }
}

/// The checkpoint thread: after each burst of commits, copies the log into
/// the database file without waiting for readers or the writer (`PASSIVE`).
fn checkpoint_beside(path: &Path, checkpoints: &Checkpoints) {
    let mut conn: Option<SqliteConnection> = None;
    while checkpoints.wait() {
        std::thread::sleep(CHECKPOINT_PAUSE);
        if let Err(e) = checkpoint(path, &mut conn) {
            // SQLite's messages name no data; the writer's threshold still holds.
            log::warn!("background checkpoint failed: {e}");
            conn = None;
        }
    }
}

fn checkpoint(path: &Path, conn: &mut Option<SqliteConnection>) -> Result<(), super::DbError> {
    let conn = match conn {
        Some(conn) => conn,
        None => conn.insert(super::open_sqlite(path)?),
    };
    Ok(conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?)
}

/// Runs `f` between `BEGIN IMMEDIATE` and `COMMIT` (or `ROLLBACK`, when it
/// fails): the write lock taken up front, since a deferred transaction that
/// reads and then writes can fail with SQLITE_BUSY that no timeout cures.
pub(super) fn in_immediate_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<Error>,
{
    let DbConnection::Sqlite(inner) = conn else {
        unreachable!("only SQLite transactions begin IMMEDIATE")
    };
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(inner) = conn else {
        unreachable!("the backend of a connection does not change")
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(inner)?;
            Ok(value)
        }
        Err(e) => {
            // The rollback error, if any, is less telling than the cause.
            let _ = AnsiTransactionManager::rollback_transaction(inner);
            Err(e)
        }
    }
}
