//! The database: one connection type over SQLite and PostgreSQL chosen by the
//! URL scheme, the pool, the embedded migrations, and `run`, which takes
//! every query off the async workers.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
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

pub type Pool = r2d2::Pool<ConnectionManager>;
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

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                // The database holds people's data: owner-only from the first byte
                // (SQLite gives its -wal and -shm files the same mode).
                if let Some(parent) = path.parent() {
                    crate::files::create_private_dir(parent)?;
                }
                if !path.exists() {
                    match crate::files::create_private_file(path) {
                        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                            return Err(e.into())
                        }
                        _ => {}
                    }
                }
                let path = path
                    .to_str()
                    .ok_or_else(|| DbError::BadUrl("the SQLite path must be valid UTF-8".into()))?;
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS)?;
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

/// Connects once directly, so a wrong or unreachable URL fails at once with
/// the driver's message, then builds the pool.
pub fn connect_pool(url: &str, size: u32) -> Result<Pool, DbError> {
    let manager = ConnectionManager::new(DatabaseUrl::parse(url)?);
    let first = r2d2::ManageConnection::connect(&manager)?;
    drop(first);
    Ok(r2d2::Pool::builder()
        .max_size(size)
        // No background connecting: a connection made on r2d2's own threads
        // can still be in libpq when a short-lived process (the CLI) exits,
        // and libpq's exit-time cleanup then crashes it.
        .min_idle(Some(0))
        // Tested by each request's first statement instead (see `run`).
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(manager)?)
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

/// Runs `f` in a writing transaction. On SQLite the transaction starts
/// `IMMEDIATE`, taking the write lock up front (a deferred transaction that
/// reads and then writes can fail with SQLITE_BUSY that no timeout cures),
/// after queueing for it in the process.
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgresql(_) => conn.transaction(f),
        DbConnection::Sqlite(inner) => {
            let _writer = Writer::acquire();
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

    #[test]
    fn a_connection_whose_thread_panicked_mid_transaction_is_not_reused() {
        let dir = std::env::temp_dir().join(format!("corridor-db-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", dir.join("x.db").display());
        let pool = connect_pool(&url, 1).unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .unwrap();
        let shared = pool.clone();
        let panicked = std::thread::spawn(move || {
            let mut conn = shared.get().unwrap();
            let _ = write(&mut conn, |c| {
                c.batch_execute("INSERT INTO t VALUES (1)")?;
                if c.batch_execute("SELECT 1").is_ok() {
                    panic!("a bug, mid-transaction");
                }
                Ok::<_, diesel::result::Error>(())
            });
        })
        .join();
        assert!(panicked.is_err());
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

    fn t_count(conn: &mut DbConnection) -> diesel::QueryResult<i64> {
        use diesel::dsl::sql;
        use diesel::sql_types::BigInt;
        use diesel::RunQueryDsl;
        diesel::select(sql::<BigInt>("(SELECT COUNT(*) FROM t)")).get_result(conn)
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

    #[test]
    fn an_unreachable_postgres_fails_fast_with_the_real_error() {
        let started = std::time::Instant::now();
        let err = connect_pool("postgres://nobody@127.0.0.1:1/none", 1).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.to_string().contains("connect"), "{err}");
    }
}
