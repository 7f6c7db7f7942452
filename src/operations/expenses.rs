//! Money spent on a case: recorded (the note sealed under the case's key),
//! summed by month for /stats, and exported for donors without anything
//! personal.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use zeroize::Zeroizing;

use super::{sealing, Change};
use crate::db::DbConnection;
use crate::domain::journey::{format_amount, ExpenseCategory, Money};
use crate::domain::{CaseId, DomainError, ExpenseId};
use crate::models::case::Case;
use crate::models::expense::{DaySpent, Expense};

pub struct ExpenseDraft {
    pub category: ExpenseCategory,
    pub cost: Money,
    pub spent_on: NaiveDate,
    pub note: Option<Zeroizing<String>>,
}

pub fn add(
    conn: &mut DbConnection,
    case_id: &CaseId,
    draft: ExpenseDraft,
    change: &Change<'_>,
) -> Result<Expense, DomainError> {
    let case = Case::get_locked(conn, case_id)?;
    let amount_e4 = draft
        .cost
        .ten_thousandths()
        .and_then(|a| i64::try_from(a).ok())
        .filter(|a| *a > 0)
        .ok_or_else(|| DomainError::invalid("amount", "must be more than zero"))?;
    if draft.spent_on > change.now.date() {
        return Err(DomainError::invalid(
            "spent_on",
            "must not be in the future",
        ));
    }
    // A closed case's bills may still come in: no check of its stage.
    let mut expense = Expense {
        id: ExpenseId::new(),
        case_id: case.id,
        category: draft.category,
        amount: draft.cost.amount,
        currency: draft.cost.currency,
        amount_e4,
        spent_on: draft.spent_on,
        note_sealed: None,
        created_at: change.now,
    };
    if let Some(note) = draft.note {
        let purpose = Expense::note_purpose(&expense.id);
        let sealed = sealing::seal_field(
            conn,
            change.keys,
            &expense.case_id,
            &purpose,
            &note,
            change.now,
        )?;
        expense.note_sealed = Some(sealed);
    }
    expense.insert(conn)?;
    Ok(expense)
}

/// The note, opened: for the single-expense read of coordinators.
pub fn note(
    conn: &mut DbConnection,
    expense: &Expense,
    change: &Change<'_>,
) -> Result<Option<String>, DomainError> {
    let purpose = Expense::note_purpose(&expense.id);
    let sealed = expense.note_sealed.as_deref();
    sealing::open_field(
        conn,
        change.keys,
        &expense.case_id,
        &purpose,
        sealed,
        change.now,
    )
}

/// Spending in one month, category and currency (no conversion).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MonthSpent {
    /// `YYYY-MM`.
    pub month: String,
    pub category: ExpenseCategory,
    pub currency: String,
    /// A decimal string.
    pub amount: String,
}

/// `rows` summed by month, category and currency, in that order.
pub fn by_month(rows: Vec<DaySpent>) -> Vec<MonthSpent> {
    let mut sums: BTreeMap<(String, ExpenseCategory, String), i128> = BTreeMap::new();
    for row in rows {
        let month = format!("{:04}-{:02}", row.day.year(), row.day.month());
        *sums.entry((month, row.category, row.currency)).or_default() += i128::from(row.amount_e4);
    }
    sums.into_iter()
        .map(|((month, category, currency), sum)| MonthSpent {
            month,
            category,
            currency,
            amount: format_amount(sum),
        })
        .collect()
}

/// The first day of the month eleven months before `today`'s: /stats
/// covers twelve months, so its cost does not grow with the years.
pub fn twelve_months_before(today: NaiveDate) -> NaiveDate {
    let months = today.year() * 12 + today.month0() as i32 - 11;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_is_summed_by_month_category_and_currency() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let row = |day, category, currency: &str, amount_e4| DaySpent {
            day,
            category,
            currency: currency.into(),
            amount_e4,
        };
        let sums = by_month(vec![
            row(day(11, 3), ExpenseCategory::Transport, "EUR", 845_000),
            row(day(11, 28), ExpenseCategory::Transport, "EUR", 5_000),
            row(day(11, 28), ExpenseCategory::Transport, "RUB", 10_000_000),
            row(day(12, 1), ExpenseCategory::Housing, "EUR", 1),
        ]);
        let amounts: Vec<(&str, &str, &str)> = sums
            .iter()
            .map(|s| (s.month.as_str(), s.currency.as_str(), s.amount.as_str()))
            .collect();
        assert_eq!(
            amounts,
            [
                ("2026-11", "EUR", "85.00"),
                ("2026-11", "RUB", "1000.00"),
                ("2026-12", "EUR", "0.0001"),
            ]
        );
        assert_eq!(twelve_months_before(day(12, 5)), day(1, 1));
        assert_eq!(
            twelve_months_before(day(3, 31)),
            NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
        );
    }
}
