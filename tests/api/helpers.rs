//! `spawn_app(backend)`: a fresh database (a SQLite file, or a PostgreSQL
//! database created for the test and dropped after it), migrations, the real
//! server on port 0, a test clock; plus helpers to sign in and make things.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use actix_web::dev::ServerHandle;
use actix_web::http::Method;
use chrono::{DateTime, Utc};
use corridor::auth::AuthState;
use corridor::clock::TestClock;
use corridor::config::Config;
use corridor::crypto::vault::{Keys, MacKey, MasterKey};
use corridor::db;
use corridor::domain::Role;
use corridor::models::user::{create_user, NewUser};
use corridor::operations::vault::KeyFileCheck::Warn;
use corridor::operations::{vault, Context};
use corridor::startup::build_server;
use corridor::state::AppState;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_EMAIL: &str = "admin@corridor.test";
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests. The PostgreSQL tests are built only
/// when it was named at build time (see `build.rs`); otherwise they are
/// ignored, so a test that runs always has it.
pub fn postgres_url() -> String {
    match std::env::var("CORRIDOR_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "the PostgreSQL tests were built with CORRIDOR_TEST_POSTGRES_URL set, \
             and run without it: set it again"
        ),
    }
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

impl TestDb {
    pub fn create(backend: Backend, dir: &std::path::Path) -> Self {
        match backend {
            Backend::Sqlite => {
                let path = dir.join("corridor.db");
                Self {
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::File(dir.to_path_buf()),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url();
                let name = format!("corridor_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin_url)
                    .expect("connect to the test PostgreSQL server");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the test database");
                let base = admin_url.split('?').next().unwrap_or(&admin_url);
                let (server, _) = base
                    .rsplit_once('/')
                    .expect("a PostgreSQL URL with a database name");
                Self {
                    url: format!("{server}/{name}"),
                    cleanup: Cleanup::Database { admin_url, name },
                }
            }
        }
    }
}

impl TestDb {
    /// Runs SQL on the PostgreSQL server as its administrator (for outage tests).
    /// `{db}` in the SQL stands for this test's database name.
    pub fn postgres_admin(&self, sql: &str) {
        let Cleanup::Database { admin_url, name } = &self.cleanup else {
            panic!("only PostgreSQL test databases have an administrator");
        };
        let mut conn = diesel::PgConnection::establish(admin_url).unwrap();
        conn.batch_execute(&sql.replace("{db}", name)).unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                    let _ =
                        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// Creates a user with `PASSWORD` the way the API and the CLI do; returns its id.
fn insert_user(
    conn: &mut db::DbConnection,
    email: &str,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> String {
    let new = NewUser {
        email,
        display_name: name,
        role,
        password_hash: password_hash(),
    };
    create_user(conn, new, now.naive_utc())
        .unwrap()
        .id
        .to_string()
}

/// One argon2 hash of `PASSWORD`, shared by every test user: hashing is slow on purpose.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| corridor::auth::password::hash(PASSWORD).unwrap())
        .clone()
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub address: String,
    pub client: awc::Client,
    pub clock: Arc<TestClock>,
    /// What operations run under, the opened vault included.
    pub context: Arc<Context>,
    pub config: Config,
    pub db: TestDb,
    pub admin_id: String,
    server: Option<RunningServer>,
}

/// A server on a thread and an actix system of its own, so that it can be
/// stopped, and its connections closed, before the test's database goes.
struct RunningServer {
    handle: ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

impl RunningServer {
    fn start(config: &Config, clock: Arc<TestClock>, context: Arc<Context>) -> (String, Self) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let config = config.clone();
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let pool = db::connect_pool(&config.database.url, config.database.pool_size).unwrap();
            pool.cap_size(config.database.max_size_mib).unwrap();
            let auth = AuthState::new(&config).unwrap();
            let state = AppState::new(config, pool, clock, context);
            actix_web::rt::System::new().block_on(async move {
                let server = build_server(state, auth, listener).unwrap();
                sender.send(server.handle()).unwrap();
                server.await.unwrap();
            });
        });
        let handle = receiver.recv().expect("the test server started");
        (address, Self { handle, thread })
    }

    /// Stops the server and waits until its workers, and their pools, are gone.
    fn stop(self) {
        let handle = self.handle;
        std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)))
            .join()
            .unwrap();
        self.thread.join().unwrap();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

pub struct Options {
    pub migrate: bool,
    pub jwt_secret: String,
    pub key_rate_limit: u32,
    pub bad_keys_per_minute: u32,
    /// Any other change to the configuration.
    pub configure: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            migrate: true,
            jwt_secret: JWT_SECRET.into(),
            key_rate_limit: 600,
            bad_keys_per_minute: 30,
            configure: |_| {},
        }
    }
}

