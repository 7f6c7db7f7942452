//! Stalls become alerts: one per stall episode, emailed to the case's
//! coordinator (or every coordinator), escalated once to the admins when
//! nobody acknowledges it in time.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::db::{self, DbConnection};
use crate::domain::stall::StallRules;
use crate::domain::Role;
use crate::email::{self, AlertFacts};
use crate::error::AppError;
use crate::models::alert::{self, Alert};
use crate::models::case::Case;
use crate::models::event::{Actor, Event};
use crate::models::new_id;
use crate::models::outbox::OutboxMessage;
use crate::models::user::User;

/// What alerts need to know beyond the database.
#[derive(Debug, Clone)]
pub struct AlertContext {
    pub public_url: String,
    pub rules: StallRules,
    pub escalate_after: Duration,
}

impl AlertContext {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            public_url: config.server.public_url.trim_end_matches('/').to_string(),
            rules: StallRules::from(&config.stall),
            escalate_after: config.stall.escalate_after.0,
        }
    }

    fn case_url(&self, case_id: &str) -> String {
        format!("{}/api/v1/cases/{case_id}", self.public_url)
    }
}

/// Which rule a stalled case broke, and how, in words.
pub fn stall_reason(case: &Case, rules: &StallRules, now: NaiveDateTime) -> (&'static str, String) {
    let stage = case.stage();
    let in_stage = now - case.stage_entered_at;
    if let Some(limit) = rules.longest_stay(stage).filter(|limit| in_stage >= *limit) {
        return (
            "stage_overdue",
            format!(
                "in {stage} for {} (limit {})",
                email::humane(in_stage),
                email::humane(limit)
            ),
        );
    }
    if let Some(limit) = rules.longest_silence(stage) {
        let heard = case
            .last_contact_at
            .map_or(case.stage_entered_at, |c| c.max(case.stage_entered_at));
        if now - heard >= limit {
            return (
                "no_contact",
                format!(
                    "no contact for {} (limit {})",
                    email::humane(now - heard),
                    email::humane(limit)
                ),
            );
        }
    }
    (
        "stage_overdue",
        format!(
            "the snooze ended; in {stage} for {}",
            email::humane(in_stage)
        ),
    )
}

/// What makes a stall episode itself: the stage stay, the last contact and
/// the snooze it happened under. A change to any of them starts a new one.
pub fn episode(case: &Case, kind: &str) -> String {
    let stamp = |t: Option<NaiveDateTime>| t.map_or("-".to_string(), |t| t.and_utc().to_rfc3339());
    format!(
        "{}:{kind}:{}:{}:{}",
        case.id,
        case.stage_entered_at.and_utc().to_rfc3339(),
        stamp(case.last_contact_at),
        stamp(case.snoozed_until)
    )
}

/// Raises an alert on `case` and queues its emails, in the caller's
/// transaction. `None` when the episode has its alert already.
#[allow(clippy::too_many_arguments)]
pub fn raise(
    conn: &mut DbConnection,
    case: &Case,
    kind: &str,
    episode: String,
    rule: &str,
    actor: &Actor,
    now: NaiveDateTime,
    ctx: &AlertContext,
) -> Result<Option<Alert>, AppError> {
    let raised = Alert {
        id: new_id(),
        case_id: case.id.clone(),
        kind: kind.to_string(),
        stage: case.stage.clone(),
        state: alert::OPEN.to_string(),
        episode,
        raised_at: now,
        acknowledged_by: None,
        acknowledged_at: None,
        escalated_at: None,
        resolved_at: None,
    };
    if !raised.insert_once(conn)? {
        return Ok(None);
    }
    Event::new(&case.id, "alert_raised", actor, now)
        .detail(json!({ "alert_id": raised.id, "kind": kind, "rule": rule }))
        .insert(conn)?;
    let url = ctx.case_url(&case.id);
    let message = email::alert_raised(&AlertFacts {
        code: &case.code,
        case_url: &url,
        stage: &case.stage,
        rule,
        kind,
    });
    for (user_id, address) in User::alert_recipients(conn, case.assigned_to.as_deref())? {
        OutboxMessage::new(
            format!("alert:{}:raised:{user_id}", raised.id),
            &address,
            &message,
            now,
        )
        .enqueue(conn)?;
    }
    Ok(Some(raised))
}

