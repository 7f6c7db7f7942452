//! A full disk, said plainly. A write that fails for lack of space starts an
//! episode: one error line in the log, `/readyz` 503 with
//! `storage: full`, the `corridor_storage_full` gauge at 1, and one email to
//! the admins (queued as soon as a write works, which on a full disk is
//! usually when the episode ends). The next write that succeeds ends it.
//! While it lasts, a probe (a small committed write, then its removal)
//! tells whether space came back, so that a server no one writes to does
//! not stay "full" for good behind a load balancer that stopped sending it
//! requests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::{self, DbConnection};
use crate::domain::{DomainError, Role};
use crate::email;
use crate::models::setting;
use crate::models::user::User;

/// The probe's row: big enough to need a page of its own (SQLite) or to
/// extend a table's file (PostgreSQL) where a one-line update would fit
/// into space already there.
const PROBE: &str = "storage_probe";
const PROBE_BYTES: usize = 16 * 1024;

/// The episode now, if any: shared by the requests and the jobs of one
/// process.
#[derive(Default)]
pub struct StorageWatch {
    full: AtomicBool,
    state: Mutex<Watch>,
}

#[derive(Default)]
struct Watch {
    /// The latest episode, running (no `until`) or ended.
    latest: Option<Latest>,
    /// Episodes before it that ended before their email could be queued.
    owed: Vec<Episode>,
}

struct Latest {
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    /// Whether the admins' email of it is queued.
    told: bool,
}

/// An episode: since when, and until when if it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// A disk nearly full lets some writes through and not others: a failure
/// this soon after the last success goes on with the same episode (no new
/// log line, no new email), though readiness said ready in between.
const SAME_EPISODE_WITHIN: chrono::Duration = chrono::Duration::minutes(10);

impl StorageWatch {
    /// Whether the last write failed for space and none succeeded since.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Whether the storage check has anything to do: the disk is full, or
    /// an episode's email is still to be queued.
    pub fn needs_check(&self) -> bool {
        if self.is_full() {
            return true;
        }
        let watch = self.lock();
        !watch.owed.is_empty() || watch.latest.as_ref().is_some_and(|l| !l.told)
    }

    /// A write failed for lack of space. Starts an episode (and logs it,
    /// once) unless one is running or ended only just; true when it did.
    pub fn failed(&self, now: DateTime<Utc>) -> bool {
        let mut watch = self.lock();
        self.full.store(true, Ordering::Relaxed);
        if let Some(latest) = &mut watch.latest {
            match latest.until {
                None => return false,
                Some(until) if now - until < SAME_EPISODE_WITHIN => {
                    latest.until = None;
                    return false;
                }
                Some(_) => {}
            }
        }
        if let Some(before) = watch.latest.take().filter(|l| !l.told) {
            watch.owed.push(Episode {
                since: before.since,
                until: before.until,
            });
        }
        watch.latest = Some(Latest {
            since: now,
            until: None,
            told: false,
        });
        log::error!(
            "storage full: writes fail for lack of disk space (answered 507) until space is freed"
        );
        true
    }

    /// A write succeeded: the episode running, if any, ends.
    pub fn wrote(&self, now: DateTime<Utc>) {
        if !self.is_full() {
            return;
        }
        let mut watch = self.lock();
        self.full.store(false, Ordering::Relaxed);
        if let Some(latest) = watch.latest.as_mut().filter(|l| l.until.is_none()) {
            latest.until = Some(now);
            let minutes = (now - latest.since).num_minutes();
            log::info!(
                "storage: writes succeed again, {minutes} minute(s) after they began to fail"
            );
        }
    }

    /// The episodes whose email is still to be queued.
    fn untold(&self) -> Vec<Episode> {
        let watch = self.lock();
        let mut untold = watch.owed.clone();
        if let Some(latest) = watch.latest.as_ref().filter(|l| !l.told) {
            untold.push(Episode {
                since: latest.since,
                until: latest.until,
            });
        }
        untold
    }

