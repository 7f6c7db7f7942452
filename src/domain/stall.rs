//! When a case stalls: too long in its stage, or too long since anyone heard
//! from the person. The deadline is the earlier of the two; a snooze replaces
//! it with the snooze date until the case changes stage.

use std::fmt;

use chrono::{Duration, NaiveDateTime};

use super::{AlertKind, CaseId, Stage};
use crate::config::StallConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallRules {
    /// How long an alert may stay unacknowledged before the admins hear of it.
    pub escalate_after: Duration,
    pub intake: Duration,
    pub safe_house: Duration,
    pub transit: Duration,
    pub resettlement: Duration,
    pub silence_safe_house: Duration,
    pub silence_transit: Duration,
    pub silence_resettlement: Duration,
}

impl From<&StallConfig> for StallRules {
    fn from(c: &StallConfig) -> Self {
        Self {
            escalate_after: c.escalate_after.0,
            intake: c.intake.0,
            safe_house: c.safe_house.0,
            transit: c.transit.0,
            resettlement: c.resettlement.0,
            silence_safe_house: c.silence_safe_house.0,
            silence_transit: c.silence_transit.0,
            silence_resettlement: c.silence_resettlement.0,
        }
    }
}

impl Default for StallRules {
    fn default() -> Self {
        Self::from(&StallConfig::default())
    }
}

impl StallRules {
    pub fn longest_stay(&self, stage: Stage) -> Option<Duration> {
        match stage {
            Stage::Intake => Some(self.intake),
            Stage::SafeHouse => Some(self.safe_house),
            Stage::Transit => Some(self.transit),
            Stage::Resettlement => Some(self.resettlement),
            Stage::Closed => None,
        }
    }

    pub fn longest_silence(&self, stage: Stage) -> Option<Duration> {
        match stage {
            Stage::SafeHouse => Some(self.silence_safe_house),
            Stage::Transit => Some(self.silence_transit),
            Stage::Resettlement => Some(self.silence_resettlement),
            Stage::Intake | Stage::Closed => None,
        }
    }
}

/// What a case's deadline depends on.
#[derive(Debug, Clone, Copy)]
pub struct StallInput {
    pub stage: Stage,
    pub stage_entered_at: NaiveDateTime,
    pub last_contact_at: Option<NaiveDateTime>,
    pub snoozed_until: Option<NaiveDateTime>,
}

/// The moment the case stalls, or `None` for a closed case.
///
/// Silence counts from the last contact, or from entering the stage when that
/// is later: a coordinator who moves a case has just dealt with it, so a case
/// does not enter a stage already silent.
pub fn deadline(rules: &StallRules, case: StallInput) -> Option<NaiveDateTime> {
    let stay = rules
        .longest_stay(case.stage)
        .map(|limit| case.stage_entered_at + limit);
    let silence = rules
        .longest_silence(case.stage)
        .map(|limit| heard(&case) + limit);
    let due = match (stay, silence) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }?;
    Some(case.snoozed_until.unwrap_or(due))
}

/// When the person was last heard from, as far as silence counts: the last
/// contact, or entering the stage when that is later.
fn heard(case: &StallInput) -> NaiveDateTime {
    case.last_contact_at
        .map_or(case.stage_entered_at, |c| c.max(case.stage_entered_at))
}

/// Which rule a stalled case broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// Too long in its stage.
    Stay {
        stage: Stage,
        stayed: Duration,
        limit: Duration,
    },
    /// Too long since anyone heard from the person.
    Silence { silent: Duration, limit: Duration },
    /// A snooze ended before either limit was reached.
    SnoozeEnded { stage: Stage, stayed: Duration },
}

impl Breach {
    /// The rule a case stalled at `now` broke: the stage limit first, then
    /// the silence limit, else its snooze ended.
    pub fn of(rules: &StallRules, case: &StallInput, now: NaiveDateTime) -> Self {
        let stayed = now - case.stage_entered_at;
        if let Some(limit) = rules.longest_stay(case.stage).filter(|l| stayed >= *l) {
            return Self::Stay {
                stage: case.stage,
                stayed,
                limit,
            };
        }
        if let Some(limit) = rules.longest_silence(case.stage) {
            let silent = now - heard(case);
            if silent >= limit {
                return Self::Silence { silent, limit };
            }
        }
        Self::SnoozeEnded {
            stage: case.stage,
            stayed,
        }
    }

    pub fn kind(&self) -> AlertKind {
        match self {
            Self::Silence { .. } => AlertKind::NoContact,
            Self::Stay { .. } | Self::SnoozeEnded { .. } => AlertKind::StageOverdue,
        }
    }
}

/// The rule in words: `in transit for 6 days (limit 5 days)`.
impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Stay {
                stage,
                stayed,
                limit,
            } => write!(
                f,
                "in {stage} for {} (limit {})",
                humane(stayed),
                humane(limit)
            ),
            Self::Silence { silent, limit } => write!(
                f,
                "no contact for {} (limit {})",
                humane(silent),
                humane(limit)
            ),
            Self::SnoozeEnded { stage, stayed } => {
                write!(f, "the snooze ended; in {stage} for {}", humane(stayed))
            }
        }
    }
}

