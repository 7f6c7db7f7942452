//! Cases as staff see them: create, read, list, change, move through the
//! stages, record contacts, snooze, and read the timeline.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

use super::{
    change_case, check_patch_extras, clean, double_option, etag, if_match, parse_id, with_etag,
    Fields, PageQuery, PageRequest,
};
use crate::auth::{Coordinator, Staff};
use crate::db;
use crate::domain::{code, country, ContactChannel, Need, Outcome, RiskLevel, Stage};
use crate::error::AppError;
use crate::models::case::{Case, CaseDraft, CaseFilter, CasePatch, Move};
use crate::models::event::Event;
use crate::startup::AppState;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    risk_level: Option<String>,
    #[validate(range(min = 1, max = 50))]
    household_size: Option<i32>,
    needs: Option<Vec<String>>,
    #[validate(length(max = 100))]
    origin_region: Option<String>,
    #[validate(custom(function = "country::validate"))]
    destination_country: Option<String>,
    assigned_to: Option<String>,
}

#[derive(Deserialize, Validate)]
pub struct UpdateCase {
    risk_level: Option<String>,
    #[validate(range(min = 1, max = 50))]
    household_size: Option<i32>,
    needs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100))]
    origin_region: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = "country::validate"))]
    destination_country: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    assigned_to: Option<Option<String>>,
    #[serde(default)]
    override_capacity: bool,
    #[serde(flatten)]
    extras: serde_json::Map<String, Value>,
}

const ASSIGNEE: &str = "must be the id of an active coordinator or admin";

/// Fields of a case that only transitions, contacts and snoozes change.
const READ_ONLY: &[&str] = &[
    "id",
    "code",
    "stage",
    "outcome",
    "shelter_id",
    "stage_entered_at",
    "last_contact_at",
    "stall_at",
    "stalled",
    "snoozed_until",
    "created_at",
    "updated_at",
    "version",
];

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    to: String,
    shelter_id: Option<String>,
    outcome: Option<String>,
    #[validate(length(max = 2000))]
    note: Option<String>,
    #[serde(default)]
    override_capacity: bool,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    channel: String,
    #[validate(length(max = 2000))]
    note: Option<String>,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct SnoozeBody {
    until: String,
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    stage: Option<String>,
    shelter_id: Option<String>,
    assigned_to: Option<String>,
    risk_level: Option<String>,
    stalled: Option<bool>,
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// A case as staff see it: operational fields only, never personal ones.
#[derive(Serialize)]
pub struct CaseView {
    id: String,
    code: String,
    stage: String,
    outcome: Option<String>,
    risk_level: String,
    household_size: i32,
    needs: Vec<String>,
    origin_region: Option<String>,
    destination_country: Option<String>,
    shelter_id: Option<String>,
    assigned_to: Option<String>,
    stage_entered_at: DateTime<Utc>,
    last_contact_at: Option<DateTime<Utc>>,
    stall_at: Option<DateTime<Utc>>,
    stalled: bool,
    snoozed_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

impl CaseView {
    fn new(c: Case, now: NaiveDateTime) -> Self {
        Self {
            stalled: c.is_stalled(now),
            needs: c.needs(),
            id: c.id,
            code: c.code,
            stage: c.stage,
            outcome: c.outcome,
            risk_level: c.risk_level,
            household_size: c.household_size,
            origin_region: c.origin_region,
            destination_country: c.destination_country,
            shelter_id: c.shelter_id,
            assigned_to: c.assigned_to,
            stage_entered_at: c.stage_entered_at.and_utc(),
            last_contact_at: c.last_contact_at.map(|t| t.and_utc()),
            stall_at: c.stall_at.map(|t| t.and_utc()),
            snoozed_until: c.snoozed_until.map(|t| t.and_utc()),
            created_at: c.created_at.and_utc(),
            updated_at: c.updated_at.and_utc(),
            version: c.version,
        }
    }
}

#[derive(Serialize)]
pub struct ActorView {
    kind: String,
    id: Option<String>,
    name: Option<String>,
}

#[derive(Serialize)]
pub struct EventView {
    id: String,
    kind: String,
    at: DateTime<Utc>,
    actor: ActorView,
    from_stage: Option<String>,
    to_stage: Option<String>,
    shelter_id: Option<String>,
    detail: Value,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        Self {
            detail: e.detail_json(),
            id: e.id,
            kind: e.kind,
            at: e.at.and_utc(),
            actor: ActorView {
                kind: e.actor_kind,
                id: e.actor_id,
                name: e.actor_name,
            },
            from_stage: e.from_stage,
            to_stage: e.to_stage,
            shelter_id: e.shelter_id,
        }
    }
}

/// The case as the answer to a change, with its new ETag.
fn case_response(case: Case, now: NaiveDateTime) -> HttpResponse {
    with_etag(case.version, &CaseView::new(case, now))
}

pub async fn create(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    body: web::Json<CreateCase>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let risk_level = fields.name(
        "risk_level",
        body.risk_level.as_deref(),
        RiskLevel::parse,
        RiskLevel::names,
    );
    let needs = fields.names("needs", body.needs.as_deref(), Need::parse, Need::names);
    let assigned_to = fields.id("assigned_to", body.assigned_to.as_deref(), ASSIGNEE);
    fields.finish()?;
    let draft = CaseDraft {
        risk_level: risk_level.unwrap_or(RiskLevel::Medium),
        household_size: body.household_size.unwrap_or(1),
        needs: needs.unwrap_or_default(),
        origin_region: clean(body.origin_region),
        destination_country: body.destination_country,
        assigned_to,
    };
    let case = change_case(&state, user.actor(), None, move |conn, change| {
        Case::create(conn, draft, change)
    })
    .await?;
    let now = state.clock.now().naive_utc();
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::ETAG, etag(case.version)))
        .json(CaseView::new(case, now)))
}

pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut fields = Fields::default();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), &mut fields);
    let stage = fields.name("stage", query.stage.as_deref(), Stage::parse, Stage::names);
    let risk_level = fields.name(
        "risk_level",
        query.risk_level.as_deref(),
        RiskLevel::parse,
        RiskLevel::names,
    );
    let code_prefix = query.q.as_deref().and_then(|q| {
        let prefix = code::parse_prefix(q);
        if prefix.is_none() {
            fields.error("q", "must be the start of a case code, such as EV-7K");
        }
        prefix
    });
    // An id that is not a UUID matches nothing; say so rather than answer empty.
    let shelter_id = fields.id("shelter_id", query.shelter_id.as_deref(), "must be an id");
    let assigned_to = fields.id("assigned_to", query.assigned_to.as_deref(), "must be an id");
    fields.finish()?;
    let filter = CaseFilter {
        stage,
        shelter_id,
        assigned_to,
        risk_level,
        stalled: query.stalled,
        code_prefix,
    };
    let now = state.clock.now().naive_utc();
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = db::run(&state.pool, move |conn| {
        Ok(Case::list(conn, &filter, now, after.as_deref(), fetch)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |c| c.id.clone(), |c| CaseView::new(c, now))))
}

pub async fn get(
    state: web::Data<AppState>,
    _user: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let case = db::run(&state.pool, move |conn| Ok(Case::find(conn, &id)?)).await?;
    Ok(case_response(case, state.clock.now().naive_utc()))
}

pub async fn update(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateCase>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    check_patch_extras(&body.extras, READ_ONLY, &mut fields)?;
    let risk_level = fields.name(
        "risk_level",
        body.risk_level.as_deref(),
        RiskLevel::parse,
        RiskLevel::names,
    );
    let needs = fields.names("needs", body.needs.as_deref(), Need::parse, Need::names);
    let assigned_to = body
        .assigned_to
        .map(|a| fields.id("assigned_to", a.as_deref(), ASSIGNEE));
    fields.finish()?;
    let patch = CasePatch {
        risk_level,
        household_size: body.household_size,
        needs,
        origin_region: body.origin_region.map(clean),
        destination_country: body.destination_country,
        assigned_to,
        override_capacity: body.override_capacity,
    };
    let case = change_case(&state, user.actor(), expected, move |conn, change| {
        Case::update(conn, &id, patch, change)
    })
    .await?;
    Ok(case_response(case, state.clock.now().naive_utc()))
}

pub async fn transition(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<TransitionBody>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let to = fields.name("to", Some(&body.to), Stage::parse, Stage::names);
    let outcome = fields.name(
        "outcome",
        body.outcome.as_deref(),
        Outcome::parse,
        Outcome::names,
    );
    let shelter_id = fields.id("shelter_id", body.shelter_id.as_deref(), "no such shelter");
    fields.finish()?;
    let request = Move {
        to: to.ok_or_else(|| AppError::internal("stage checked above"))?,
        shelter_id,
        outcome,
        note: clean(body.note),
        override_capacity: body.override_capacity,
    };
    let case = change_case(&state, user.actor(), expected, move |conn, change| {
        Case::transition(conn, &id, request, change)
    })
    .await?;
    Ok(case_response(case, state.clock.now().naive_utc()))
}

pub async fn events(
    state: web::Data<AppState>,
    _user: Staff,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut fields = Fields::default();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), &mut fields);
    fields.finish()?;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = db::run(&state.pool, move |conn| {
        Case::find(conn, &id)?;
        Ok(Event::list_for_case(conn, &id, after.as_deref(), fetch)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |e| e.id.clone(), EventView::from)))
}

pub async fn contact(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    path: web::Path<String>,
    body: web::Json<ContactBody>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let channel = fields.name(
        "channel",
        Some(&body.channel),
        ContactChannel::parse,
        ContactChannel::names,
    );
    fields.finish()?;
    let channel = channel.ok_or_else(|| AppError::internal("channel checked above"))?;
    let note = clean(body.note);
    let event = change_case(&state, user.actor(), None, move |conn, change| {
        Case::record_contact(conn, &id, channel.as_str(), note, change)
    })
    .await?;
    Ok(HttpResponse::Created().json(EventView::from(event)))
}

pub async fn snooze(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SnoozeBody>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let expected = if_match(&req)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let until = DateTime::parse_from_rfc3339(body.until.trim()).ok();
    if until.is_none() {
        fields.error(
            "until",
            "must be an RFC 3339 time, such as 2026-12-01T09:00:00Z",
        );
    }
    fields.finish()?;
    let until = until
        .ok_or_else(|| AppError::internal("until checked above"))?
        .naive_utc();
    let reason = body.reason.trim().to_string();
    let case = change_case(&state, user.actor(), expected, move |conn, change| {
        Case::snooze(conn, &id, until, reason, change)
    })
    .await?;
    Ok(case_response(case, state.clock.now().naive_utc()))
}
