//! The one-shot commands: each opens the database and its vault, does its
//! work, says what it did, and exits.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use super::Opened;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::vault::{KeySource, MasterKey};
use crate::db;
use crate::jobs;
use crate::models::audit;
use crate::models::event::Actor;
use crate::operations;

pub(super) fn now() -> chrono::NaiveDateTime {
    SystemClock.now().naive_utc()
}

/// `corridor stalls scan`: one scan, its alerts, then their emails.
pub fn scan(config: &Config) -> Result<(), String> {
    let opened = Opened::new(config)?;
    opened.warn_of_other_stall_limits()?;
    let stop = jobs::Stop::default();
    let mut conn = opened.conn()?;
    let started = std::time::Instant::now();
    let report =
        jobs::alerts::scan(&mut conn, now(), &opened.context, &stop).map_err(|e| e.to_string())?;
    let took = started.elapsed();
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
    let (raised, escalated) = (report.raised.len(), report.escalated.len());
    println!(
        "{raised} alert(s) raised, {escalated} escalated; the scan took {:.1} ms",
        took.as_secs_f64() * 1000.0
    );
    deliver_now(config, opened.pool)
}

/// `corridor stalls recompute`: the configured stall limits applied to the
/// deadlines of open cases, where they changed.
pub fn recompute_stalls(config: &Config) -> Result<(), String> {
    let opened = Opened::new(config)?;
    let cases = opened.apply_stall_limits()?;
    println!("stall limits applied: {cases} case deadline(s) recomputed");
    Ok(())
}

/// `corridor digest send`: this week's status emails, once.
pub fn digest(config: &Config) -> Result<(), String> {
    let opened = Opened::new(config)?;
    opened.warn_of_other_stall_limits()?;
    let schedule = config.digest.schedule()?;
    let now = SystemClock.now();
    let week = jobs::digest::week_of(now, &schedule);
    let queued = db::write(&mut *opened.conn()?, |conn| {
        operations::digest::queue(conn, &week, now.naive_utc(), &opened.context.links)
    })
    .map_err(|e| e.to_string())?;
    match queued {
        Some(n) => println!("weekly status {week}: queued for {n} recipient(s)"),
        None => println!("weekly status {week} was sent already; nothing new"),
    }
    deliver_now(config, opened.pool)
}

/// `corridor lockdown`: every session and API key revoked, audited with the
/// system as actor.
pub fn lockdown(config: &Config) -> Result<(), String> {
    let opened = Opened::new(config)?;
    let actor = Actor::system();
    let change = opened.context.change(&actor, now());
    let revoked = db::write(&mut *opened.conn()?, |conn| {
        operations::lockdown::lockdown(conn, None, &change)
    })
    .map_err(|e| e.to_string())?;
    println!(
        "lockdown: {} session(s) and {} API key(s) revoked",
        revoked.sessions_revoked, revoked.api_keys_revoked
    );
    Ok(())
}

/// `corridor audit verify`: 0 when the chain holds, 1 naming the first
/// broken entry.
pub fn verify_audit(config: &Config) -> Result<ExitCode, String> {
    let opened = Opened::new(config)?;
    let key = opened.context.keys.audit();
    match audit::verify(&mut *opened.conn()?, key).map_err(|e| e.to_string())? {
        Ok(head) => {
            println!("audit chain intact: {} entries", head.last_id);
            println!(
                "head: entry {}, hash {} (compare with the head in the weekly admin email)",
                head.last_id, head.last_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!(
                "audit chain broken at entry {}: {}",
                broken.id, broken.reason
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `corridor keys generate FILE`: a new master key in a new owner-only file.
pub fn generate_key(file: &Path) -> Result<(), String> {
    MasterKey::generate()
        .write_new(file)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    println!("wrote a new master key to {}", file.display());
    Ok(())
}

/// `corridor keys rotate --new-key-file FILE`: every data key re-wrapped
/// under the new master key in one transaction. When the old key was the
/// generated `data_dir/master.key`, the new one takes its place there.
pub fn rotate_keys(config: &Config, new_key_file: &Path) -> Result<(), String> {
    if let Some(problem) = crate::crypto::vault::exposure(new_key_file) {
        return Err(problem);
    }
    let new = MasterKey::read(new_key_file)?;
    let opened = Opened::for_keys(config)?;
    let rewrapped = db::write(&mut *opened.conn()?, |conn| {
        operations::vault::rotate(conn, &opened.context.keys, &new, now())
    })
    .map_err(|e| e.to_string())?;
    println!(
        "re-wrapped {rewrapped} case key(s) and the duplicate-check key under the new master key"
    );
    match &opened.source {
        KeySource::DataDir(path) => {
            replace_key_file(path, &new)?;
            println!(
                "{} now holds the new key; the old key opens nothing",
                path.display()
            );
        }
        KeySource::File(path) => {
            carry_shred_list(config, &opened.source, new_key_file)?;
            println!(
                "point [protection] master_key_file at {} (it still names {}), then restart",
                new_key_file.display(),
                path.display()
            )
        }
        KeySource::Environment => {
            println!("set CORRIDOR_MASTER_KEY to the new key, then restart")
        }
    }
    println!(
        "restart every running instance with the new key; then destroy the old key and its copies"
    );
    Ok(())
}

/// The shred list goes with the master key: copied beside the new key file
/// when it was kept beside the old one.
fn carry_shred_list(config: &Config, old: &KeySource, new_key_file: &Path) -> Result<(), String> {
    let (from, to) = (
        old.shred_list_file(config),
        KeySource::File(new_key_file.to_path_buf()).shred_list_file(config),
    );
    if from == to || !from.exists() || to.exists() {
        return Ok(());
    }
    let list = std::fs::read(&from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let mut file = crate::files::create_private_file(&to)
        .map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    std::io::Write::write_all(&mut file, &list)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    println!(
        "copied the shred list beside the new key: {} (keep it with the key)",
        to.display()
    );
    Ok(())
}

/// Puts `key` in place of the key file at `path`, atomically.
fn replace_key_file(path: &Path, key: &MasterKey) -> Result<(), String> {
    let fresh = path.with_extension("key.new");
    let _ = std::fs::remove_file(&fresh);
    key.write_new(&fresh)
        .and_then(|()| std::fs::rename(&fresh, path))
        .map_err(|e| {
            format!(
                "the data is re-wrapped, but {} could not be replaced: {e}",
                path.display()
            )
        })
}

/// Sends what the outbox holds now, once; failures stay queued for `serve`.
fn deliver_now(config: &Config, pool: db::Pool) -> Result<(), String> {
    // The SMTP pool needs a runtime from the moment it is built.
    actix_web::rt::System::new().block_on(async move {
        let sender = jobs::sender::Sender::from_config(config, pool, Arc::new(SystemClock))?;
        let delivery = sender
            .deliver_due(&jobs::Stop::default())
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "emails: {} sent, {} failed (kept for retry) via {}",
            delivery.sent,
            delivery.failed,
            sender.transport.describe()
        );
        Ok(())
    })
}
