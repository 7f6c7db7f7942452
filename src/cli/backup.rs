//! `corridor backup FILE`: a consistent copy of a SQLite database, taken
//! while the service runs. A plain copy of the file would miss what still
//! sits in the write-ahead log; `VACUUM INTO` reads one snapshot instead.
//! On PostgreSQL, `pg_dump` is the tool, and the command says how.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

use crate::config::Config;
use crate::db::DatabaseUrl;
use crate::files;

pub fn backup(config: &Config, file: &Path) -> Result<(), String> {
    let path = match DatabaseUrl::parse(&config.database.url).map_err(|e| e.to_string())? {
        DatabaseUrl::Sqlite(path) => path,
        DatabaseUrl::Postgres(_) => return Err(POSTGRES.trim().to_string()),
    };
    if !path.is_file() {
        return Err(format!("no database at {}", path.display()));
    }
    let target = file
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", file.display()))?;
    // Owner-only from its first byte, and never over an existing file.
    files::create_private_file(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{} exists already; choose a new file", file.display())
        }
        _ => format!("cannot create {}: {e}", file.display()),
    })?;
    let copied = copy(&path, target);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(file);
        return Err(format!("backup failed: {e}"));
    }
    println!(
        "backed up {} to {} (owner-only). Personal data in it stays sealed: keep the \
         master key's backup apart from it, never beside it.",
        path.display(),
        file.display()
    );
    Ok(())
}

fn copy(database: &Path, target: &str) -> Result<(), diesel::result::Error> {
    let url = database.to_string_lossy();
    let mut conn = SqliteConnection::establish(&url)
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
    // Writers of the running service hold their lock only briefly.
    conn.batch_execute("PRAGMA busy_timeout = 15000;")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(&mut conn)?;
    Ok(())
}

const POSTGRES: &str = "
corridor backup copies SQLite databases; on PostgreSQL use pg_dump, which takes a
consistent snapshot while the service runs:

  pg_dump --format=custom --file=corridor.dump --dbname=\"$CORRIDOR_DATABASE_URL\"

and restore into a new, empty database with

  pg_restore --no-owner --dbname=postgres://…/corridor_restored corridor.dump

Personal data in the dump stays sealed: back up the master key separately.";