/// An app on an empty database: not migrated, no users.
pub async fn spawn_unmigrated_app(backend: Backend) -> TestApp {
    let options = Options {
        migrate: false,
        ..Options::default()
    };
    spawn_app_with(backend, options).await
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: Options) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = std::env::temp_dir().join(format!("corridor-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = TestDb::create(backend, &dir);
    let mut config = Config::from_sources(None, |_| None).unwrap();
    config.database.url = db.url.clone();
    config.database.pool_size = 4;
    config.server.data_dir = dir.join("data");
    config.server.workers = 2;
    config.auth.jwt_secret = options.jwt_secret;
    config.partner.rate_limit_per_minute = options.key_rate_limit;
    config.partner.bad_keys_per_minute = options.bad_keys_per_minute;
    (options.configure)(&mut config);
    let clock = TestClock::new(start_time());
    let (admin_id, keys) = {
        let (url, migrate, config) = (db.url.clone(), options.migrate, config.clone());
        actix_web::web::block(move || {
            let pool = db::connect_pool(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            if !migrate {
                // No vault to open: keys that seal nothing stored.
                return (
                    String::new(),
                    Keys::new(MasterKey::generate(), MacKey::generate()),
                );
            }
            db::migrate(&mut conn).unwrap();
            let (keys, _) =
                vault::open_configured(&mut conn, &config, start_time().naive_utc(), Warn).unwrap();
            let admin = insert_user(
                &mut conn,
                ADMIN_EMAIL,
                "Test Admin",
                Role::Admin,
                start_time(),
            );
            (admin, keys)
        })
        .await
        .unwrap()
    };
    let context = Arc::new(Context::new(&config, Arc::new(keys)));
    let (address, server) = RunningServer::start(&config, clock.clone(), context.clone());
    TestApp {
        address,
        client: awc::Client::builder()
            // Drop idle connections before the server's 5 s keep-alive closes them.
            .connector(awc::Connector::new().conn_keep_alive(std::time::Duration::from_secs(2)))
            .timeout(std::time::Duration::from_secs(30))
            .finish(),
        clock,
        context,
        config,
        db,
        admin_id,
        server: Some(server),
    }
}

/// What a test reads from a response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key} in {}", self.text))
            .to_string()
    }

    /// Asserts a problem+json answer with this status and type.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(
            self.body["type"],
            format!("/problems/{kind}"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(
            self.body["title"].is_string() && self.body["detail"].is_string(),
            "{}",
            self.text
        );
    }

    /// The fields named in a 422's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request under construction.
pub struct Call {
    request: awc::ClientRequest,
}

impl Call {
    pub fn token(mut self, token: &str) -> Self {
        self.request = self
            .request
            .insert_header(("Authorization", format!("Bearer {token}")));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self
            .request
            .insert_header((name.to_string(), value.to_string()));
        self
    }

    pub async fn send(self) -> Reply {
        read(self.request.send().await.expect("request failed")).await
    }

    pub async fn json(self, body: Value) -> Reply {
        read(self.request.send_json(&body).await.expect("request failed")).await
    }

    /// Sends raw bytes with the given content type.
    pub async fn raw(self, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        let request = self
            .request
            .insert_header(("Content-Type", content_type.to_string()));
        read(
            request
                .send_body(body.into())
                .await
                .expect("request failed"),
        )
        .await
    }
}

async fn read(
    mut res: awc::ClientResponse<
        impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>
            + Unpin,
    >,
) -> Reply {
    let bytes = res
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .expect("read the body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

impl TestApp {
    pub fn call(&self, method: Method, path: &str) -> Call {
        let url = if path.starts_with('/') {
            format!("{}{path}", self.address)
        } else {
            format!("{}/api/v1/{path}", self.address)
        };
        Call {
            request: self.client.request(method, url),
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call {
        self.call(Method::POST, path)
    }

    /// A POST of `body` by `token` with an `Idempotency-Key`.
    pub async fn post_with_key(&self, token: &str, path: &str, key: &str, body: Value) -> Reply {
        self.post(path)
            .token(token)
            .header("Idempotency-Key", key)
            .json(body)
            .await
    }

    /// Shreds the personal data of `case` (an id or a code): 204.
    pub async fn shred(&self, token: &str, case: &str) {
        let shred = self
            .delete(&format!("cases/{case}/personal"))
            .token(token)
            .send()
            .await;
        assert_eq!(shred.status, 204, "{}", shred.text);
    }

    pub fn patch(&self, path: &str) -> Call {
        self.call(Method::PATCH, path)
    }

    pub fn put(&self, path: &str) -> Call {
        self.call(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> Call {
        self.call(Method::DELETE, path)
    }

    /// Runs SQL on the test's database as Corridor's own connection does.
    pub async fn sql(&self, sql: &str) {
        self.try_sql(sql).await.unwrap();
    }

    /// As [`TestApp::sql`], for SQL that may fail.
    pub async fn try_sql(&self, sql: &str) -> Result<(), String> {
        let (pool, sql) = (self.pool().await, sql.to_string());
        db::run(&pool, move |conn| {
            use diesel::connection::SimpleConnection;
            Ok(conn.batch_execute(&sql)?)
        })
        .await
        .map_err(|e| e.to_string())
    }

    /// One round of the storage check (probe, then the admins' emails owed):
    /// how many episodes were told.
    pub async fn check_storage(&self) -> Result<usize, String> {
        let pool = self.pool().await;
        let (now, context) = (self.clock_now(), self.context.clone());
        db::run(&pool, move |conn| {
            Ok(corridor::jobs::storage::check(conn, &context, now)?)
        })
        .await
        .map_err(|e| e.to_string())
    }

    /// Rows of a query, each as text: `SELECT <expression> AS t FROM …`.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        let (pool, sql) = (self.pool().await, sql.to_string());
        db::run(&pool, move |conn| {
            use diesel::RunQueryDsl;
            let rows: Vec<Row> = diesel::sql_query(sql).load(conn)?;
            Ok(rows.into_iter().map(|r| r.t).collect())
        })
        .await
        .unwrap()
    }

    /// One retention sweep at the app's clock; how many cases it shredded.
    pub async fn sweep(&self) -> usize {
        let pool = self.pool().await;
        let keep = self.config.retention.closed_personal_data.0;
        let (now, context) = (self.clock_now().naive_utc(), self.context.clone());
        db::run(&pool, move |conn| {
            Ok(corridor::jobs::retention::sweep(conn, now, keep, &context)?)
        })
        .await
        .unwrap()
    }

    /// The audit log, oldest first, as an admin reads it.
    pub async fn audit_log(&self) -> Vec<Value> {
        let token = self.admin_token().await;
        let reply = self.get("audit?limit=500").token(&token).send().await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["items"].as_array().unwrap().clone()
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("auth/login")
            .json(json!({ "email": email, "password": password }))
            .await
    }

    /// Signs in and returns the access token.
    pub async fn token_for(&self, email: &str) -> String {
        let reply = self.login(email, PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.str("access_token")
    }

    pub async fn admin_token(&self) -> String {
        self.token_for(ADMIN_EMAIL).await
    }

    /// Creates a user with `role` straight in the database (the API path is
    /// tested on its own) and returns (id, email, access token).
    pub async fn user(&self, role: Role) -> (String, String, String) {
        let email = format!(
            "{}-{}@corridor.test",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        let url = self.db.url.clone();
        let now = self.clock_now();
        let address = email.clone();
        let id = actix_web::web::block(move || {
            let pool = db::connect_pool(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            insert_user(&mut conn, &address, "Test User", role, now)
        })
        .await
        .unwrap();
        let token = self.token_for(&email).await;
        (id, email, token)
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use corridor::clock::Clock;
        self.clock.now()
    }

    pub async fn create_shelter(&self, token: &str, capacity: i64) -> String {
        let reply = self
            .post("shelters")
            .token(token)
            .json(json!({ "name": "Safe house", "city": "Moscow", "country": "RU", "capacity": capacity }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.str("id")
    }

    pub async fn occupancy(&self, token: &str, shelter: &str) -> i64 {
        let reply = self
            .get(&format!("shelters/{shelter}"))
            .token(token)
            .send()
            .await;
        reply.body["occupancy"]
            .as_i64()
            .unwrap_or_else(|| panic!("no occupancy in {}", reply.text))
    }

    /// Issues an API key for a shelter; returns (key id, key).
    pub async fn issue_key(&self, admin: &str, shelter: &str) -> (String, String) {
        let reply = self
            .post(&format!("shelters/{shelter}/api-keys"))
            .token(admin)
            .json(json!({ "label": "front desk" }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        (reply.str("id"), reply.str("key"))
    }

    /// Everything the database holds about API keys, as text, plus (on
    /// SQLite) the raw bytes of the database files: to look for secrets.
    pub async fn stored_key_material(&self) -> String {
        let url = self.db.url.clone();
        actix_web::web::block(move || {
            use diesel::prelude::*;
            let pool = db::connect_pool(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let rows: Vec<corridor::models::api_key::ApiKeyRow> =
                corridor::schema::api_keys::table.load(&mut conn).unwrap();
            let mut text = format!("{rows:?}");
            if let Some(path) = url.strip_prefix("sqlite://") {
                for suffix in ["", "-wal"] {
                    if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                        text.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
            }
            text
        })
        .await
        .unwrap()
    }

    pub async fn create_case(&self, token: &str, body: Value) -> Value {
        let reply = self.post("cases").token(token).json(body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body
    }

    /// For tests of the real binary, which runs on the real clock: a case
    /// created four days ago by it, so overdue in intake. (Admin token, code.)
    pub async fn case_overdue_by_the_real_clock(&self) -> (String, String) {
        self.clock.set(Utc::now() - chrono::Duration::days(4));
        let admin = self.admin_token().await;
        let code = self.create_case(&admin, json!({})).await["code"]
            .as_str()
            .unwrap()
            .to_string();
        (admin, code)
    }

    pub async fn transition(&self, token: &str, case_id: &str, body: Value) -> Reply {
        self.post(&format!("cases/{case_id}/transitions"))
            .token(token)
            .json(body)
            .await
    }

    /// A pool of this test's own on the app's database, for running jobs.
    pub async fn pool(&self) -> db::Pool {
        let url = self.db.url.clone();
        actix_web::web::block(move || db::connect_pool(&url, 4).unwrap())
            .await
            .unwrap()
    }

    /// One stall scan at the app's clock, as `corridor stalls scan` does.
    pub async fn scan(&self) -> corridor::jobs::alerts::ScanReport {
        let pool = self.pool().await;
        let (now, context) = (self.clock_now().naive_utc(), self.context.clone());
        db::run(&pool, move |conn| {
            let stop = corridor::jobs::Stop::default();
            Ok(corridor::jobs::alerts::scan(conn, now, &context, &stop)?)
        })
        .await
        .unwrap()
    }

    /// One round of the outbox sender through `smtp_url`.
    pub async fn deliver(&self, smtp_url: &str) -> corridor::jobs::sender::Delivery {
        let mut config = self.config.clone();
        config.email.smtp_url = smtp_url.to_string();
        let sender = corridor::jobs::sender::Sender::from_config(
            &config,
            self.pool().await,
            self.clock.clone(),
        )
        .unwrap();
        sender
            .deliver_due(&corridor::jobs::Stop::default())
            .await
            .unwrap()
    }

    /// Asserts that the outbox holds no undelivered email: an email test
    /// ends with everything it queued sent.
    pub async fn assert_outbox_drained(&self) {
        let pool = self.pool().await;
        let waiting = db::run(&pool, |conn| {
            use corridor::schema::outbox;
            use diesel::prelude::*;
            Ok(outbox::table
                .filter(outbox::sent_at.is_null())
                .select(outbox::dedupe_key)
                .load::<String>(conn)?)
        })
        .await
        .unwrap();
        assert!(waiting.is_empty(), "undelivered emails left: {waiting:?}");
    }

    /// Opens the vault again with the master key the configuration names
    /// (after a rotation, or a migration by the binary), and restarts.
    pub async fn reopen(&mut self) {
        let (pool, config) = (self.pool().await, self.config.clone());
        let keys = db::run(&pool, move |conn| {
            Ok(
                vault::open_configured(conn, &config, start_time().naive_utc(), Warn)
                    .unwrap()
                    .0,
            )
        })
        .await
        .unwrap();
        self.context = Arc::new(Context::new(&self.config, Arc::new(keys)));
        self.restart().await;
    }

    /// Stops the server and starts it again on the same database and data folder.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        let context = self.context.clone();
        let (address, server) = RunningServer::start(&self.config, self.clock.clone(), context);
        self.address = address;
        self.server = Some(server);
    }
}

/// `corridor ARGS` as its own process, on the test's database and data
/// folder, emails through `smtp_url` (files when empty).
pub fn command(app: &TestApp, smtp_url: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_corridor"));
    command
        .args(args)
        .env("CORRIDOR_DATABASE_URL", &app.db.url)
        .env("CORRIDOR_SERVER_DATA_DIR", &app.config.server.data_dir)
        .env("CORRIDOR_SMTP_URL", smtp_url)
        .env("RUST_LOG", "warn");
    command
}

/// Runs `corridor ARGS` to its end: (succeeded, standard output and error).
pub fn corridor(app: &TestApp, smtp_url: &str, args: &[&str]) -> (bool, String) {
    run(command(app, smtp_url, args), "")
}

/// Runs `command` with `input` on standard input: (succeeded, output).
pub fn run(mut command: std::process::Command, input: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run corridor");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("corridor finishes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `corridor serve` running as its own process; killed when dropped.
pub struct Served {
    child: std::process::Child,
    pub address: String,
    output: Arc<std::sync::Mutex<String>>,
}

impl Served {
    pub fn start(app: &TestApp, envs: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bind = format!("127.0.0.1:{port}");
        let mut child = command(app, "", &["serve"])
            .env("CORRIDOR_BIND", &bind)
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start corridor serve");
        let output = Arc::new(std::sync::Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in
                    std::io::BufRead::lines(std::io::BufReader::new(stream)).map_while(Result::ok)
                {
                    let mut text = output.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            });
        }
        Self {
            child,
            address: format!("http://{bind}"),
            output,
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (up to 20 s, polling) until `ready` holds.
    pub async fn wait_for<T>(&self, what: &str, mut ready: impl AsyncFnMut() -> Option<T>) -> T {
        let started = std::time::Instant::now();
        loop {
            if let Some(value) = ready().await {
                return value;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "gave up waiting for {what}; output:\n{}",
                self.output()
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Waits until the server answers `/healthz`.
    pub async fn wait_until_up(&self, app: &TestApp) {
        let url = format!("{}/healthz", self.address);
        self.wait_for("the server to answer", async || {
            let reply = app.client.get(&url).send().await.ok()?;
            (reply.status() == 200).then_some(())
        })
        .await
    }

    pub async fn login(&self, app: &TestApp, email: &str, password: &str) -> u16 {
        let url = format!("{}/api/v1/auth/login", self.address);
        let body = json!({ "email": email, "password": password });
        app.client
            .post(url)
            .send_json(&body)
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Served {
    /// `path` on this server (absolute, or under `/api/v1/`).
    pub fn url(&self, path: &str) -> String {
        match path.strip_prefix('/') {
            Some(_) => format!("{}{path}", self.address),
            None => format!("{}/api/v1/{path}", self.address),
        }
    }

    /// Signs in on this server: the access token.
    pub async fn token(&self, app: &TestApp, email: &str) -> String {
        let body = json!({ "email": email, "password": PASSWORD });
        let mut reply = app
            .client
            .post(self.url("auth/login"))
            .send_json(&body)
            .await
            .unwrap();
        let body: Value = reply.json().await.unwrap();
        body["access_token"]
            .as_str()
            .expect("signed in")
            .to_string()
    }

    /// Sends SIGTERM and waits (up to 20 s) for the process to end: its
    /// exit status and everything it wrote.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "did not stop on SIGTERM; output:\n{}",
                self.output()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        // The reader threads finish once the pipes close.
        std::thread::sleep(std::time::Duration::from_millis(100));
        (status, self.output())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Declares each `async fn name(backend: Backend)` as a test on SQLite and
/// on PostgreSQL; the PostgreSQL one is ignored when no server was named
/// (`CORRIDOR_TEST_POSTGRES_URL`) at build time.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                #[cfg_attr(
                    not(corridor_postgres_tests),
                    ignore = "set CORRIDOR_TEST_POSTGRES_URL to run the PostgreSQL tests"
                )]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// The raw message with quoted-printable soft line breaks undone.
    pub data: String,
}

impl Mail {
    /// The Subject header (plain ASCII in Corridor's emails).
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_else(|| panic!("no subject in {}", self.data))
            .to_string()
    }
}

#[derive(Clone)]
struct SinkHandler {
    received: Arc<std::sync::Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for SinkHandler {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let data = String::from_utf8_lossy(&self.data).replace("=\r\n", "");
        self.received.lock().unwrap().push(Mail {
            to: self.to.clone(),
            data,
        });
        mailin_embedded::response::OK
    }
}

/// A real SMTP server in this process (it cannot be stopped: it ends with the tests).
pub struct MailSink {
    pub url: String,
    received: Arc<std::sync::Mutex<Vec<Mail>>>,
}

impl MailSink {
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    pub fn start_on(listener: TcpListener) -> Self {
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handler = SinkHandler {
            received: received.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = mailin_embedded::Server::new(handler);
            server.with_name("sink.test").with_tcp_listener(listener);
            let _ = server.serve();
        });
        Self { url, received }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }
}
