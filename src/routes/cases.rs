//! Cases as staff see them: create, read, list, change, move through the
//! stages, record contacts, snooze, and read the timeline.

use super::answers::*;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::extract::Patch;
use super::extract::ReadOnlyFields;
use super::extract::{
    created_with_etag, with_etag, Body, CaseCursor, Filters, IfMatch, Listing, NoFilters,
};
use super::text::{self, clean, double_option};
use crate::auth::{Coordinator, Staff};
use crate::db;
use crate::domain::{
    country, ActorKind, AuditAction, CaseCode, CaseId, CaseRef, Channel, EventKind,
};
use crate::domain::{Needs, Outcome};
use crate::domain::{RiskLevel, ShelterId, Stage, Timestamp, UserId};
use crate::error::AppError;
use crate::models::case::{Case, CaseFilter, SortCursor};
use crate::models::event::Event;
use crate::models::PageRequest;
use crate::operations::cases::{self, CaseDraft, CasePatch, Move};
use crate::operations::sealing;
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    risk_level: Option<RiskLevel>,
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    household_size: Option<i32>,
    needs: Option<Needs>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    origin_region: Option<String>,
    #[validate(custom(function = "country::validate"))]
    #[schema(pattern = "^[A-Z]{2}$", example = "CA")]
    destination_country: Option<String>,
    assigned_to: Option<UserId>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    risk_level: Option<RiskLevel>,
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    household_size: Option<i32>,
    needs: Option<Needs>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    origin_region: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = "country::validate"))]
    #[schema(pattern = "^[A-Z]{2}$", example = "CA")]
    destination_country: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    assigned_to: Option<Option<UserId>>,
    #[serde(default)]
    override_capacity: bool,
}

/// Fields of a case that only transitions, contacts and snoozes change.
impl ReadOnlyFields for UpdateCase {
    const READ_ONLY: &'static [&'static str] = &[
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
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    to: Stage,
    shelter_id: Option<ShelterId>,
    outcome: Option<Outcome>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    note: Option<String>,
    #[serde(default)]
    override_capacity: bool,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    channel: Channel,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    note: Option<String>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeBody {
    until: Timestamp,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// A case as staff see it: operational fields only, never personal ones.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    id: CaseId,
    code: CaseCode,
    stage: Stage,
    outcome: Option<Outcome>,
    risk_level: RiskLevel,
    household_size: i32,
    needs: Needs,
    origin_region: Option<String>,
    destination_country: Option<String>,
    shelter_id: Option<ShelterId>,
    assigned_to: Option<UserId>,
    #[serde(serialize_with = "crate::stamp::serialize")]
    stage_entered_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::stamp::serialize_opt")]
    last_contact_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::stamp::serialize_opt")]
    stall_at: Option<DateTime<Utc>>,
    stalled: bool,
    #[serde(serialize_with = "crate::stamp::serialize_opt")]
    snoozed_until: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::stamp::serialize")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::stamp::serialize")]
    updated_at: DateTime<Utc>,
    version: i32,
}

