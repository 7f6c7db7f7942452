//! The overview numbers: cases by stage and outcome, stalls, open alerts,
//! the median time in each stage, and shelter occupancy. Aggregates only,
//! never a case loaded; the medians are taken over one duration per stay.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Staff;
use crate::db;
use crate::domain::{Outcome, ShelterId, Stage};
use crate::error::AppError;
use crate::models::expense::Expense;
use crate::models::report::{self, Stay};
use crate::models::shelter::Shelter;
use crate::operations::expenses::{self, MonthSpent};
use crate::state::AppState;

/// A number for each stage.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ByStage<T> {
    intake: T,
    safe_house: T,
    transit: T,
    resettlement: T,
    closed: T,
}

impl<T> ByStage<T> {
    fn slot(&mut self, stage: Stage) -> &mut T {
        match stage {
            Stage::Intake => &mut self.intake,
            Stage::SafeHouse => &mut self.safe_house,
            Stage::Transit => &mut self.transit,
            Stage::Resettlement => &mut self.resettlement,
            Stage::Closed => &mut self.closed,
        }
    }
}

/// How many closed cases ended each way.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ByOutcome {
    resettled: i64,
    withdrawn: i64,
    lost_contact: i64,
    returned: i64,
    deceased: i64,
    other: i64,
}

impl ByOutcome {
    fn slot(&mut self, outcome: Outcome) -> &mut i64 {
        match outcome {
            Outcome::Resettled => &mut self.resettled,
            Outcome::Withdrawn => &mut self.withdrawn,
            Outcome::LostContact => &mut self.lost_contact,
            Outcome::Returned => &mut self.returned,
            Outcome::Deceased => &mut self.deceased,
            Outcome::Other => &mut self.other,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShelterLoad {
    id: ShelterId,
    name: String,
    capacity: i32,
    /// People placed there now.
    occupancy: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Cases in each stage now.
    cases_by_stage: ByStage<i64>,
    /// Closed cases by how they ended.
    closed_by_outcome: ByOutcome,
    /// Open cases past their stall deadline now (as `GET /cases?stalled=true`).
    stalled: i64,
    /// Alerts in state `open` (as `GET /alerts?state=open`).
    open_alerts: i64,
    /// The median of finished stays in each stage, in days (null when no
    /// case has left that stage yet; `closed` is never left).
    median_days_in_stage: ByStage<Option<f64>>,
    /// Active shelters, with the people placed at each.
    shelters: Vec<ShelterLoad>,
    /// Documents overdue or expiring: their unresolved alerts.
    documents_alerting: i64,
    /// People on the way past their leg's `arrive_by` (as `GET
    /// /cases?in_transit_overdue=true`, counted by leg).
    legs_overdue: i64,
    /// Spending of the last twelve months (this one included), by month,
    /// category and currency: no conversion.
    spending: Vec<MonthSpent>,
    /// The moment these numbers are of.
    as_of: DateTime<Utc>,
}

/// The median of `values`, which it sorts; `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Median days per stage over the finished stays, to a tenth of a day.
fn medians(stays: Vec<Stay>) -> ByStage<Option<f64>> {
    let mut days: HashMap<Stage, Vec<f64>> = HashMap::new();
    for stay in stays {
        let seconds = (stay.left_at - stay.entered_at).num_seconds().max(0) as f64;
        days.entry(stay.stage).or_default().push(seconds / 86_400.0);
    }
    let mut out = ByStage::default();
    for (stage, mut values) in days {
        *out.slot(stage) = median(&mut values).map(|d| (d * 10.0).round() / 10.0);
    }
    out
}

/// The overview numbers.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    operation_id = "stats_stats",
    tag = "meta",
    security(("staff" = [])),
    responses(
        (status = 200, description = "The overview numbers", body = Stats),
    ),
)]
pub async fn stats(state: web::Data<AppState>, _user: Staff) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let stats = db::run(&state.pool, move |conn| {
        let mut cases_by_stage = ByStage::default();
        for (stage, n) in report::cases_by_stage(conn)? {
            *cases_by_stage.slot(stage) = n;
        }
        let mut closed_by_outcome = ByOutcome::default();
        for (outcome, n) in report::closed_by_outcome(conn)? {
            if let Some(outcome) = outcome {
                *closed_by_outcome.slot(outcome) = n;
            }
        }
        let active = report::active_shelters(conn)?;
        let ids: Vec<ShelterId> = active.iter().map(|(id, _, _)| id.clone()).collect();
        let occupancy = Shelter::occupancies(conn, &ids)?;
        let shelters = active
            .into_iter()
            .map(|(id, name, capacity)| ShelterLoad {
                occupancy: occupancy.get(&id).copied().unwrap_or(0),
                id,
                name,
                capacity,
            })
            .collect();
        Ok(Stats {
            cases_by_stage,
            closed_by_outcome,
            stalled: report::stalled_count(conn, now)?,
            open_alerts: report::open_alert_count(conn)?,
            median_days_in_stage: medians(report::stays(conn)?),
            shelters,
            documents_alerting: report::documents_alerting(conn)?,
            legs_overdue: report::legs_overdue(conn, now)?,
            spending: expenses::by_month(Expense::spent_since(
                conn,
                expenses::twelve_months_before(now.date()),
            )?),
            as_of: now.and_utc(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
