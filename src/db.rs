//! The database: one connection type over SQLite and PostgreSQL chosen by the
//! URL scheme, the pool, the embedded migrations, and `run`, which takes
//! every query off the async workers.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// `MultiBackend` (which the derive brings in) is the backend queries are
/// written for: each is rendered for the backend of the connection at hand.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

mod writer;
pub use writer::SqliteWriter;

/// The pool of connections, and on SQLite the one connection that writes
/// (see [`writer`]).
#[derive(Clone)]
pub struct Pool {
    connections: r2d2::Pool<ConnectionManager>,
    writer: Option<Arc<SqliteWriter>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_size", &self.connections.max_size())
            .field("sqlite_writer", &self.writer.is_some())
            .finish()
    }
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<ConnectionManager>;

    fn deref(&self) -> &Self::Target {
        &self.connections
    }
}

pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Which backend a URL names, and what to hand the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot create the database folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Pool(#[from] r2d2::Error),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() || rest.contains(":memory:") {
                return Err(DbError::BadUrl(
                    "a SQLite URL needs a file path, e.g. sqlite://data/corridor.db \
                     (in-memory databases are not shared between connections)"
                        .into(),
                ));
            }
            Ok(Self::Sqlite(PathBuf::from(rest)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_string()))
        } else {
            Err(DbError::BadUrl(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// Picks the backend from the URL and reports the driver's own error: diesel's
/// stock manager for a MultiConnection tries each backend in turn and hides why.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

/// The busy timeout comes first: switching to WAL takes a lock, and without
/// the timeout a connection opened while another writes fails at once with
/// "database is locked".
///
/// `secure_delete` zeroes freed pages, so a shredded case's sealed data and
/// wrapped key do not linger in the file.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;";

/// A pooled connection's page cache, in KiB (SQLite's default is 2,000 for
/// every connection). Each reader keeps a cache of its own, and drops all
/// of it whenever another connection has written since its last
/// transaction; under the bench's load the caches of the readers and the
/// writer held 15 of a serving process's 27 MB of heap (heaptrack). Half a
/// megabyte still holds the interior pages every lookup walks and the
/// leaves of a few hundred cases; a page past it is read from the operating
/// system's cache. The writer keeps SQLite's default: every write goes
/// through it, and no one else's commit empties its cache.
const SQLITE_READER_CACHE: &str = "PRAGMA cache_size = -512;";

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = open_sqlite(path)?;
                conn.batch_execute(SQLITE_READER_CACHE)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")?;
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        Ok(conn.batch_execute("SELECT 1")?)
    }

    /// A connection whose thread panicked, or that is still inside a
    /// transaction (a panic mid-transaction, a failed rollback), is closed
    /// rather than handed to the next caller: on SQLite it would hold the
    /// write lock for good.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        DISCARD.get() || std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Opens the SQLite database at `path`, creating it (owner-only) if absent.
fn open_sqlite(path: &std::path::Path) -> Result<SqliteConnection, DbError> {
    // The database holds people's data: owner-only from the first byte
    // (SQLite gives its -wal and -shm files the same mode).
    if let Some(parent) = path.parent() {
        crate::files::create_private_dir(parent)?;
    }
    if !path.exists() {
        match crate::files::create_private_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e.into()),
            _ => {}
        }
    }
    let path = path
        .to_str()
        .ok_or_else(|| DbError::BadUrl("the SQLite path must be valid UTF-8".into()))?;
    let mut conn = SqliteConnection::establish(path)?;
    conn.batch_execute(SQLITE_PRAGMAS)?;
    Ok(conn)
}

