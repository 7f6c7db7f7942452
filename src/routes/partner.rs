//! The partner shelter API: a key sees its own shelter and the cases placed
//! there now, with only what a shelter needs, and reports check-ins and its
//! capacity. Every query is scoped to the key's shelter in SQL; a case out of
//! scope is the same 404 as one that does not exist.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

use super::{change_case, clean, Fields, PageQuery, PageRequest};
use crate::auth::Partner;
use crate::db;
use crate::domain::{CaseCode, CheckinKind};
use crate::error::AppError;
use crate::jobs::alerts;
use crate::models::case::Case;
use crate::models::shelter::Shelter;
use crate::startup::AppState;

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CapacityBody {
    #[validate(range(min = 0, max = 10_000))]
    capacity: i32,
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CheckinBody {
    kind: String,
    #[validate(length(max = 500))]
    note: Option<String>,
}

#[derive(Serialize)]
pub struct ShelterView {
    id: String,
    name: String,
    capacity: i32,
    occupancy: i64,
    available_beds: i64,
}

impl ShelterView {
    fn new(s: Shelter, occupancy: i64) -> Self {
        Self {
            available_beds: (i64::from(s.capacity) - occupancy).max(0),
            id: s.id,
            name: s.name,
            capacity: s.capacity,
            occupancy,
        }
    }
}

/// A guest as the shelter sees them: no id, no coordinator, no origin or
/// destination. `alias` is the only personal field a shelter may see; it
/// stays null until personal data is stored.
#[derive(Serialize)]
pub struct PartnerCaseView {
    code: String,
    alias: Option<String>,
    household_size: i32,
    needs: Vec<String>,
    risk_level: String,
    stage_entered_at: DateTime<Utc>,
    last_contact_at: Option<DateTime<Utc>>,
}

impl From<Case> for PartnerCaseView {
    fn from(c: Case) -> Self {
        Self {
            needs: c.needs(),
            code: c.code,
            alias: None,
            household_size: c.household_size,
            risk_level: c.risk_level,
            stage_entered_at: c.stage_entered_at.and_utc(),
            last_contact_at: c.last_contact_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Serialize)]
pub struct CheckinView {
    id: String,
    code: String,
    kind: String,
    at: DateTime<Utc>,
    detail: Value,
}

pub async fn shelter(
    state: web::Data<AppState>,
    partner: Partner,
) -> Result<HttpResponse, AppError> {
    let id = partner.shelter_id;
    let (shelter, occupancy) = db::run(&state.pool, move |conn| {
        Ok((Shelter::find(conn, &id)?, Shelter::occupancy(conn, &id)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ShelterView::new(shelter, occupancy)))
}

/// The shelter reports how many people it can take.
pub async fn update_shelter(
    state: web::Data<AppState>,
    partner: Partner,
    body: web::Json<CapacityBody>,
) -> Result<HttpResponse, AppError> {
    Fields::from_validator(body.validate()).finish()?;
    let capacity = body.capacity;
    let id = partner.shelter_id;
    let now = state.clock.now().naive_utc();
    let (shelter, occupancy) = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            Shelter::change(conn, &id, None, now, |shelter| shelter.capacity = capacity)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(ShelterView::new(shelter, occupancy)))
}

/// The cases placed at this shelter now, by code.
pub async fn cases(
    state: web::Data<AppState>,
    partner: Partner,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let mut fields = Fields::default();
    // The cursor is the last code of the previous page: no case id leaves for a shelter.
    let page = PageRequest::parse_with(query.limit, query.cursor.as_deref(), &mut fields, |c| {
        CaseCode::parse(c).map(|code| code.to_string())
    });
    fields.finish()?;
    let shelter = partner.shelter_id;
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = db::run(&state.pool, move |conn| {
        Ok(Case::list_placed(conn, &shelter, after.as_deref(), fetch)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |c| c.code.clone(), PartnerCaseView::from)))
}

/// A check-in on a guest: on the case's timeline with the shelter as actor,
/// and it counts as contact. `departed` does not move the case: coordinators
/// decide the next stage.
pub async fn checkin(
    state: web::Data<AppState>,
    partner: Partner,
    path: web::Path<String>,
    body: web::Json<CheckinBody>,
) -> Result<HttpResponse, AppError> {
    // Not even a code: the same 404 as a code elsewhere.
    let code = CaseCode::parse(&path).ok_or_else(AppError::not_found)?;
    let body = body.into_inner();
    let mut fields = Fields::from_validator(body.validate());
    let kind = fields.name(
        "kind",
        Some(&body.kind),
        CheckinKind::parse,
        CheckinKind::names,
    );
    fields.finish()?;
    let kind = kind.ok_or_else(|| AppError::internal("kind checked above"))?;
    let note = clean(body.note);
    let context = state.alerts.clone();
    let shelter = partner.shelter_id.clone();
    let (case, event) = change_case(&state, partner.actor(), None, move |conn, change| {
        let (case, event) =
            Case::record_checkin(conn, code.as_str(), &shelter, kind.as_str(), note, change)?;
        // needs_help and missing reach a coordinator at once, not at the next scan.
        if let Some((alert_kind, rule)) = alerts::checkin_alert(kind) {
            let episode = format!("{}:{alert_kind}:{}", case.id, event.id);
            alerts::raise(
                conn,
                &case,
                alert_kind,
                episode,
                rule,
                change.actor,
                change.now,
                &context,
            )?;
        }
        Ok((case, event))
    })
    .await?;
    Ok(HttpResponse::Created().json(CheckinView {
        detail: event.detail_json(),
        id: event.id,
        code: case.code,
        kind: event.kind,
        at: event.at.and_utc(),
    }))
}
