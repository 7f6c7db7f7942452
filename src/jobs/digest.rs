//! When the weekly status email is due: on `[digest] weekday` at `time` in
//! `timezone`, daylight saving included. One round per ISO week (see
//! `operations::digest`), so a service that was down sends it when it comes
//! back, once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use crate::config::DigestSchedule;
use crate::db::{self, DbConnection};
use crate::domain::DomainError;
use crate::email::Links;
use crate::models::user::User;
use crate::operations;

/// The digest step of each scan: queues the round of the week when due (and
/// not claimed before). The week and how many emails it queued.
pub fn queue_if_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    schedule: &DigestSchedule,
    links: &Links,
) -> Result<Option<(String, usize)>, DomainError> {
    let installed = User::first_created_at(conn)?.map_or(now, |t| t.and_utc());
    let Some(week) = due_week(now, schedule, installed) else {
        return Ok(None);
    };
    let queued = db::write(conn, |conn| {
        operations::digest::queue(conn, &week, now.naive_utc(), links)
    })?;
    Ok(queued.map(|n| (week, n)))
}

/// The ISO week (in the digest's time zone) that `at` falls in: `2026-W48`.
pub fn week_of(at: DateTime<Utc>, schedule: &DigestSchedule) -> String {
    let week = at.with_timezone(&schedule.timezone).iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// This week's scheduled moment, in UTC. A local time skipped by a
/// daylight-saving change moves to the first moment after the gap; a
/// repeated one takes its first occurrence.
pub fn scheduled_in_week_of(at: DateTime<Utc>, schedule: &DigestSchedule) -> DateTime<Utc> {
    let week = at.with_timezone(&schedule.timezone).iso_week();
    let day =
        NaiveDate::from_isoywd_opt(week.year(), week.week(), schedule.weekday).unwrap_or_default();
    let mut local = day.and_time(schedule.time);
    for _ in 0..4 {
        if let Some(moment) = schedule.timezone.from_local_datetime(&local).earliest() {
            return moment.with_timezone(&Utc);
        }
        local += Duration::minutes(30);
    }
    day.and_time(schedule.time).and_utc()
}

/// The week whose digest is due at `now`, if its moment has come, and came
/// no earlier than `installed` (a fresh install does not send a round for
/// the week it was installed in after that week's moment: there is nothing
/// to report yet).
pub fn due_week(
    now: DateTime<Utc>,
    schedule: &DigestSchedule,
    installed: DateTime<Utc>,
) -> Option<String> {
    let moment = scheduled_in_week_of(now, schedule);
    (installed <= moment && moment <= now).then(|| week_of(now, schedule))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Weekday};

    fn schedule(tz: chrono_tz::Tz) -> DigestSchedule {
        DigestSchedule {
            weekday: Weekday::Mon,
            time: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            timezone: tz,
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_digest_is_due_from_monday_eight_local_for_the_rest_of_the_week() {
        let s = schedule(chrono_tz::UTC);
        let installed = utc("2026-01-01T00:00:00Z");
        let due = |at: &str| due_week(utc(at), &s, installed);
        assert_eq!(due("2026-11-23T07:59:59Z"), None);
        assert_eq!(due("2026-11-23T08:00:00Z").as_deref(), Some("2026-W48"));
        assert_eq!(due("2026-11-29T23:00:00Z").as_deref(), Some("2026-W48"));
        assert_eq!(due("2026-11-30T07:00:00Z"), None);
    }

    #[test]
    fn the_first_round_is_the_first_moment_after_installation() {
        let s = schedule(chrono_tz::UTC);
        let installed = utc("2026-11-25T15:00:00Z");
        assert_eq!(due_week(utc("2026-11-25T15:00:01Z"), &s, installed), None);
        assert_eq!(due_week(utc("2026-11-29T23:00:00Z"), &s, installed), None);
        assert_eq!(
            due_week(utc("2026-11-30T08:00:00Z"), &s, installed).as_deref(),
            Some("2026-W49")
        );
    }

    #[test]
    fn the_schedule_follows_daylight_saving_time() {
        let berlin = schedule(chrono_tz::Europe::Berlin);
        // Summer time (UTC+2) until 25 October 2026, winter time (UTC+1) after.
        assert_eq!(
            scheduled_in_week_of(utc("2026-10-19T12:00:00Z"), &berlin),
            utc("2026-10-19T06:00:00Z")
        );
        assert_eq!(
            scheduled_in_week_of(utc("2026-10-26T12:00:00Z"), &berlin),
            utc("2026-10-26T07:00:00Z")
        );
    }

    #[test]
    fn a_time_skipped_by_the_clock_change_moves_past_the_gap() {
        let mut s = schedule(chrono_tz::Europe::Berlin);
        s.weekday = Weekday::Sun;
        s.time = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        // 29 March 2026: 02:00 local jumps to 03:00.
        assert_eq!(
            scheduled_in_week_of(utc("2026-03-26T12:00:00Z"), &s),
            utc("2026-03-29T01:00:00Z")
        );
    }
}