/// What one scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// (alert, case code)
    pub raised: Vec<(Alert, String)>,
    pub escalated: Vec<(Alert, String)>,
}

/// One stall scan: an alert for each stalled case whose episode has none,
/// then escalations. Reads only the cases that are due (index on stall_at).
pub fn scan(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    ctx: &AlertContext,
) -> Result<ScanReport, AppError> {
    let due = Case::due(conn, now)?;
    let ids: Vec<String> = due.iter().map(|c| c.id.clone()).collect();
    let known: HashSet<String> = Alert::episodes_of(conn, &ids)?.into_iter().collect();
    let mut report = ScanReport::default();
    for case in due {
        let (kind, _) = stall_reason(&case, &ctx.rules, now);
        if known.contains(&episode(&case, kind)) {
            continue;
        }
        // Re-read under the row lock: the case may have moved since the scan began.
        let raised = db::write(conn, |conn| {
            let Some(case) = Case::lock_if_stalled(conn, &case.id, now)? else {
                return Ok(None);
            };
            let (kind, rule) = stall_reason(&case, &ctx.rules, now);
            let raised = raise(
                conn,
                &case,
                kind,
                episode(&case, kind),
                &rule,
                &Actor::system(),
                now,
                ctx,
            )?;
            Ok::<_, AppError>(raised.map(|a| (a, case.code.clone())))
        })?;
        report.raised.extend(raised);
    }
    report.escalated = escalate(conn, now, ctx)?;
    Ok(report)
}

/// Escalates every open alert nobody acknowledged within `escalate_after`, once.
pub fn escalate(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    ctx: &AlertContext,
) -> Result<Vec<(Alert, String)>, AppError> {
    let mut escalated = Vec::new();
    for due in Alert::due_for_escalation(conn, now - ctx.escalate_after)? {
        let done = db::write(conn, |conn| {
            if !Alert::mark_escalated(conn, &due.id, now)? {
                return Ok::<_, AppError>(None);
            }
            let case = Case::find(conn, &due.case_id)?;
            let waited = now - due.raised_at;
            Event::new(&case.id, "alert_escalated", &Actor::system(), now)
                .detail(json!({ "alert_id": due.id, "kind": due.kind }))
                .insert(conn)?;
            let url = ctx.case_url(&case.id);
            let (_, rule) = stall_reason(&case, &ctx.rules, now);
            let rule = if due.kind.starts_with("stage_") || due.kind == "no_contact" {
                rule
            } else {
                due.kind.replace('_', " ")
            };
            let message = email::alert_escalated(
                &AlertFacts {
                    code: &case.code,
                    case_url: &url,
                    stage: &due.stage,
                    rule: &rule,
                    kind: &due.kind,
                },
                waited,
            );
            for (admin, address) in User::active_with_roles(conn, &[Role::Admin])? {
                OutboxMessage::new(
                    format!("alert:{}:escalated:{admin}", due.id),
                    &address,
                    &message,
                    now,
                )
                .enqueue(conn)?;
            }
            Ok(Some((due.clone(), case.code)))
        })?;
        escalated.extend(done);
    }
    Ok(escalated)
}

/// A partner's `needs_help` or `missing` raises an alert at once.
pub fn checkin_alert(kind: crate::domain::CheckinKind) -> Option<(&'static str, &'static str)> {
    use crate::domain::CheckinKind::*;
    match kind {
        NeedsHelp => Some((
            "help_requested",
            "the shelter reported that the person needs help",
        )),
        Missing => Some((
            "reported_missing",
            "the shelter reported the person missing",
        )),
        _ => None,
    }
}
