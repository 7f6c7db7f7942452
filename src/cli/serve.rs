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
    let clock = Arc::new(SystemClock);
    let now = clock.now().naive_utc();
    let email = &config.auth.first_admin_email;
    if let Some(password) =
        ensure_first_admin(&mut *opened.conn()?, email, now).map_err(|e| e.to_string())?
    {
        // Shown once, on the terminal only: never logged, never stored in clear.
        println!();
        println!("  First start: created the admin account.");
        println!("    email:    {email}");
        println!("    password: {password}");
        println!("  It is shown this once. Sign in and change it (POST /api/v1/me/password).");
        println!();
    }
    let listener = TcpListener::bind(&config.server.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.bind))?;
    let backend = match db::DatabaseUrl::parse(&config.database.url) {
        Ok(url) if url.is_sqlite() => "SQLite",
        _ => "PostgreSQL",
    };
    log::info!("serving on http://{} ({backend})", config.server.bind);
    let shared = Arc::new(config.clone());
    let auth = AuthState::new(&config).map_err(|e| format!("cannot prepare secrets: {e}"))?;
    let Opened { pool, context, .. } = opened;
    let state = AppState::new(config, pool.clone(), clock.clone(), context.clone());
    actix_web::rt::System::new().block_on(async move {
        // The SMTP pool needs a runtime from the moment it is built.
        let sender = jobs::sender::Sender::from_config(&shared, pool.clone(), clock.clone())?;
        log::info!("emails go out through {}", sender.transport.describe());
        let server = startup::build_server(state, auth, listener).map_err(|e| e.to_string())?;
        jobs::spawn_background(shared, pool, clock, context, sender);
        server.await.map_err(|e| e.to_string())
    })
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