    /// `episodes` are told.
    fn told(&self, episodes: &[Episode]) {
        let mut watch = self.lock();
        watch
            .owed
            .retain(|e| !episodes.iter().any(|t| t.since == e.since));
        if let Some(latest) = &mut watch.latest {
            if episodes.iter().any(|t| t.since == latest.since) {
                latest.told = true;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watch> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a write that ended in `result` says of the disk.
pub fn observe<T>(watch: &StorageWatch, result: &Result<T, DomainError>, now: DateTime<Utc>) {
    match result {
        Err(e) if e.is_storage_full() => {
            watch.failed(now);
        }
        Err(_) => {}
        Ok(_) => watch.wrote(now),
    }
}

/// While an episode runs: a small write that needs new space, committed,
/// then taken back. Ends the episode when it succeeds. Nothing otherwise.
pub fn probe(conn: &mut DbConnection, watch: &StorageWatch, now: DateTime<Utc>) {
    if !watch.is_full() {
        return;
    }
    // Random, so PostgreSQL cannot compress it into less than it says.
    let value: String = (0..PROBE_BYTES / 64)
        .map(|_| crate::crypto::hex(&crate::crypto::random_bytes::<32>()))
        .collect();
    let written = db::write(conn, |conn| setting::put(conn, PROBE, &value));
    if written.is_ok() {
        let _ = db::write(conn, |conn| {
            diesel::delete(crate::schema::settings::table.find(PROBE)).execute(conn)
        });
    }
    observe(watch, &written.map_err(DomainError::from), now);
}

/// Queues the admins' email of each episode not told yet; those it cannot
/// queue (the disk is still full) wait for the next try.
pub fn tell_admins(
    conn: &mut DbConnection,
    watch: &StorageWatch,
    links: &email::Links,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    let untold = watch.untold();
    if untold.is_empty() {
        return Ok(0);
    }
    let at = now.naive_utc();
    let queued = db::write(conn, |conn| -> Result<usize, DomainError> {
        let admins = User::active_with_roles(conn, &[Role::Admin])?;
        for episode in &untold {
            let message = email::storage_full(episode.since, episode.until, &links.health());
            for (admin, address) in &admins {
                let key = format!("storage-full:{}:{admin}", episode.since.timestamp());
                super::notify(conn, key, address, &message, at)?;
            }
        }
        Ok(untold.len())
    });
    if queued.is_ok() {
        watch.told(&untold);
    }
    queued
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn an_episode_runs_from_the_first_failed_write_to_the_next_good_one() {
        let watch = StorageWatch::default();
        watch.wrote(at(0));
        assert!(!watch.is_full());
        assert!(!watch.needs_check(), "nothing to probe, nothing owed");
        assert!(watch.untold().is_empty());
        assert!(watch.failed(at(1)));
        assert!(!watch.failed(at(2)), "one episode, however many failures");
        assert!(watch.is_full());
        let running = Episode {
            since: at(1),
            until: None,
        };
        assert_eq!(watch.untold(), [running]);
        watch.wrote(at(5));
        assert!(!watch.is_full());
        // Not told while it ran: owed now, with its end.
        let ended = Episode {
            since: at(1),
            until: Some(at(5)),
        };
        assert_eq!(watch.untold(), [ended]);
        assert!(watch.needs_check(), "its email is owed");
        watch.told(&[ended]);
        assert!(watch.untold().is_empty());
        assert!(!watch.needs_check());
    }

    #[test]
    fn writes_that_fail_and_succeed_by_turns_are_one_episode() {
        let watch = StorageWatch::default();
        assert!(watch.failed(at(1)));
        watch.wrote(at(2));
        assert!(!watch.is_full());
        assert!(!watch.failed(at(3)), "the same episode, going on");
        assert!(watch.is_full());
        watch.wrote(at(4));
        assert_eq!(
            watch.untold(),
            [Episode {
                since: at(1),
                until: Some(at(4))
            }]
        );
        // Long after, a new one; the first is still owed.
        assert!(watch.failed(at(30)));
        assert_eq!(watch.untold().len(), 2);
        let all = watch.untold();
        watch.told(&all);
        assert!(watch.untold().is_empty());
    }

    #[test]
    fn an_episode_told_while_it_runs_is_not_told_again() {
        let watch = StorageWatch::default();
        watch.failed(at(1));
        let running = watch.untold();
        watch.told(&running);
        assert!(watch.untold().is_empty());
        watch.wrote(at(3));
        assert!(watch.untold().is_empty());
        // The next episode is a new one.
        assert!(watch.failed(at(20)));
        assert_eq!(watch.untold().len(), 1);
    }
}