/// Connects once directly, so a wrong or unreachable URL fails at once with
/// the driver's message, then builds the pool.
pub fn connect_pool(url: &str, size: u32) -> Result<Pool, DbError> {
    let url = DatabaseUrl::parse(url)?;
    let manager = ConnectionManager::new(url.clone());
    let first = r2d2::ManageConnection::connect(&manager)?;
    drop(first);
    let writer = match url {
        // By the file's own path, so that two spellings of it share one.
        DatabaseUrl::Sqlite(path) => Some(SqliteWriter::for_path(
            &std::fs::canonicalize(&path).unwrap_or(path),
        )),
        DatabaseUrl::Postgres(_) => None,
    };
    let connections = r2d2::Pool::builder()
        .max_size(size)
        // No background connecting: a connection made on r2d2's own threads
        // can still be in libpq when a short-lived process (the CLI) exits,
        // and libpq's exit-time cleanup then crashes it.
        .min_idle(Some(0))
        // Tested by each request's first statement instead (see `run`).
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(manager)?;
    Ok(Pool {
        connections,
        writer,
    })
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut DbConnection) -> Result<usize, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// The newest migration applied to the database: its schema version.
pub fn schema_version(conn: &mut DbConnection) -> Result<Option<String>, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.applied_migrations(),
        DbConnection::Postgresql(c) => c.applied_migrations(),
    };
    let applied = applied.map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).max())
}

pub fn has_pending_migrations(conn: &mut DbConnection) -> Result<bool, DbError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    pending.map_err(|e| DbError::Migration(e.to_string()))
}

/// How long requests wait for a pooled connection (see `metrics`).
pub static POOL_WAIT: std::sync::LazyLock<prometheus::Histogram> = std::sync::LazyLock::new(|| {
    let opts = prometheus::HistogramOpts::new(
        "corridor_db_pool_wait_seconds",
        "Time spent waiting for a pooled database connection",
    )
    .buckets(vec![0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]);
    prometheus::Histogram::with_opts(opts).unwrap_or_else(|e| panic!("metric definition: {e}"))
});

/// Runs `f` with a pooled connection on the blocking thread pool.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    let request = crate::panics::current_request();
    let gate = current_gate();
    actix_web::web::block(move || {
        let _scope = crate::panics::RequestScope::enter(request);
        let _writer = pool.writing();
        let mut conn = match &gate {
            // The session check is the request's first statement, and the
            // test that the connection still answers.
            Some(gate) => checked_out(&pool, |conn| gate.pass(conn))?,
            None => checked_out(&pool, |conn| Ok(conn.batch_execute("SELECT 1")?))?,
        };
        let done = f(&mut conn);
        if done.as_ref().is_err_and(is_outage) {
            discard(conn);
        }
        done
    })
    .await
    .map_err(|_| AppError::internal("blocking task failed"))?
}

