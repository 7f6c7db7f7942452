//! The weekly status round: every active coordinator and admin gets cases by
//! stage, the moves of the last 7 days, stalled cases, open alerts and
//! shelter occupancy: cases by code, stages and alerts in words, shelters
//! by their email label (never their names), and the calls that act on it. The admins' copy also names the
//! head of the audit chain, so that even a rewrite of the whole chain shows
//! against mail already sent.

use chrono::{Duration, NaiveDateTime};

use super::notify;
use crate::db::DbConnection;
use crate::domain::journey::format_amount;
use crate::domain::stall::humane;
use crate::domain::{AlertKind, DomainError, Role, Stage};
use crate::email::{self, Links};
use crate::models::audit::AuditEntry;
use crate::models::shelter::Shelter;
use crate::models::user::User;
use crate::models::{digest_run, report};

/// Queues the status email of `week` for every active coordinator and admin,
/// unless that week's round was claimed before. Returns how many were
/// queued, or `None` when the week was done already.
pub fn queue(
    conn: &mut DbConnection,
    week: &str,
    now: NaiveDateTime,
    links: &Links,
) -> Result<Option<usize>, DomainError> {
    if !digest_run::claim(conn, week, now)? {
        return Ok(None);
    }
    let mut sections = sections(conn, now)?;
    sections.push(("How to act".to_string(), how_to_act(links)));
    let docs = links.docs("cases", "cases_list");
    let for_coordinators = email::digest(week, &sections, &docs);
    let (head_id, head_hash) = AuditEntry::head(conn)?;
    let head = format!("entry {head_id}, hash {head_hash}");
    sections.push(("Audit chain head".to_string(), vec![head]));
    let for_admins = email::digest(week, &sections, &docs);
    let mut queued = 0;
    for (role, message) in [
        (Role::Coordinator, &for_coordinators),
        (Role::Admin, &for_admins),
    ] {
        for (user, address) in User::active_with_roles(conn, &[role])? {
            let key = format!("digest:{week}:{user}");
            if notify(conn, key, &address, message, now)? {
                queued += 1;
            }
        }
    }
    Ok(Some(queued))
}

/// The calls that act on the digest, for a REST client, and where the API's
/// page shows how to make them.
fn how_to_act(links: &Links) -> Vec<String> {
    vec![
        format!(
            "The stalled cases, the most overdue first: GET {}",
            links.stalled_cases()
        ),
        format!("The open alerts: GET {}", links.open_alerts()),
        "In your REST client, signed in; any case by its code: GET …/api/v1/cases/EV-…".into(),
        format!(
            "How to make these calls, on the API's page: {}",
            links.docs("cases", "cases_list")
        ),
    ]
}

/// The digest's content, in lines already free of personal data.
fn sections(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<(String, Vec<String>)>, DomainError> {
    let by_stage = report::cases_by_stage(conn)?;
    let stage_lines = Stage::ALL
        .iter()
        .map(|stage| {
            let n = by_stage
                .iter()
                .find(|(s, _)| s == stage)
                .map_or(0, |(_, n)| *n);
            format!("{}: {n}", email::words(stage.as_str()))
        })
        .collect();
    let move_lines = report::moves_since(conn, now - Duration::days(7))?
        .into_iter()
        .map(|(code, from, to)| {
            let name = |s: Option<Stage>| email::words(s.map(Stage::as_str).unwrap_or_default());
            format!("{code}: {} → {}", name(from), name(to))
        })
        .collect();
    let stalled = report::stalled(conn, now)?;
    let shelters = report::shelter_capacities(conn)?;
    let mut ids: Vec<_> = shelters.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(
        stalled
            .iter()
            .filter_map(|(_, _, shelter, _)| shelter.clone()),
    );
    ids.sort();
    ids.dedup();
    // What emails call each shelter: its email label, never its name.
    let labels = Shelter::email_labels(conn, &ids)?;
    let label = |id: &crate::domain::ShelterId| {
        labels
            .get(id)
            .cloned()
            .unwrap_or_else(|| Shelter::in_email(id, None))
    };
    let stalled_lines = stalled
        .into_iter()
        .map(|(code, stage, shelter, at)| {
            let since = at.map(|at| humane(now - at)).unwrap_or_default();
            let place = match &shelter {
                Some(id) => format!("{} at {}", email::words(stage.as_str()), label(id)),
                None => email::words(stage.as_str()),
            };
            format!("{code} ({place}), stalled for {since}")
        })
        .collect();
    let alert_lines = report::open_alerts(conn)?
        .into_iter()
        .map(|(code, kind, state)| format!("{code}: {} ({state})", email::words(kind.as_str())))
        .collect();
    let occupancy = Shelter::occupancies(conn, &ids)?;
    let shelter_lines = shelters
        .into_iter()
        .map(|(id, capacity)| {
            let taken = occupancy.get(&id).copied().unwrap_or(0);
            format!("{}: {taken} of {capacity} places taken", label(&id))
        })
        .collect();
    Ok(vec![
        ("Cases by stage".to_string(), stage_lines),
        ("Moves in the last 7 days".to_string(), move_lines),
        ("Stalled cases".to_string(), stalled_lines),
        ("Open alerts".to_string(), alert_lines),
        (
            "Documents needing attention".to_string(),
            document_lines(conn)?,
        ),
        ("Journeys".to_string(), journey_lines(conn, now)?),
        (
            "Spending in the last 7 days".to_string(),
            spending_lines(conn, now)?,
        ),
        ("Shelter occupancy".to_string(), shelter_lines),
    ])
}

/// Documents overdue or expiring, by case code and kind of alert.
fn document_lines(conn: &mut DbConnection) -> Result<Vec<String>, DomainError> {
    let kinds = [AlertKind::DocumentOverdue, AlertKind::DocumentExpiring];
    Ok(report::open_alerts(conn)?
        .into_iter()
        .filter(|(_, kind, _)| kinds.contains(kind))
        .map(|(code, kind, _)| format!("{code}: {}", email::words(kind.as_str())))
        .collect())
}

/// People on the way, by case code: overdue ones first, with how long.
fn journey_lines(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<String>, DomainError> {
    let mut legs = report::legs_on_the_way(conn)?;
    legs.sort_by_key(|(_, arrive_by)| *arrive_by);
    Ok(legs
        .into_iter()
        .map(|(code, arrive_by)| match arrive_by <= now {
            true => format!("{code}: overdue by {}", humane(now - arrive_by)),
            false => format!("{code}: on the way, due in {}", humane(arrive_by - now)),
        })
        .collect())
}

/// What was spent in the last 7 days, by category and currency.
fn spending_lines(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<String>, DomainError> {
    let since = (now - Duration::days(6)).date();
    let rows = crate::models::expense::Expense::spent_since(conn, since)?;
    let mut sums: std::collections::BTreeMap<(String, String), i128> = Default::default();
    for row in rows {
        let key = (row.currency, email::words(row.category.as_str()));
        *sums.entry(key).or_default() += i128::from(row.amount_e4);
    }
    Ok(sums
        .into_iter()
        .map(|((currency, category), sum)| format!("{category}: {} {currency}", format_amount(sum)))
        .collect())
}