impl CaseView {
    fn new(c: Case, now: NaiveDateTime) -> Self {
        Self {
            stalled: c.is_stalled(now),
            id: c.id,
            code: c.code,
            stage: c.stage,
            outcome: c.outcome,
            risk_level: c.risk_level,
            household_size: c.household_size,
            needs: c.needs,
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

#[derive(Serialize, ToSchema)]
#[schema(as = EventActor)]
pub struct ActorView {
    kind: ActorKind,
    id: Option<String>,
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    id: String,
    kind: EventKind,
    at: DateTime<Utc>,
    actor: ActorView,
    from_stage: Option<Stage>,
    to_stage: Option<Stage>,
    shelter_id: Option<ShelterId>,
    detail: Value,
}

impl EventView {
    /// The event with its detail as staff read it (notes opened).
    pub fn new(e: Event, detail: Value) -> Self {
        Self {
            detail,
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

    /// An event just written, with the note its writer sent.
    pub fn written(e: Event, note: Option<&str>) -> Self {
        let detail = sealing::detail_with_note(&e, note);
        Self::new(e, detail)
    }
}

/// The case as the answer to a read or a change, with its ETag.
fn case_response(state: &AppState, case: Case) -> HttpResponse {
    with_etag(case.version, &CaseView::new(case, state.now()))
}

#[utoipa::path(
    post,
    path = "/api/v1/cases",
    operation_id = "cases_create",
    tag = "cases",
    security(("staff" = [])),
    request_body = CreateCase,
    responses(
        (status = 201, description = "The case", body = CaseView, headers(("Location" = String, description = "Where it lives"), ("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    Body(body): Body<CreateCase>,
) -> Result<HttpResponse, AppError> {
    let draft = CaseDraft {
        risk_level: body.risk_level.unwrap_or(RiskLevel::Medium),
        household_size: body.household_size.unwrap_or(1),
        needs: body.needs.unwrap_or_default(),
        origin_region: clean(body.origin_region),
        destination_country: body.destination_country,
        assigned_to: body.assigned_to,
    };
    let case = state
        .change(user.actor(), None, move |conn, change| {
            cases::create(conn, draft, change)
        })
        .await?;
    Ok(created_with_etag(
        format!("/cases/{}", case.id),
        case.version,
        &CaseView::new(case, state.now()),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases",
    operation_id = "cases_list",
    tag = "cases",
    security(("staff" = [])),
    params(CaseFilter, Paging),
    responses(
        (status = 200, description = "A page of cases, oldest first unless `sort` says otherwise; with `count=true`, `total` too", body = Page<CaseView>),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    Staff(user): Staff,
    Listing { filter, page, .. }: Listing<CaseFilter, CaseCursor>,
) -> Result<HttpResponse, AppError> {
    let filter = filter.for_caller(&user.id);
    let fits = match (filter.sort, page.after.as_deref()) {
        (_, None) => true,
        (None, Some(after)) => CaseId::parse(after).is_some(),
        (Some(sort), Some(after)) => SortCursor::parse(after).is_some_and(|c| c.sort == sort),
    };
    if !fits {
        return Err(AppError::invalid(
            "cursor",
            "belongs to a list in another order (sort): start again without it",
        ));
    }
    let now = state.now();
    let (query, wanted) = (page.clone(), filter.clone());
    let (rows, total) = db::run(&state.pool, move |conn| {
        let rows = Case::list(conn, &wanted, now, &query)?;
        let total = match wanted.count {
            Some(true) => Some(Case::count_matching(conn, &wanted, now)?),
            _ => None,
        };
        Ok((rows, total))
    })
    .await?;
    let view = |c| CaseView::new(c, now);
    let mut page = page.page(rows, |c| c.cursor(&filter), view);
    page.total = total;
    Ok(super::page_response(page))
}

/// The columns of the CSV export: the operational fields of [`CaseView`],
/// named as in JSON.
const CSV_COLUMNS: [&str; 19] = [
    "id",
    "code",
    "stage",
    "outcome",
    "risk_level",
    "household_size",
    "needs",
    "origin_region",
    "destination_country",
    "shelter_id",
    "assigned_to",
    "stage_entered_at",
    "last_contact_at",
    "stall_at",
    "stalled",
    "snoozed_until",
    "created_at",
    "updated_at",
    "version",
];

/// Cases read per query while exporting.
const EXPORT_BATCH: i64 = 500;

/// A case as a CSV line: each column as the JSON has it (lists joined by
/// `;`, null empty).
fn csv_line(view: &CaseView) -> String {
    let value = serde_json::to_value(view).unwrap_or_default();
    let cell = |column: &str| match &value[column] {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    let cells: Vec<String> = CSV_COLUMNS.iter().map(|c| cell(c)).collect();
    text::csv_line(cells.iter().map(String::as_str))
}

/// Every case the filters match, as CSV (RFC 4180), streamed in batches;
/// operational fields only.
#[utoipa::path(
    get,
    path = "/api/v1/cases.csv",
    operation_id = "cases_export",
    tag = "cases",
    security(("staff" = [])),
    params(CaseFilter),
    responses(
        (status = 200, description = "Every matching case, RFC 4180, with a header row named as the JSON fields; cells that could start a formula begin with '", content_type = "text/csv", body = String),
    ),
)]
pub async fn export(
    state: web::Data<AppState>,
    Staff(user): Staff,
    Filters(filter): Filters<CaseFilter>,
) -> Result<HttpResponse, AppError> {
    let filter = filter.for_caller(&user.id);
    state
        .read_audited(user.actor(), |_, change| {
            Ok(change.audited((), AuditAction::CasesExported, None, None))
        })
        .await?;
    let now = state.now();
    let header = Bytes::from(text::csv_line(CSV_COLUMNS));
    let first = futures_util::stream::once(async move { Ok::<_, AppError>(header) });
    let batches = futures_util::stream::unfold(Some(None), move |after: Option<Option<String>>| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            let after = after?;
            let page = PageRequest {
                limit: EXPORT_BATCH,
                after,
            };
            let (query, wanted) = (page.clone(), filter.clone());
            let rows = db::run(&state.pool, move |conn| {
                Ok(Case::list(conn, &wanted, now, &query)?)
            })
            .await;
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => return Some((Err(e), None)),
            };
            let found = page.page(rows, |c| c.cursor(&filter), |c| CaseView::new(c, now));
            let chunk: String = found.items.iter().map(csv_line).collect();
            Some((Ok(Bytes::from(chunk)), found.next_cursor.map(Some)))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cases.csv\"",
        ))
        .streaming(first.chain(batches)))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    operation_id = "cases_get",
    tag = "cases",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code")),
    responses(
        (status = 200, description = "The case", body = CaseView, headers(("ETag" = String, description = "The version, for If-Match"))),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    _user: Staff,
    id: web::Path<CaseRef>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let case = db::run(&state.pool, move |conn| Ok(Case::find_ref(conn, &id)?)).await?;
    Ok(case_response(&state, case))
}

#[utoipa::path(
    patch,
    path = "/api/v1/cases/{id}",
    operation_id = "cases_update",
    tag = "cases",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = UpdateCase,
    responses(
        (status = 200, description = "The case", body = CaseView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn update(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    IfMatch(expected): IfMatch,
    id: web::Path<CaseRef>,
    Patch(body): Patch<UpdateCase>,
) -> Result<HttpResponse, AppError> {
    let patch = CasePatch {
        risk_level: body.risk_level,
        household_size: body.household_size,
        needs: body.needs,
        origin_region: body.origin_region.map(clean),
        destination_country: body.destination_country,
        assigned_to: body.assigned_to,
        override_capacity: body.override_capacity,
    };
    let case = state
        .change(user.actor(), expected, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            cases::update(conn, &id, patch, change)
        })
        .await?;
    Ok(case_response(&state, case))
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/transitions",
    operation_id = "cases_transition",
    tag = "cases",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The case", body = CaseView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn transition(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    IfMatch(expected): IfMatch,
    id: web::Path<CaseRef>,
    Body(body): Body<TransitionBody>,
) -> Result<HttpResponse, AppError> {
    let request = Move {
        to: body.to,
        shelter_id: body.shelter_id,
        outcome: body.outcome,
        note: clean(body.note),
        override_capacity: body.override_capacity,
    };
    let case = state
        .change(user.actor(), expected, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            cases::transition(conn, &id, request, change)
        })
        .await?;
    Ok(case_response(&state, case))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/events",
    operation_id = "cases_events",
    tag = "cases",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code"), Paging),
    responses(
        (status = 200, description = "A page of the timeline, oldest first. Coordinators and admins read each note or snooze reason in its place (a page that holds any is audited as `personal.read`); observers get `\"has_note\": true` instead of the text.", body = Page<EventView>),
    ),
)]
pub async fn events(
    state: web::Data<AppState>,
    Staff(user): Staff,
    id: web::Path<CaseRef>,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    // Notes and reasons are personal: coordinators and admins read them
    // (audited), observers learn only that there is one.
    let reveal = user.role.can_write_cases();
    let (query, context, actor, now) = (
        page.clone(),
        state.context.clone(),
        user.actor(),
        state.now(),
    );
    let (rows, mut details, read) = db::run(&state.pool, move |conn| {
        let id = Case::find_ref(conn, &id)?.id;
        let rows = Event::list_for_case(conn, &id, &query)?;
        let (details, opened) = sealing::open_details(conn, &context.keys, &id, &rows, reveal)?;
        let read = opened.then(|| {
            let change = context.change(&actor, now);
            let target = Some("timeline".to_string());
            change
                .audited((), AuditAction::PersonalRead, Some(&id), target)
                .entry
        });
        Ok((rows, details, read))
    })
    .await?;
    if let Some(entry) = read {
        state.audit.append(entry).await?;
    }
    let view = |e: Event| {
        let detail = details.remove(&e.id).unwrap_or_default();
        EventView::new(e, detail)
    };
    Ok(super::page_response(page.page(
        rows,
        |e| e.id.clone(),
        view,
    )))
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/contacts",
    operation_id = "cases_contact",
    tag = "cases",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code")),
    request_body = ContactBody,
    responses(
        (status = 201, description = "The event, on the timeline", body = EventView),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
pub async fn contact(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<CaseRef>,
    Body(body): Body<ContactBody>,
) -> Result<HttpResponse, AppError> {
    let note = clean(body.note);
    let sent = note.clone();
    let event = state
        .change(user.actor(), None, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            cases::contact(conn, &id, body.channel, note, change)
        })
        .await?;
    let case = event.case_id.clone();
    let res = HttpResponse::Created().json(EventView::written(event, sent.as_deref()));
    Ok(match sent {
        Some(_) => super::idempotency::holds_personal(res, &case),
        None => res,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/snooze",
    operation_id = "cases_snooze",
    tag = "cases",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = "The case: its id, or its code"), ("If-Match" = Option<String>, Header, description = "The ETag of the version you last read; 412 when it is no longer current.")),
    request_body = SnoozeBody,
    responses(
        (status = 200, description = "The case", body = CaseView, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn snooze(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    IfMatch(expected): IfMatch,
    id: web::Path<CaseRef>,
    Body(body): Body<SnoozeBody>,
) -> Result<HttpResponse, AppError> {
    let (until, reason) = (body.until.0.naive_utc(), body.reason.trim().to_string());
    let case = state
        .change(user.actor(), expected, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            cases::snooze(conn, &id, until, reason, change)
        })
        .await?;
    Ok(case_response(&state, case))
}