/// What makes a stall episode itself: the stage stay, the last contact and
/// the snooze it happened under. A change to any of them starts a new one,
/// and an episode has at most one alert.
pub fn episode(case_id: &CaseId, kind: AlertKind, case: &StallInput) -> String {
    let stamp = |t: Option<NaiveDateTime>| t.map_or("-".to_string(), |t| t.and_utc().to_rfc3339());
    format!(
        "{case_id}:{kind}:{}:{}:{}",
        case.stage_entered_at.and_utc().to_rfc3339(),
        stamp(case.last_contact_at),
        stamp(case.snoozed_until)
    )
}

/// `90 minutes`, `5 hours`, `3 days`: the largest whole unit people use.
pub fn humane(d: Duration) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if d.num_days() >= 3 {
        plural(d.num_days(), "day")
    } else if d.num_hours() >= 2 {
        plural(d.num_hours(), "hour")
    } else {
        plural(d.num_minutes().max(0), "minute")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn input(stage: Stage, entered: &str) -> StallInput {
        StallInput {
            stage,
            stage_entered_at: at(entered),
            last_contact_at: None,
            snoozed_until: None,
        }
    }

    #[test]
    fn intake_stalls_after_three_days_by_default() {
        let due = deadline(
            &StallRules::default(),
            input(Stage::Intake, "2026-11-01 10:00"),
        );
        assert_eq!(due, Some(at("2026-11-04 10:00")));
    }

    #[test]
    fn silence_comes_before_the_stage_limit_when_it_is_earlier() {
        // transit: 5 days in stage, 48 hours of silence.
        let due = deadline(
            &StallRules::default(),
            input(Stage::Transit, "2026-11-01 10:00"),
        );
        assert_eq!(due, Some(at("2026-11-03 10:00")));
    }

    #[test]
    fn a_contact_pushes_the_silence_deadline_but_not_past_the_stage_limit() {
        let rules = StallRules::default();
        let mut case = input(Stage::Transit, "2026-11-01 10:00");
        case.last_contact_at = Some(at("2026-11-02 10:00"));
        assert_eq!(deadline(&rules, case), Some(at("2026-11-04 10:00")));
        case.last_contact_at = Some(at("2026-11-05 09:00"));
        assert_eq!(deadline(&rules, case), Some(at("2026-11-06 10:00")));
    }

    #[test]
    fn a_contact_before_the_stage_began_counts_from_the_stage() {
        let mut case = input(Stage::SafeHouse, "2026-11-10 00:00");
        case.last_contact_at = Some(at("2026-10-01 00:00"));
        assert_eq!(
            deadline(&StallRules::default(), case),
            Some(at("2026-11-17 00:00"))
        );
    }

    #[test]
    fn a_snooze_replaces_the_deadline() {
        let rules = StallRules::default();
        let mut case = input(Stage::Intake, "2026-11-01 10:00");
        case.snoozed_until = Some(at("2026-11-20 00:00"));
        assert_eq!(deadline(&rules, case), Some(at("2026-11-20 00:00")));
        case.snoozed_until = Some(at("2026-11-02 00:00"));
        assert_eq!(deadline(&rules, case), Some(at("2026-11-02 00:00")));
    }

    #[test]
    fn a_snoozed_closed_case_still_never_stalls() {
        let mut case = input(Stage::Closed, "2026-11-01 10:00");
        case.snoozed_until = Some(at("2026-11-20 00:00"));
        assert_eq!(deadline(&StallRules::default(), case), None);
    }

    #[test]
    fn a_closed_case_never_stalls() {
        assert_eq!(
            deadline(
                &StallRules::default(),
                input(Stage::Closed, "2026-11-01 10:00")
            ),
            None
        );
    }

    #[test]
    fn a_breach_names_the_rule_that_fired() {
        let rules = StallRules::default();
        let transit = input(Stage::Transit, "2026-11-01 10:00");
        let silent = Breach::of(&rules, &transit, at("2026-11-03 10:00"));
        assert_eq!(silent.kind(), AlertKind::NoContact);
        assert_eq!(
            silent.to_string(),
            "no contact for 48 hours (limit 48 hours)"
        );
        let overdue = Breach::of(&rules, &transit, at("2026-11-07 10:00"));
        assert_eq!(overdue.to_string(), "in transit for 6 days (limit 5 days)");
        let mut snoozed = input(Stage::Intake, "2026-11-01 10:00");
        snoozed.snoozed_until = Some(at("2026-11-02 10:00"));
        let ended = Breach::of(&rules, &snoozed, at("2026-11-02 10:00"));
        assert_eq!(ended.kind(), AlertKind::StageOverdue);
        assert_eq!(
            ended.to_string(),
            "the snooze ended; in intake for 24 hours"
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(humane(Duration::days(6)), "6 days");
        assert_eq!(humane(Duration::hours(49)), "49 hours");
        assert_eq!(humane(Duration::minutes(90)), "90 minutes");
        assert_eq!(humane(Duration::minutes(1)), "1 minute");
    }

    #[test]
    fn every_open_stage_has_a_deadline_from_the_configuration() {
        let mut config = StallConfig::default();
        config.resettlement = crate::config::HumanDuration::parse("10d").unwrap();
        config.silence_resettlement = crate::config::HumanDuration::parse("20d").unwrap();
        let rules = StallRules::from(&config);
        let due = deadline(&rules, input(Stage::Resettlement, "2026-11-01 00:00"));
        assert_eq!(due, Some(at("2026-11-11 00:00")));
    }
}