/// A pooled connection on which `first` succeeded. The pool does not test
/// connections itself (a round trip per checkout); `first` does: a
/// connection that fails it because the database went away is closed, and
/// another taken, so the pool replaces what a restart broke, at no cost
/// when nothing did.
fn checked_out(
    pool: &Pool,
    mut first: impl FnMut(&mut DbConnection) -> Result<(), AppError>,
) -> Result<PooledConnection, AppError> {
    let mut tries = pool.max_size() + 1;
    loop {
        let waited = std::time::Instant::now();
        let mut conn = pool.get()?;
        POOL_WAIT.observe(waited.elapsed().as_secs_f64());
        match first(&mut conn) {
            Ok(()) => return Ok(conn),
            Err(e) if is_outage(&e) => {
                discard(conn);
                tries -= 1;
                if tries == 0 {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `e` is the database being unreachable (a 503), not a refusal.
fn is_outage(e: &AppError) -> bool {
    actix_web::ResponseError::status_code(e) == actix_web::http::StatusCode::SERVICE_UNAVAILABLE
}

thread_local! {
    /// Set just before a connection goes back to the pool that must be
    /// closed instead (see [`discard`]).
    static DISCARD: Cell<bool> = const { Cell::new(false) };
}

/// Closes `conn` instead of returning it to the pool: it lost the database.
pub fn discard(conn: PooledConnection) {
    DISCARD.set(true);
    drop(conn);
    DISCARD.set(false);
}

/// A check a request must pass before any database work done for it: the
/// session check of a signed-in user, which authentication leaves here
/// rather than spend a blocking hop and a pooled connection of its own.
/// The first [`run`] of the request passes the gate on its connection,
/// before its own work, so the check and the work cost one hop; a request
/// whose handler touches no database is checked after it, before its
/// answer leaves (see `telemetry`). A failed check fails every later one.
#[derive(Default)]
pub struct Gate {
    state: Mutex<GateState>,
}

pub type GateCheck =
    std::sync::Arc<dyn Fn(&mut DbConnection) -> Result<(), AppError> + Send + Sync>;

#[derive(Default)]
enum GateState {
    /// Nothing to check (no credentials, or checked another way).
    #[default]
    Open,
    Pending(GateCheck),
    Passed,
    /// The status of the refusal: 401, 403, or 503 when the database is down.
    Failed(actix_web::http::StatusCode),
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requires `check` before the request's first database work.
    pub fn require(&self, check: GateCheck) {
        *self.lock() = GateState::Pending(check);
    }

    /// Runs the pending check, if any, on `conn`.
    pub fn pass(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        let check = match &*self.lock() {
            GateState::Open | GateState::Passed => return Ok(()),
            GateState::Failed(status) => return Err(refusal(*status)),
            GateState::Pending(check) => check.clone(),
        };
        let outcome = check(conn);
        match &outcome {
            Ok(()) => *self.lock() = GateState::Passed,
            // The database went away: the check is still to be made.
            Err(e) if is_outage(e) => {}
            Err(e) => *self.lock() = GateState::Failed(actix_web::ResponseError::status_code(e)),
        }
        outcome
    }

    /// After the handler: a check still pending runs now (on a connection
    /// of its own); the refusal, if the check failed, replaces the answer.
    pub async fn settle(self: std::sync::Arc<Self>, pool: &Pool) -> Result<(), AppError> {
        let pending = matches!(&*self.lock(), GateState::Pending(_));
        if pending {
            let gate = self.clone();
            let pool = pool.clone();
            actix_web::web::block(move || checked_out(&pool, |conn| gate.pass(conn)).map(drop))
                .await
                .map_err(|_| AppError::internal("blocking task failed"))??;
        }
        match &*self.lock() {
            GateState::Failed(status) => Err(refusal(*status)),
            _ => Ok(()),
        }
    }
}

/// The answer to a request whose gate failed with `status`.
fn refusal(status: actix_web::http::StatusCode) -> AppError {
    match status.as_u16() {
        401 => AppError::unauthorized(),
        403 => AppError::forbidden(),
        503 => AppError::unavailable(),
        _ => AppError::internal(format!("the session check failed with {status}")),
    }
}

thread_local! {
    static GATE: std::cell::RefCell<Option<std::sync::Arc<Gate>>> = const { std::cell::RefCell::new(None) };
}

fn current_gate() -> Option<std::sync::Arc<Gate>> {
    GATE.with_borrow(|gate| gate.clone())
}

/// While alive, database work on this thread passes `gate` first; the gate
/// before is restored on drop. Entered for each poll of a request.
pub struct GateScope {
    previous: Option<std::sync::Arc<Gate>>,
}

impl GateScope {
    pub fn enter(gate: Option<std::sync::Arc<Gate>>) -> Self {
        Self {
            previous: GATE.replace(gate),
        }
    }
}

impl Drop for GateScope {
    fn drop(&mut self) {
        GATE.set(self.previous.take());
    }
}

/// SQLite takes one writer at a time, and writers that meet inside SQLite
/// wait in its busy handler, which sleeps (up to 100 ms a time) whatever
/// the work. They queue here instead, before `BEGIN IMMEDIATE`. One lock
/// for the process: a deployment has one SQLite database per process.
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread holds the writer lock already.
    static WRITING: Cell<bool> = const { Cell::new(false) };
    /// The writer of the pool this thread works for (see [`Pool::writing`]).
    static POOL_WRITER: std::cell::RefCell<Option<Arc<SqliteWriter>>> =
        const { std::cell::RefCell::new(None) };
}

/// Holds the SQLite writer lock for this thread until dropped.
struct Writer(Option<MutexGuard<'static, ()>>);

impl Writer {
    fn acquire() -> Self {
        if WRITING.get() {
            return Self(None);
        }
        let guard = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
        WRITING.set(true);
        Self(Some(guard))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.0.is_some() {
            WRITING.set(false);
        }
    }
}

impl Pool {
    /// `[database] max_size_mib`: caps a SQLite file for this pool's
    /// writes (0: no cap). Nothing on PostgreSQL (the configuration refuses
    /// a cap there).
    pub fn cap_size(&self, mib: u32) -> Result<(), DbError> {
        match (&self.writer, mib) {
            (Some(writer), 1..) => Ok(writer.cap(u64::from(mib) * 1024 * 1024)?),
            _ => Ok(()),
        }
    }

    /// Until the scope returned is dropped, [`write`] on this thread writes
    /// through this pool's writer connection rather than the one it is
    /// handed. [`run`] sets it for every request and job.
    pub fn writing(&self) -> WriterScope {
        WriterScope(POOL_WRITER.replace(self.writer.clone()))
    }
}

/// Restores the writer of the enclosing scope when dropped.
pub struct WriterScope(Option<Arc<SqliteWriter>>);

impl Drop for WriterScope {
    fn drop(&mut self) {
        POOL_WRITER.set(self.0.take());
    }
}

/// Runs `f` in a writing transaction. On SQLite the transaction starts
/// `IMMEDIATE`, taking the write lock up front (a deferred transaction that
/// reads and then writes can fail with SQLITE_BUSY that no timeout cures),
/// after queueing for it in the process; inside a pool's scope (see
/// [`Pool::writing`]) it runs on the pool's writer connection, not `conn`.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgresql(_) => conn.transaction(f),
        DbConnection::Sqlite(_) => {
            let writer = Writer::acquire();
            match POOL_WRITER.with_borrow(Option::clone) {
                // Not when nested: the outer write's connection is `conn`.
                Some(own) if writer.0.is_some() => own.write(f),
                _ => writer::in_immediate_transaction(conn, f),
            }
        }
    }
}

/// Runs `$body` with `$c` bound to the driver's own connection
/// (`PgConnection` or `SqliteConnection`): the body is written once and
/// compiled for each. For the queries every request makes: through the
/// `MultiConnection` wrapper diesel renders a statement's whole SQL text at
/// each execution (identifiers quoted anew), cached statement or not.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use native;

/// Reads the one row `$query` selects and locks it until the writing
/// transaction ends, so two writers cannot both act on what they read:
/// `FOR UPDATE` on PostgreSQL; on SQLite the transaction's `BEGIN IMMEDIATE`
/// holds the database's write lock already. No such row is `NotFound`.
macro_rules! get_locked {
    ($conn:expr, $query:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql(pg) => $query.for_update().get_result(pg),
            $crate::db::DbConnection::Sqlite(lite) => $query.get_result(lite),
        }
    };
}
pub(crate) use get_locked;

/// Takes the advisory lock `key` for this connection's session, if no other
/// session holds it: on PostgreSQL, so that a job runs on one instance at a
/// time. SQLite serves one process, which has it always.
fn try_lock_job(conn: &mut DbConnection, key: i64) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    match conn {
        DbConnection::Sqlite(_) => Ok(true),
        DbConnection::Postgresql(pg) => {
            use diesel::RunQueryDsl;
            let taken: Taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS taken")
                .bind::<diesel::sql_types::BigInt, _>(key)
                .get_result(pg)?;
            Ok(taken.taken)
        }
    }
}

/// Runs `job` while holding the advisory lock `key`, unless another
/// instance holds it (then `None`: that instance is doing the work). The
/// lock is released whatever `job` returns.
pub fn with_job_lock<T, E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    key: i64,
    job: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<Option<T>, E> {
    if !try_lock_job(conn, key)? {
        return Ok(None);
    }
    let done = job(conn);
    unlock_job(conn, key)?;
    done.map(Some)
}

/// Releases the advisory lock `key` taken by [`try_lock_job`].
fn unlock_job(conn: &mut DbConnection, key: i64) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Postgresql(pg) => diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(pg)
            .map(drop),
    }
}

