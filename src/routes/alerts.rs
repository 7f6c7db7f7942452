//! Alerts as staff see them, and acknowledging them; the outbox for admins.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

use super::{clean, parse_id, Fields, PageRequest};
use crate::auth::{Admin, Coordinator, Staff};
use crate::db;
use crate::error::AppError;
use crate::models::alert::{self, Alert, AlertFilter};
use crate::models::event::Event;
use crate::models::outbox::OutboxMessage;
use crate::startup::AppState;

const KINDS: [&str; 4] = [
    "stage_overdue",
    "no_contact",
    "help_requested",
    "reported_missing",
];
const STATES: [&str; 3] = [alert::OPEN, alert::ACKNOWLEDGED, alert::RESOLVED];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    case_id: Option<String>,
    kind: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    #[validate(length(max = 500))]
    note: Option<String>,
}

#[derive(Serialize)]
pub struct AlertView {
    id: String,
    case_id: String,
    case_code: String,
    kind: String,
    stage: String,
    state: String,
    raised_at: DateTime<Utc>,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<DateTime<Utc>>,
    escalated_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
}

impl AlertView {
    fn new((a, case_code): (Alert, String)) -> Self {
        Self {
            id: a.id,
            case_id: a.case_id,
            case_code,
            kind: a.kind,
            stage: a.stage,
            state: a.state,
            raised_at: a.raised_at.and_utc(),
            acknowledged_by: a.acknowledged_by,
            acknowledged_at: a.acknowledged_at.map(|t| t.and_utc()),
            escalated_at: a.escalated_at.map(|t| t.and_utc()),
            resolved_at: a.resolved_at.map(|t| t.and_utc()),
        }
    }
}

fn one_of(
    fields: &mut Fields,
    field: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Option<String> {
    let value = value?;
    if allowed.contains(&value.as_str()) {
        Some(value)
    } else {
        fields.error(field, format!("must be one of {}", allowed.join(", ")));
        None
    }
}

pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut fields = Fields::default();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), &mut fields);
    let filter = AlertFilter {
        state: one_of(&mut fields, "state", query.state, &STATES),
        kind: one_of(&mut fields, "kind", query.kind, &KINDS),
        case_id: fields.id("case_id", query.case_id.as_deref(), "must be an id"),
    };
    fields.finish()?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = db::run(&state.pool, move |conn| {
        Ok(Alert::list(conn, &filter, after.as_deref(), fetch)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |(a, _)| a.id.clone(), AlertView::new)))
}

/// Someone is on it: the alert stops escalating. Acknowledging twice
/// changes nothing; a resolved alert needs no acknowledgement (409).
pub async fn acknowledge(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    path: web::Path<String>,
    body: web::Json<AckBody>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    Fields::from_validator(body.validate()).finish()?;
    let note = clean(body.into_inner().note);
    let now = state.clock.now().naive_utc();
    let found = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let (current, _) = Alert::find_with_code(conn, &id)?;
            if current.state == alert::RESOLVED {
                return Err(AppError::conflict(
                    "alert-resolved",
                    "Alert resolved",
                    "The alert is resolved already.",
                ));
            }
            if Alert::acknowledge(conn, &id, &user.id, now)? == 1 {
                let mut detail = json!({ "alert_id": id, "kind": current.kind });
                if let Some(note) = note {
                    detail["note"] = note.into();
                }
                Event::new(&current.case_id, "alert_acknowledged", &user.actor(), now)
                    .detail(detail)
                    .insert(conn)?;
            }
            Ok(Alert::find_with_code(conn, &id)?)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(AlertView::new(found)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    state: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// An undelivered email as admins see it.
#[derive(Serialize)]
pub struct OutboxView {
    id: String,
    dedupe_key: String,
    recipient: String,
    subject: String,
    created_at: DateTime<Utc>,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    dead_at: Option<DateTime<Utc>>,
}

impl From<OutboxMessage> for OutboxView {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            dedupe_key: m.dedupe_key,
            recipient: m.recipient,
            subject: m.subject,
            created_at: m.created_at.and_utc(),
            attempts: m.attempts,
            last_error: m.last_error,
            next_attempt_at: m.next_attempt_at.and_utc(),
            dead_at: m.dead_at.map(|t| t.and_utc()),
        }
    }
}

/// Emails not delivered yet (`?state=pending`, the default) or given up on (`?state=dead`).
pub async fn outbox(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut fields = Fields::default();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), &mut fields);
    let dead = one_of(&mut fields, "state", query.state, &["pending", "dead"])
        .is_some_and(|s| s == "dead");
    fields.finish()?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = db::run(&state.pool, move |conn| {
        Ok(OutboxMessage::undelivered(
            conn,
            dead,
            after.as_deref(),
            fetch,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |m| m.id.clone(), OutboxView::from)))
}
