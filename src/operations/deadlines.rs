//! Stall limits changed in the configuration reach the stored deadlines at
//! start: each stage whose limits differ from those last applied has its
//! cases' deadlines recomputed in one statement.

use std::collections::BTreeMap;

use crate::db::DbConnection;
use crate::domain::stall::StallRules;
use crate::domain::{DomainError, Stage};
use crate::models::case::Case;
use crate::models::setting;

/// A stage's limits in seconds: the stay, and the silence if it has one.
type Limits = (i64, Option<i64>);

fn limits(rules: &StallRules) -> BTreeMap<String, Limits> {
    Stage::ALL
        .iter()
        .filter_map(|&stage| {
            let stay = rules.longest_stay(stage)?.num_seconds();
            let silence = rules.longest_silence(stage).map(|s| s.num_seconds());
            Some((stage.as_str().to_string(), (stay, silence)))
        })
        .collect()
}

/// The stages whose limits in `rules` differ from those last applied to
/// the stored deadlines (all of them the first time). Reads only.
pub fn changed(conn: &mut DbConnection, rules: &StallRules) -> Result<Vec<Stage>, DomainError> {
    let wanted = limits(rules);
    let applied: BTreeMap<String, Limits> = setting::get(conn, setting::STALL_RULES)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    Ok(Stage::ALL
        .iter()
        .copied()
        .filter(|stage| {
            rules.longest_stay(*stage).is_some()
                && wanted.get(stage.as_str()) != applied.get(stage.as_str())
        })
        .collect())
}

/// Recomputes the deadlines of the stages whose limits changed since they
/// were last applied (all of them the first time), then remembers these
/// limits. Snoozed cases keep their snooze date. Which stages were
/// recomputed, with how many cases each. Run in a writing transaction.
/// Only `serve` and `corridor stalls recompute` call it: a one-off command
/// run from a shell without the service's settings must not rewrite them.
pub fn apply(
    conn: &mut DbConnection,
    rules: &StallRules,
) -> Result<Vec<(Stage, usize)>, DomainError> {
    let wanted = limits(rules);
    let mut recomputed = Vec::new();
    for stage in changed(conn, rules)? {
        let Some(stay) = rules.longest_stay(stage) else {
            continue;
        };
        let silence = rules.longest_silence(stage);
        recomputed.push((stage, Case::recompute_stall_at(conn, stage, stay, silence)?));
    }
    if !recomputed.is_empty() {
        let text =
            serde_json::to_string(&wanted).map_err(|e| DomainError::Internal(e.to_string()))?;
        setting::put(conn, setting::STALL_RULES, &text)?;
    }
    Ok(recomputed)
}