/// Runs `insert` unless it would break a unique constraint: true when it
/// inserted. It runs in a savepoint, so a concurrent duplicate does not
/// abort the caller's PostgreSQL transaction.
pub fn insert_once(
    conn: &mut DbConnection,
    insert: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<usize>,
) -> diesel::QueryResult<bool> {
    match conn.transaction(insert) {
        Ok(n) => Ok(n > 0),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Is this error a unique-constraint violation?
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// After a shred, on SQLite: copies the write-ahead log into the database
/// file and empties it (`wal_checkpoint(TRUNCATE)`). The log keeps earlier
/// versions of every page it holds, the shredded bytes among them, until it
/// is reset; in the file `secure_delete` has zeroed them already. Waits for
/// the writers of this process, up to the busy timeout for readers, and up
/// to two seconds for a checkpoint under way; false when it could not
/// finish (the next shred tries again).
/// PostgreSQL: nothing to do here (see README on what shredding means there).
pub fn scrub_log(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    let DbConnection::Sqlite(lite) = conn else {
        return Ok(true);
    };
    let _writer = Writer::acquire();
    use diesel::RunQueryDsl;
    // Another checkpoint (the one beside the writer) makes this one give up
    // at once, without the busy handler: try again for a second or two.
    for _ in 0..100 {
        let done: Checkpoint =
            diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result(lite)?;
        if done.busy == 0 {
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_chooses_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/corridor.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/corridor.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        for bad in [
            "host=localhost dbname=x",
            "mysql://x",
            "sqlite://",
            "sqlite::memory:",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// A fresh SQLite database in its own folder, with a table `t`, and a
    /// pool of `size` on it.
    fn scratch(size: u32) -> (PathBuf, Pool) {
        let dir = std::env::temp_dir().join(format!("corridor-db-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", dir.join("x.db").display());
        let pool = connect_pool(&url, size).unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .unwrap();
        (dir, pool)
    }

    /// SQLite is built as `.cargo/config.toml` says: its query planner
    /// stability guarantee on, and in multi-thread mode (diesel never shares
    /// a connection between threads, so the per-call mutex is only a cost).
    #[test]
    fn the_bundled_sqlite_is_built_with_our_flags() {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let (dir, pool) = scratch(1);
        let mut conn = pool.get().unwrap();
        let DbConnection::Sqlite(lite) = &mut *conn else {
            unreachable!("scratch databases are SQLite")
        };
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(lite)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        for wanted in ["ENABLE_QPSG", "THREADSAFE=2"] {
            assert!(
                options.iter().any(|o| o == wanted),
                "{wanted} in {options:?}"
            );
        }
        drop(conn);
        drop(pool);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A thread that inserts into `t` and panics mid-transaction, within
    /// the pool's writing scope or not; returns once it has.
    fn panic_mid_write(pool: &Pool, in_scope: bool) {
        let shared = pool.clone();
        let panicked = std::thread::spawn(move || {
            let _scope = in_scope.then(|| shared.writing());
            let mut conn = shared.get().unwrap();
            let _ = write(&mut conn, |c| {
                c.batch_execute("INSERT INTO t VALUES (2)")?;
                if c.batch_execute("SELECT 1").is_ok() {
                    panic!("a bug, mid-transaction");
                }
                Ok::<_, diesel::result::Error>(())
            });
        })
        .join();
        assert!(panicked.is_err());
    }

    #[test]
    fn a_connection_whose_thread_panicked_mid_transaction_is_not_reused() {
        let (dir, pool) = scratch(1);
        panic_mid_write(&pool, false);
        // The pool of one hands out a new connection: the write lock is free
        // and the half-done transaction was rolled back with the old one.
        let mut conn = pool.get().unwrap();
        let written = write(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (2)")?;
            t_count(c)
        });
        assert_eq!(written.unwrap(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The one integer `query` (a parenthesized `SELECT`) reads.
    fn integer(conn: &mut DbConnection, query: &str) -> diesel::QueryResult<i64> {
        use diesel::dsl::sql;
        use diesel::sql_types::BigInt;
        use diesel::RunQueryDsl;
        diesel::select(sql::<BigInt>(query)).get_result(conn)
    }

    fn t_count(conn: &mut DbConnection) -> diesel::QueryResult<i64> {
        integer(conn, "(SELECT COUNT(*) FROM t)")
    }

    #[test]
    fn a_sqlite_connection_opened_during_a_write_waits_instead_of_failing() {
        let dir = std::env::temp_dir().join(format!("corridor-db-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", dir.join("x.db").display());
        let pool = connect_pool(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let writer = std::thread::spawn(move || {
            write(&mut conn, |c| {
                c.batch_execute("CREATE TABLE t (x INTEGER)")?;
                std::thread::sleep(Duration::from_millis(300));
                Ok::<_, diesel::result::Error>(())
            })
        });
        std::thread::sleep(Duration::from_millis(100));
        let second = connect_pool(&url, 2);
        writer.join().unwrap().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode(dir.join("x.db")),
                0o600,
                "the database file is private"
            );
            assert_eq!(mode(dir.join("x.db-wal")), 0o600);
            assert_eq!(mode(dir.clone()), 0o700);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn connection_id(conn: &mut DbConnection) -> diesel::QueryResult<i64> {
        // A temporary table is the connection's own: a second connection
        // does not see the first one's.
        conn.batch_execute("CREATE TEMP TABLE IF NOT EXISTS me (id INTEGER)")?;
        conn.batch_execute(&format!(
            "INSERT INTO me SELECT {} WHERE NOT EXISTS (SELECT 1 FROM me)",
            uuid::Uuid::new_v4().as_u64_pair().0 >> 1
        ))?;
        integer(conn, "(SELECT id FROM me)")
    }

    #[test]
    fn a_pools_writes_go_through_one_connection_shared_with_other_pools_on_the_file() {
        let (dir, pool) = scratch(2);
        let url = format!("sqlite://{}", dir.join("x.db").display());
        let other = connect_pool(&url, 1).unwrap();
        let (mut a, mut b) = (pool.get().unwrap(), pool.get().unwrap());
        let _scope = pool.writing();
        let first = write(&mut a, connection_id).unwrap();
        let second = write(&mut b, connection_id).unwrap();
        let _other_scope = other.writing();
        let third = write(&mut other.get().unwrap(), |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            connection_id(c)
        })
        .unwrap();
        assert_eq!(first, second, "one writer connection for the pool");
        assert_eq!(
            first, third,
            "and for every pool of the process on the file"
        );
        assert_ne!(first, connection_id(&mut a).unwrap(), "not a pooled one");
        // Committed: another connection sees the row.
        assert_eq!(t_count(&mut b).unwrap(), 1);
        drop(_other_scope);
        drop(_scope);
        // Outside a pool's scope, a write runs on the connection it is handed.
        let own = connection_id(&mut a).unwrap();
        assert_eq!(write(&mut a, connection_id).unwrap(), own);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_writer_survives_a_failed_write_and_a_panicking_one() {
        let (dir, pool) = scratch(2);
        let mut conn = pool.get().unwrap();
        let _scope = pool.writing();
        let failed = write(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            c.batch_execute("INSERT INTO no_such_table VALUES (1)")
        });
        assert!(failed.is_err());
        let before = write(&mut conn, connection_id).unwrap();
        panic_mid_write(&pool, true);
        // Both rolled back; the panic cost the writer its connection, and
        // the next write opens another instead of waiting on a lost lock.
        let after = write(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (3)")?;
            connection_id(c)
        })
        .unwrap();
        assert_ne!(before, after);
        assert_eq!(t_count(&mut conn).unwrap(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn cache_size(conn: &mut DbConnection) -> diesel::QueryResult<i64> {
        integer(conn, "(SELECT cache_size FROM pragma_cache_size())")
    }

    #[test]
    fn readers_keep_a_small_page_cache_and_the_writer_sqlites_default() {
        let (dir, pool) = scratch(2);
        let mut conn = pool.get().unwrap();
        assert_eq!(cache_size(&mut conn).unwrap(), -512);
        let _scope = pool.writing();
        // SQLite's own default, -2000 (KiB), on the connection every write uses.
        assert_eq!(write(&mut conn, cache_size).unwrap(), -2000);
        drop(conn);
        drop(pool);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_writers_commits_are_checkpointed_beside_it() {
        let (dir, pool) = scratch(2);
        let file = dir.join("x.db");
        let size = || std::fs::metadata(&file).unwrap().len();
        let mut conn = pool.get().unwrap();
        // The table's creation went through the pool's own connection,
        // which checkpoints at commit once the log is long enough; this
        // one is not: the file grows only by a checkpoint.
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        let before = size();
        let _scope = pool.writing();
        write(&mut conn, |c| {
            c.batch_execute(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000) \
                 INSERT INTO t SELECT x FROM n",
            )
        })
        .unwrap();
        // No commit of the writer's reaches its own threshold: the file
        // grows only when the thread beside it copies the log.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while size() == before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(size() > before, "the log was copied into the file");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unreachable_postgres_fails_fast_with_the_real_error() {
        let started = std::time::Instant::now();
        let err = connect_pool("postgres://nobody@127.0.0.1:1/none", 1).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.to_string().contains("connect"), "{err}");
    }
}
