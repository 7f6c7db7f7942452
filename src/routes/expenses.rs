//! Money spent on a case: record it, list it, read one (its note for
//! coordinators, audited), and the donors' CSV report of a period, with
//! nothing personal in it.

use super::answers::*;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{created, Body, Filters, Listing, NoFilters};
use super::records;
use super::text::{self, not_blank, sealed_input};
use crate::auth::{Coordinator, Staff};
use crate::db;

use crate::domain::journey::{ExpenseCategory, Money};
use crate::domain::{AuditAction, CaseCode, CaseId, CaseRef, Day, ExpenseId};
use crate::error::AppError;
use crate::models::case::Case;
use crate::models::expense::Expense;
use crate::operations::expenses::{self, ExpenseDraft};
use crate::state::AppState;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExpense {
    category: ExpenseCategory,
    /// A decimal string, more than zero (up to 4 places).
    #[schema(pattern = "^[0-9]{1,12}(\\.[0-9]{1,4})?$", example = "120.50")]
    amount: String,
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    currency: String,
    /// Not in the future.
    spent_on: Day,
    /// Personal: sealed under the case's key, never in a list or the CSV.
    #[validate(length(min = 1, max = 2000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 2000)]
    note: Option<String>,
}

/// An expense as lists show it: never its note.
#[derive(Serialize, ToSchema)]
pub struct ExpenseView {
    id: ExpenseId,
    case_id: CaseId,
    category: ExpenseCategory,
    amount: String,
    currency: String,
    spent_on: NaiveDate,
    /// Whether a note is stored (read it from the single expense).
    has_note: bool,
    created_at: DateTime<Utc>,
}

impl ExpenseView {
    fn new(e: Expense) -> Self {
        Self {
            has_note: e.note_sealed.is_some(),
            id: e.id,
            case_id: e.case_id,
            category: e.category,
            amount: e.amount,
            currency: e.currency,
            spent_on: e.spent_on,
            created_at: e.created_at.and_utc(),
        }
    }
}

/// One expense: with its note for coordinators and admins.
#[derive(Serialize, ToSchema)]
pub struct ExpenseDetail {
    #[serde(flatten)]
    expense: ExpenseView,
    /// The note (coordinators and admins; absent for observers, null when
    /// none is stored or the case was shredded).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<Option<String>>,
}

/// The period of the donors' report.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// The first day (included).
    from: Day,
    /// The last day (included).
    to: Day,
}

const CASE: &str = "The case: its id, or its code";

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/expenses",
    operation_id = "expenses_create",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE)),
    request_body = CreateExpense,
    responses(
        (status = 201, description = "The expense", body = ExpenseView, headers(("Location" = String, description = "Where it lives"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    Coordinator(user): Coordinator,
    id: web::Path<CaseRef>,
    Body(body): Body<CreateExpense>,
) -> Result<HttpResponse, AppError> {
    let cost = Money::new(&body.amount, &body.currency).map_err(|why| {
        let field = if why.starts_with("currency") {
            "currency"
        } else {
            "amount"
        };
        AppError::invalid(field, why)
    })?;
    let draft = ExpenseDraft {
        category: body.category,
        cost,
        spent_on: body.spent_on.0,
        note: sealed_input(body.note),
    };
    let expense = state
        .change(user.actor(), None, move |conn, change| {
            let id = Case::resolve(conn, &id)?;
            expenses::add(conn, &id, draft, change)
        })
        .await?;
    let path = format!("/cases/{}/expenses/{}", expense.case_id, expense.id);
    Ok(created(path, &ExpenseView::new(expense)))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/expenses",
    operation_id = "expenses_list",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), Paging),
    responses(
        (status = 200, description = "A page of the case's expenses, oldest first, without notes", body = Page<ExpenseView>),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _user: Staff,
    id: web::Path<CaseRef>,
    Listing { page, .. }: Listing<NoFilters>,
) -> Result<HttpResponse, AppError> {
    let (load, key) = (Expense::list_for_case, |e: &Expense| e.id.to_string());
    records::page(&state, id.into_inner(), page, load, key, ExpenseView::new).await
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/expenses/{expense_id}",
    operation_id = "expenses_get",
    tag = "logistics",
    security(("staff" = [])),
    params(("id" = CaseRef, Path, description = CASE), ("expense_id" = ExpenseId, Path, description = "The expense")),
    responses(
        (status = 200, description = "The expense; its note for coordinators and admins (audited)", body = ExpenseDetail),
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    Staff(user): Staff,
    path: web::Path<(CaseRef, ExpenseId)>,
) -> Result<HttpResponse, AppError> {
    let (case, expense) = path.into_inner();
    let find: records::Find<Expense> = Box::new(move |conn| {
        let id = Case::find_ref(conn, &case)?.id;
        let expense = Expense::find(conn, &id, &expense)?;
        Ok((id, expense))
    });
    let target = |e: &Expense| format!("expense {}", e.id);
    let (expense, note) = records::read(&state, &user, find, expenses::note, target).await?;
    let detail = ExpenseDetail {
        expense: ExpenseView::new(expense),
        note,
    };
    Ok(HttpResponse::Ok().json(&detail))
}

const CSV_COLUMNS: [&str; 6] = [
    "spent_on",
    "case_code",
    "category",
    "amount",
    "currency",
    "id",
];
const EXPORT_BATCH: i64 = 500;

fn csv_line(expense: &Expense, code: &CaseCode) -> String {
    let spent_on = expense.spent_on.to_string();
    let id = expense.id.to_string();
    text::csv_line([
        spent_on.as_str(),
        code.as_str(),
        expense.category.as_str(),
        expense.amount.as_str(),
        expense.currency.as_str(),
        id.as_str(),
    ])
}

#[utoipa::path(
    get,
    path = "/api/v1/expenses.csv",
    operation_id = "expenses_export",
    tag = "logistics",
    security(("staff" = [])),
    params(Period),
    responses(
        (status = 200, description = "Every expense spent in the period, RFC 4180, for donor reports: day, case code, category, amount, currency (no notes); cells that could start a formula begin with '", content_type = "text/csv", body = String),
    ),
)]
pub async fn export(
    state: web::Data<AppState>,
    Staff(user): Staff,
    Filters(period): Filters<Period>,
) -> Result<HttpResponse, AppError> {
    let (from, to) = (period.from.0, period.to.0);
    if to < from {
        return Err(AppError::invalid("to", "must not be before from"));
    }
    state
        .read_audited(user.actor(), |_, change| {
            let target = Some("expenses".to_string());
            Ok(change.audited((), AuditAction::CasesExported, None, target))
        })
        .await?;
    let header = Bytes::from(text::csv_line(CSV_COLUMNS));
    let first = futures_util::stream::once(async move { Ok::<_, AppError>(header) });
    let batches =
        futures_util::stream::unfold(Some(None), move |after: Option<Option<ExpenseId>>| {
            let state = state.clone();
            async move {
                let after = after?;
                let rows = db::run(&state.pool, move |conn| {
                    Ok(Expense::between(
                        conn,
                        from,
                        to,
                        after.as_ref(),
                        EXPORT_BATCH,
                    )?)
                })
                .await;
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(e) => return Some((Err(e), None)),
                };
                let next = (rows.len() as i64 == EXPORT_BATCH)
                    .then(|| rows.last().map(|(e, _)| e.id.clone()));
                let chunk: String = rows.iter().map(|(e, code)| csv_line(e, code)).collect();
                Some((Ok(Bytes::from(chunk)), next))
            }
        });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"expenses.csv\"",
        ))
        .streaming(first.chain(batches)))
}
