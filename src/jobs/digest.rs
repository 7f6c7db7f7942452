//! The weekly status email: on `[digest] weekday` at `time` in `timezone`,
//! every active coordinator and admin gets cases by stage, the moves of the
//! last 7 days, stalled cases, open alerts and shelter occupancy, by code and
//! id only. One round per ISO week (the `digest_runs` row is unique), so a
//! service that was down sends it when it comes back, once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;

use crate::config::DigestSchedule;
use crate::db::{self, DbConnection};
use crate::domain::{Role, Stage};
use crate::email;
use crate::error::AppError;
use crate::models::outbox::OutboxMessage;
use crate::models::user::User;
use crate::schema::{alerts, case_events, cases, digest_runs, shelters};

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

/// The week whose digest is due at `now`, if its moment has come.
pub fn due_week(now: DateTime<Utc>, schedule: &DigestSchedule) -> Option<String> {
    (scheduled_in_week_of(now, schedule) <= now).then(|| week_of(now, schedule))
}

/// Queues the digest of `week` for every active coordinator and admin,
/// unless that week's round exists already. Returns the number queued, or
/// `None` when the week was done before.
pub fn queue(
    conn: &mut DbConnection,
    week: &str,
    now: NaiveDateTime,
    public_url: &str,
) -> Result<Option<usize>, AppError> {
    db::write(conn, |conn| {
        let done: i64 = digest_runs::table
            .filter(digest_runs::week.eq(week))
            .count()
            .get_result(conn)?;
        if done > 0 {
            return Ok(None);
        }
        let claimed = conn.transaction(|c| {
            diesel::insert_into(digest_runs::table)
                .values((digest_runs::week.eq(week), digest_runs::created_at.eq(now)))
                .execute(c)
        });
        match claimed {
            Ok(_) => {}
            Err(e) if db::is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let message = email::digest(
            week,
            &sections(conn, now)?,
            &format!("{}/api/v1/cases", public_url.trim_end_matches('/')),
        );
        let mut queued = 0;
        for (user_id, address) in User::active_with_roles(conn, &[Role::Coordinator, Role::Admin])?
        {
            if OutboxMessage::new(format!("digest:{week}:{user_id}"), &address, &message, now)
                .enqueue(conn)?
            {
                queued += 1;
            }
        }
        Ok(Some(queued))
    })
}

/// The digest's content: codes, stages, counts and ids, nothing personal.
fn sections(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<(String, Vec<String>)>, AppError> {
    let by_stage: Vec<(String, i64)> = cases::table
        .group_by(cases::stage)
        .select((cases::stage, diesel::dsl::count_star()))
        .load(conn)?;
    let stage_lines = Stage::ALL
        .iter()
        .map(|stage| {
            let n = by_stage
                .iter()
                .find(|(s, _)| s == stage.as_str())
                .map_or(0, |(_, n)| *n);
            format!("{stage}: {n}")
        })
        .collect();
    let moves: Vec<(String, Option<String>, Option<String>)> = case_events::table
        .inner_join(cases::table)
        .filter(case_events::kind.eq("transition"))
        .filter(case_events::at.gt(now - Duration::days(7)))
        .order(case_events::id.asc())
        .select((cases::code, case_events::from_stage, case_events::to_stage))
        .load(conn)?;
    let move_lines = moves
        .into_iter()
        .map(|(code, from, to)| {
            format!(
                "{code}: {} → {}",
                from.unwrap_or_default(),
                to.unwrap_or_default()
            )
        })
        .collect();
    let stalled: Vec<(String, String, Option<NaiveDateTime>)> = cases::table
        .filter(cases::stall_at.le(now))
        .filter(cases::stage.ne(Stage::Closed.as_str()))
        .order(cases::stall_at.asc())
        .select((cases::code, cases::stage, cases::stall_at))
        .load(conn)?;
    let stalled_lines = stalled
        .into_iter()
        .map(|(code, stage, at)| {
            let since = at.map(|at| email::humane(now - at)).unwrap_or_default();
            format!("{code} ({stage}), stalled for {since}")
        })
        .collect();
    let open: Vec<(String, String, String)> = alerts::table
        .inner_join(cases::table)
        .filter(alerts::state.ne(crate::models::alert::RESOLVED))
        .order(alerts::raised_at.asc())
        .select((cases::code, alerts::kind, alerts::state))
        .load(conn)?;
    let alert_lines = open
        .into_iter()
        .map(|(code, kind, state)| format!("{code}: {kind} ({state})"))
        .collect();
    let shelter_rows: Vec<(String, i32)> = shelters::table
        .filter(shelters::active.eq(true))
        .order(shelters::id.asc())
        .select((shelters::id, shelters::capacity))
        .load(conn)?;
    let ids: Vec<String> = shelter_rows.iter().map(|(id, _)| id.clone()).collect();
    let occupancy = crate::models::shelter::Shelter::occupancies(conn, &ids)?;
    let shelter_lines = shelter_rows
        .into_iter()
        .map(|(id, capacity)| {
            format!(
                "shelter {id}: {} of {capacity} places taken",
                occupancy.get(&id).copied().unwrap_or(0)
            )
        })
        .collect();
    Ok(vec![
        ("Cases by stage".to_string(), stage_lines),
        ("Moves in the last 7 days".to_string(), move_lines),
        ("Stalled cases".to_string(), stalled_lines),
        ("Open alerts".to_string(), alert_lines),
        ("Shelter occupancy".to_string(), shelter_lines),
    ])
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
        assert_eq!(due_week(utc("2026-11-23T07:59:59Z"), &s), None);
        assert_eq!(
            due_week(utc("2026-11-23T08:00:00Z"), &s).as_deref(),
            Some("2026-W48")
        );
        assert_eq!(
            due_week(utc("2026-11-29T23:00:00Z"), &s).as_deref(),
            Some("2026-W48")
        );
        assert_eq!(due_week(utc("2026-11-30T07:00:00Z"), &s), None);
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
