//! When a case stalls: too long in its stage, or too long since anyone heard
//! from the person. The deadline is the earlier of the two; a snooze replaces
//! it with the snooze date until the case changes stage.

use chrono::{Duration, NaiveDateTime};

use super::Stage;
use crate::config::StallConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallRules {
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
    let silence = rules.longest_silence(case.stage).map(|limit| {
        let heard = case
            .last_contact_at
            .map_or(case.stage_entered_at, |c| c.max(case.stage_entered_at));
        heard + limit
    });
    let due = match (stay, silence) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }?;
    Some(case.snoozed_until.unwrap_or(due))
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
    fn every_open_stage_has_a_deadline_from_the_configuration() {
        let mut config = StallConfig::default();
        config.resettlement = crate::config::HumanDuration::parse("10d").unwrap();
        config.silence_resettlement = crate::config::HumanDuration::parse("20d").unwrap();
        let rules = StallRules::from(&config);
        let due = deadline(&rules, input(Stage::Resettlement, "2026-11-01 00:00"));
        assert_eq!(due, Some(at("2026-11-11 00:00")));
    }
}
