//! `corridor serve`: the API and the background work, after migrations, the
//! vault and (on an empty database) the first admin.

use std::net::TcpListener;
use std::sync::Arc;

use super::Opened;
use crate::auth::{password, AuthState};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::{self, DbConnection};
use crate::domain::{DomainError, Role};
use crate::models::user::{create_user, NewUser, User};
use crate::state::AppState;
use crate::{jobs, startup};

pub fn serve(config: Config) -> Result<(), String> {
    let opened = Opened::new(&config)?;
    opened.apply_stall_limits()?;
    let clock = Arc::new(SystemClock);
    let now = clock.now().naive_utc();
    let email = &config.auth.first_admin_email;
    if let Some(password) =
        ensure_first_admin(&mut *opened.conn()?, email, now).map_err(|e| e.to_string())?
    {
        show_first_password(&config, email, &password)?;
    }
    log_paths(&config);
    let listener = TcpListener::bind(&config.server.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.bind))?;
    let metrics_listener = match config.metrics.bind.as_str() {
        "" => None,
        bind => Some(
            TcpListener::bind(bind)
                .map_err(|e| format!("cannot listen for metrics on {bind}: {e}"))?,
        ),
    };
    let backend = match db::DatabaseUrl::parse(&config.database.url) {
        Ok(url) if url.is_sqlite() => "SQLite",
        _ => "PostgreSQL",
    };
    log::info!("serving on http://{} ({backend})", config.server.bind);
    if metrics_listener.is_some() {
        log::info!("metrics on http://{}/metrics", config.metrics.bind);
    }
    let shared = Arc::new(config.clone());
    let auth = AuthState::new(&config).map_err(|e| format!("cannot prepare secrets: {e}"))?;
    let Opened { pool, context, .. } = opened;
    let state = AppState::new(config, pool.clone(), clock.clone(), context.clone());
    let metrics = state.metrics.clone();
    let timeout = state.config.server.shutdown_timeout.std();
    actix_web::rt::System::new().block_on(async move {
        // The SMTP pool needs a runtime from the moment it is built.
        let sender = jobs::sender::Sender::from_config(&shared, pool.clone(), clock.clone())?;
        log::info!("emails go out through {}", sender.transport.describe());
        let (server, metrics_server) =
            startup::build_servers(state, auth, listener, metrics_listener)
                .map_err(|e| e.to_string())?;
        let metrics_handle = metrics_server.map(|server| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        let background = jobs::spawn_background(shared, pool, clock, context, metrics, sender);
        // Until SIGTERM or SIGINT: then no new connections, and requests in
        // flight get up to `shutdown_timeout` to finish.
        let served = server.await.map_err(|e| e.to_string());
        if let Some(handle) = metrics_handle {
            handle.stop(true).await;
        }
        log::info!("stopping: letting background work reach a safe point");
        background.stop(timeout).await;
        log::info!("stopped");
        served
    })
}

/// Shows the first admin's one-time password once: on the terminal, or —
/// when standard output is not one (journald, a container's log) — in an
/// owner-only file in the data folder, whose path is printed instead. Never
/// logged.
fn show_first_password(config: &Config, email: &str, password: &str) -> Result<(), String> {
    use std::io::{IsTerminal, Write};
    if std::io::stdout().is_terminal() {
        println!();
        println!("  First start: created the admin account.");
        println!("    email:    {email}");
        println!("    password: {password}");
        println!("  It is shown this once. Sign in and change it (POST /api/v1/me/password).");
        println!();
        return Ok(());
    }
    let dir = &config.server.data_dir;
    crate::files::create_private_dir(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("first-admin-password");
    let _ = std::fs::remove_file(&path);
    let mut file = crate::files::create_private_file(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    writeln!(file, "email: {email}\npassword: {password}")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let shown = std::fs::canonicalize(&path).unwrap_or(path);
    println!(
        "First start: created the admin account {email}; its one-time password is in {} \
         (owner-only). Read it, sign in, change it, then delete the file.",
        shown.display()
    );
    Ok(())
}

/// Names, at start, the database and data folder in use, as absolute
/// paths: a service started from an unexpected directory shows at once.
fn log_paths(config: &Config) {
    let absolute = |p: &std::path::Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    match db::DatabaseUrl::parse(&config.database.url) {
        Ok(db::DatabaseUrl::Sqlite(path)) => log::info!("database: SQLite at {}", absolute(&path)),
        _ => log::info!("database: PostgreSQL"),
    }
    log::info!("data folder: {}", absolute(&config.server.data_dir));
}

/// On a database with no users at all, creates an admin with a generated
/// password and returns that password (to be shown once). Two instances
/// starting together cannot both create one: the email is unique.
fn ensure_first_admin(
    conn: &mut DbConnection,
    email: &str,
    now: chrono::NaiveDateTime,
) -> Result<Option<String>, DomainError> {
    if User::count(conn)? > 0 {
        return Ok(None);
    }
    let password = password::generate();
    let new = NewUser {
        email,
        display_name: "Administrator",
        role: Role::Admin,
        password_hash: password::hash(&password).map_err(DomainError::Internal)?,
    };
    match create_user(conn, new, now) {
        Ok(_) => Ok(Some(password)),
        Err(DomainError::DuplicateEmail) => Ok(None),
        Err(e) => Err(e),
    }
}
