//! The command line: `corridor [--config FILE] <command>`.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::{password, AuthState};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::{self, DbConnection};
use crate::domain::stall::StallRules;
use crate::domain::{DomainError, Role};
use crate::email::Links;
use crate::models::user::{create_user, NewUser, User};
use crate::state::AppState;
use crate::{operations, startup};

/// Corridor: a case tracker for evacuations of people at risk.
#[derive(Debug, Parser)]
#[command(name = "corridor", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Without it, config/corridor.toml is read
    /// when present; environment variables (CORRIDOR_…) override either.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API. On an empty database,
    /// create an admin and print its one-time password.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Stalled cases and their alerts.
    Stalls {
        #[command(subcommand)]
        command: StallsCommand,
    },
    /// The weekly status email.
    Digest {
        #[command(subcommand)]
        command: DigestCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum StallsCommand {
    /// Run one stall scan now, print the alerts it raised, and send their emails.
    Scan,
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Send this week's status emails now; a second run in the same week sends nothing new.
    Send,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// admin, coordinator or observer.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (the only way to give one,
        /// so it never shows in the process list or shell history).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    )
    .init();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("corridor: {message}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> Result<(), String> {
    let config = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve => serve(config),
        Command::Migrate => {
            let pool = connect_and_migrate(&config)?;
            drop(pool);
            println!("database is up to date");
            Ok(())
        }
        Command::Stalls {
            command: StallsCommand::Scan,
        } => {
            let pool = connect_and_migrate(&config)?;
            let rules = StallRules::from(&config.stall);
            let links = Links::new(&config.server.public_url);
            let now = SystemClock.now().naive_utc();
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = crate::jobs::alerts::scan(&mut conn, now, &rules, &links)
                .map_err(|e| e.to_string())?;
            drop(conn);
            for (alert, code) in &report.raised {
                println!(
                    "raised {} on {code} ({}): {}",
                    alert.kind, alert.stage, alert.id
                );
            }
            for (alert, code) in &report.escalated {
                println!("escalated {} on {code}: {}", alert.kind, alert.id);
            }
            println!(
                "{} alert(s) raised, {} escalated",
                report.raised.len(),
                report.escalated.len()
            );
            deliver_now(&config, pool)
        }
        Command::Digest {
            command: DigestCommand::Send,
        } => {
            let pool = connect_and_migrate(&config)?;
            let schedule = config.digest.schedule()?;
            let now = SystemClock.now();
            let week = crate::jobs::digest::week_of(now, &schedule);
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let links = Links::new(&config.server.public_url);
            let queued = db::write(&mut conn, |conn| {
                operations::digest::queue(conn, &week, now.naive_utc(), &links)
            })
            .map_err(|e| e.to_string())?;
            drop(conn);
            match queued {
                Some(n) => println!("weekly status {week}: queued for {n} recipient(s)"),
                None => println!("weekly status {week} was sent already; nothing new"),
            }
            deliver_now(&config, pool)
        }
        Command::Users {
            command: UsersCommand::Create {
                email, name, role, ..
            },
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| format!("--role must be one of {}", Role::names()))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\n', '\r']);
            password::check_strength(password).map_err(|m| format!("the password {m}"))?;
            let password_hash = password::hash(password)?;
            let pool = connect_and_migrate(&config)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let now = SystemClock.now().naive_utc();
            let new = NewUser {
                email: &email,
                display_name: &name,
                role,
                password_hash,
            };
            let user = create_user(&mut conn, new, now).map_err(|e| match e {
                DomainError::DuplicateEmail => "a user with this email exists already".to_string(),
                other => other.to_string(),
            })?;
            println!("created {} {} ({})", user.role, user.email, user.id);
            Ok(())
        }
    }
}

fn connect_and_migrate(config: &Config) -> Result<db::Pool, String> {
    let pool = db::connect_pool(&config.database.url, config.database.pool_size)
        .map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let applied = db::migrate(&mut conn).map_err(|e| e.to_string())?;
    if applied > 0 {
        log::info!("applied {applied} migration(s)");
    }
    drop(conn);
    Ok(pool)
}

/// Sends what the outbox holds now, once; failures stay queued for `serve`.
fn deliver_now(config: &Config, pool: db::Pool) -> Result<(), String> {
    // The SMTP pool needs a runtime from the moment it is built.
    actix_web::rt::System::new().block_on(async move {
        let sender = crate::jobs::sender::Sender::from_config(config, pool, Arc::new(SystemClock))?;
        let delivery = sender.deliver_due().await.map_err(|e| e.to_string())?;
        println!(
            "emails: {} sent, {} failed (kept for retry) via {}",
            delivery.sent,
            delivery.failed,
            sender.transport.describe()
        );
        Ok(())
    })
}

fn serve(config: Config) -> Result<(), String> {
    let pool = connect_and_migrate(&config)?;
    let clock = Arc::new(SystemClock);
    {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let now = clock.now().naive_utc();
        if let Some(password) = ensure_first_admin(&mut conn, &config.auth.first_admin_email, now)
            .map_err(|e| e.to_string())?
        {
            // Shown once, on the terminal only: never logged, never stored in clear.
            println!();
            println!("  First start: created the admin account.");
            println!("    email:    {}", config.auth.first_admin_email);
            println!("    password: {password}");
            println!("  It is shown this once. Sign in and change it (POST /api/v1/me/password).");
            println!();
        }
    }
    let listener = TcpListener::bind(&config.server.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.bind))?;
    let backend = if db::DatabaseUrl::parse(&config.database.url)
        .map(|u| u.is_sqlite())
        .unwrap_or(false)
    {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    log::info!("serving on http://{} ({backend})", config.server.bind);
    let shared = Arc::new(config.clone());
    let auth = AuthState::new(&config).map_err(|e| format!("cannot prepare secrets: {e}"))?;
    let state = AppState::new(config, pool.clone(), clock.clone());
    actix_web::rt::System::new().block_on(async move {
        // The SMTP pool needs a runtime from the moment it is built.
        let sender =
            crate::jobs::sender::Sender::from_config(&shared, pool.clone(), clock.clone())?;
        log::info!("emails go out through {}", sender.transport.describe());
        let server = startup::build_server(state, auth, listener).map_err(|e| e.to_string())?;
        crate::jobs::spawn_background(shared, pool, clock, sender);
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
