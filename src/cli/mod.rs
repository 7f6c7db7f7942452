//! The command line: `corridor [--config FILE] <command>`.

mod backup;
mod commands;
mod demo;
mod serve;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::vault::KeySource;
use crate::db;
use crate::operations::vault::KeyFileCheck;
use crate::operations::{self, Context};

/// Corridor: a case tracker for evacuations of people at risk.
#[derive(Debug, Parser)]
#[command(name = "corridor", version = crate::version::LONG, about, long_about = None)]
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
    /// Revoke every session and every API key at once, for when no admin
    /// can sign in.
    Lockdown,
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Fill an empty database with synthetic evacuations to try Corridor on:
    /// 134 cases modelled on the programme, invented names only. Refuses a
    /// database that has cases.
    Demo {
        /// The same seed makes the same cases.
        #[arg(long, default_value_t = 2017)]
        seed: u64,
        /// How many cases (a million for benchmarks).
        #[arg(long, default_value_t = 134)]
        cases: usize,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (as served at
    /// /api/v1/openapi.json), for REST clients and code generators.
    Openapi,
    /// Write a consistent copy of the SQLite database to a new, owner-only
    /// FILE while the service runs (on PostgreSQL: says how to use pg_dump).
    Backup {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The master key that protects personal data.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum StallsCommand {
    /// Run one stall scan now, print the alerts it raised, and send their emails.
    Scan,
    /// Apply the configured stall limits to the deadlines of open cases
    /// (serve does this at start; no other command does).
    Recompute,
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Send this week's status emails now; a second run in the same week sends nothing new.
    Send,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain: exit 0 and the count when intact, else exit 1
    /// naming the first broken entry.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new random master key (base64 of 32 bytes) to a new,
    /// owner-only FILE.
    Generate {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Re-wrap every data key under the master key in FILE, in one
    /// transaction; afterwards only that key opens the data. Stop the
    /// service first and start it with the new key after.
    Rotate {
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
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
    /// List every user: id, email, role, standing and name, oldest first.
    List,
    /// Give a user a new password, read from standard input; every session
    /// of theirs ends and their sign-in locks lift.
    SetPassword {
        /// The user's sign-in email.
        #[arg(long)]
        email: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Stop a user from signing in; their sessions end at once.
    Deactivate {
        /// The user's sign-in email.
        #[arg(long)]
        email: String,
    },
    /// Lift every sign-in lock on a user, from every address.
    Unlock {
        /// The user's sign-in email.
        #[arg(long)]
        email: String,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("corridor: {e}");
            return ExitCode::FAILURE;
        }
    };
    crate::logging::init(config.log.json());
    Config::warn_unknown_variables();
    crate::panics::install_hook();
    match execute(cli, config) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("corridor: {message}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli, config: Config) -> Result<ExitCode, String> {
    let done = |result: Result<(), String>| result.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Command::Serve => done(serve::serve(config)),
        Command::Migrate => {
            Opened::new(&config)?;
            println!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Stalls {
            command: StallsCommand::Scan,
        } => done(commands::scan(&config)),
        Command::Stalls {
            command: StallsCommand::Recompute,
        } => done(commands::recompute_stalls(&config)),
        Command::Digest {
            command: DigestCommand::Send,
        } => done(commands::digest(&config)),
        Command::Users { command } => done(match command {
            UsersCommand::Create {
                email, name, role, ..
            } => users::create(&config, &email, &name, &role),
            UsersCommand::List => users::list(&config),
            UsersCommand::SetPassword { email, .. } => users::set_password(&config, &email),
            UsersCommand::Deactivate { email } => users::deactivate(&config, &email),
            UsersCommand::Unlock { email } => users::unlock(&config, &email),
        }),
        Command::Lockdown => done(commands::lockdown(&config)),
        Command::Backup { file } => done(backup::backup(&config, &file)),
        Command::Demo { seed, cases } => done(demo::run(&config, seed, cases)),
        Command::Openapi => {
            let doc = crate::routes::docs::document(&config.server.public_url);
            let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => commands::verify_audit(&config),
        Command::Keys {
            command: KeysCommand::Generate { file },
        } => done(commands::generate_key(&file)),
        Command::Keys {
            command: KeysCommand::Rotate { new_key_file },
        } => done(commands::rotate_keys(&config, &new_key_file)),
    }
}

/// The database, migrated, with its vault opened: what every command but
/// `keys generate` starts from.
struct Opened {
    pool: db::Pool,
    context: Arc<Context>,
    /// Where the master key came from.
    source: KeySource,
}

impl Opened {
    /// The database and its vault; a key file others can read is warned of.
    fn new(config: &Config) -> Result<Self, String> {
        Self::open(config, KeyFileCheck::Warn)
    }

    /// As [`Opened::new`], for the commands that handle the key itself: a
    /// key file others can read is refused.
    fn for_keys(config: &Config) -> Result<Self, String> {
        Self::open(config, KeyFileCheck::Refuse)
    }

    fn open(config: &Config, check: KeyFileCheck) -> Result<Self, String> {
        let pool = db::connect_pool(&config.database.url, config.database.pool_size)
            .map_err(|e| e.to_string())?;
        pool.cap_size(config.database.max_size_mib)
            .map_err(|e| e.to_string())?;
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let applied = db::migrate(&mut conn).map_err(|e| e.to_string())?;
        if applied > 0 {
            log::info!("applied {applied} migration(s)");
        }
        let now = SystemClock.now().naive_utc();
        let (keys, source) = operations::vault::open_configured(&mut conn, config, now, check)?;
        let context = Arc::new(Context::new(config, Arc::new(keys)));
        drop(conn);
        Ok(Self {
            pool,
            context,
            source,
        })
    }

    /// Applies the configured stall limits to the stored deadlines, where
    /// they changed: for `serve` and `stalls recompute` only. How many
    /// cases were recomputed.
    fn apply_stall_limits(&self) -> Result<usize, String> {
        let recomputed = db::write(&mut *self.conn()?, |conn| {
            operations::deadlines::apply(conn, &self.context.rules)
        })
        .map_err(|e| e.to_string())?;
        let mut total = 0;
        for (stage, cases) in recomputed {
            total += cases;
            log::info!(
                "stall limits of {stage} applied: recomputed the deadlines of {cases} case(s)"
            );
        }
        Ok(total)
    }

    /// For the commands that leave deadlines alone: says when this
    /// command's stall limits are not those the deadlines were computed
    /// with (a shell without the service's settings).
    fn warn_of_other_stall_limits(&self) -> Result<(), String> {
        let changed = operations::deadlines::changed(&mut *self.conn()?, &self.context.rules)
            .map_err(|e| e.to_string())?;
        if !changed.is_empty() {
            let stages: Vec<&str> = changed.iter().map(|s| s.as_str()).collect();
            log::warn!(
                "the stall limits here for {} differ from those the deadlines were computed \
                 with; this command changes no deadline (serve or `corridor stalls recompute` \
                 applies them)",
                stages.join(", ")
            );
        }
        Ok(())
    }

    fn conn(&self) -> Result<db::PooledConnection, String> {
        self.pool.get().map_err(|e| e.to_string())
    }
}
