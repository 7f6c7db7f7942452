//! The stages of a case and the moves between them (PRODUCT.md).

use super::{string_enum, ShelterId};

string_enum!(
    /// Where an evacuation stands.
    Stage {
        Intake => "intake",
        SafeHouse => "safe_house",
        Transit => "transit",
        Resettlement => "resettlement",
        Closed => "closed",
    }
);

string_enum!(
    /// Why a case was closed.
    Outcome {
        Resettled => "resettled",
        Withdrawn => "withdrawn",
        LostContact => "lost_contact",
        Returned => "returned",
        Deceased => "deceased",
        Other => "other",
    }
);

impl Stage {
    /// The stages a case in `self` may move to.
    pub fn allowed_targets(self) -> &'static [Stage] {
        use Stage::*;
        match self {
            Intake => &[SafeHouse, Transit, Closed],
            SafeHouse => &[SafeHouse, Transit, Closed],
            Transit => &[SafeHouse, Resettlement, Closed],
            Resettlement => &[Closed],
            Closed => &[],
        }
    }

    pub fn can_move_to(self, to: Stage) -> bool {
        self.allowed_targets().contains(&to)
    }
}

/// What a transition asks for, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRequest<'a> {
    pub to: Stage,
    pub shelter_id: Option<&'a ShelterId>,
    pub outcome: Option<Outcome>,
}

/// Why a transition cannot happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// The move is not in the table: 409 with the allowed targets.
    Illegal { from: Stage, to: Stage },
    /// A required or forbidden field: 422 on that field.
    Field {
        field: &'static str,
        message: String,
    },
}

/// Checks a move against the table of PRODUCT.md: which moves exist, that
/// entering `safe_house` names a shelter (another one when moving between
/// shelters), and that closing names an outcome.
pub fn check_transition(
    from: Stage,
    current_shelter: Option<&ShelterId>,
    req: &TransitionRequest<'_>,
) -> Result<(), TransitionError> {
    if !from.can_move_to(req.to) {
        return Err(TransitionError::Illegal { from, to: req.to });
    }
    let field = |field: &'static str, message: &str| {
        Err(TransitionError::Field {
            field,
            message: message.to_string(),
        })
    };
    match (req.to, req.shelter_id) {
        (Stage::SafeHouse, None) => {
            return field("shelter_id", "a shelter is required to enter safe_house")
        }
        (Stage::SafeHouse, Some(s)) if from == Stage::SafeHouse && current_shelter == Some(s) => {
            return field("shelter_id", "the case is already placed at this shelter")
        }
        (Stage::SafeHouse, Some(_)) => {}
        (_, Some(_)) => return field("shelter_id", "only a move to safe_house takes a shelter"),
        (_, None) => {}
    }
    match (req.to, req.outcome) {
        (Stage::Closed, None) => field(
            "outcome",
            &format!(
                "closing a case needs an outcome: one of {}",
                Outcome::names()
            ),
        ),
        (Stage::Closed, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => field("outcome", "only a move to closed takes an outcome"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;

    /// The whole table of PRODUCT.md, written out pair by pair.
    const ALLOWED: &[(Stage, Stage)] = &[
        (Intake, SafeHouse),
        (Intake, Transit),
        (Intake, Closed),
        (SafeHouse, SafeHouse),
        (SafeHouse, Transit),
        (SafeHouse, Closed),
        (Transit, SafeHouse),
        (Transit, Resettlement),
        (Transit, Closed),
        (Resettlement, Closed),
    ];

    fn shelter(n: u8) -> ShelterId {
        ShelterId::parse(&format!("01936d3a-0000-7000-8000-0000000000{n:02}")).unwrap()
    }

    fn request(to: Stage, shelter: &ShelterId) -> TransitionRequest<'_> {
        TransitionRequest {
            to,
            shelter_id: (to == SafeHouse).then_some(shelter),
            outcome: (to == Closed).then_some(Outcome::Resettled),
        }
    }

    #[test]
    fn every_stage_pair_is_allowed_exactly_when_the_table_says_so() {
        for &from in Stage::ALL {
            for &to in Stage::ALL {
                let expected = ALLOWED.contains(&(from, to));
                let (a, b) = (shelter(1), shelter(2));
                let current = (from == SafeHouse).then_some(&a);
                let result = check_transition(from, current, &request(to, &b));
                if expected {
                    assert_eq!(result, Ok(()), "{from} -> {to}");
                } else {
                    assert_eq!(
                        result,
                        Err(TransitionError::Illegal { from, to }),
                        "{from} -> {to}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_closed_case_goes_nowhere() {
        assert!(Closed.allowed_targets().is_empty());
    }

    #[test]
    fn entering_a_safe_house_needs_a_shelter() {
        let req = TransitionRequest {
            to: SafeHouse,
            shelter_id: None,
            outcome: None,
        };
        assert!(matches!(
            check_transition(Intake, None, &req),
            Err(TransitionError::Field {
                field: "shelter_id",
                ..
            })
        ));
    }

    #[test]
    fn moving_between_shelters_needs_another_shelter() {
        let (a, b) = (shelter(1), shelter(2));
        let req = TransitionRequest {
            to: SafeHouse,
            shelter_id: Some(&a),
            outcome: None,
        };
        assert!(check_transition(SafeHouse, Some(&a), &req).is_err());
        assert!(check_transition(SafeHouse, Some(&b), &req).is_ok());
    }

    #[test]
    fn closing_needs_an_outcome_and_only_closing_takes_one() {
        let close = TransitionRequest {
            to: Closed,
            shelter_id: None,
            outcome: None,
        };
        assert!(matches!(
            check_transition(Transit, None, &close),
            Err(TransitionError::Field {
                field: "outcome",
                ..
            })
        ));
        let with_outcome = TransitionRequest {
            to: Transit,
            shelter_id: None,
            outcome: Some(Outcome::Other),
        };
        assert!(check_transition(Intake, None, &with_outcome).is_err());
    }

    #[test]
    fn only_safe_house_takes_a_shelter() {
        let a = shelter(1);
        let req = TransitionRequest {
            to: Transit,
            shelter_id: Some(&a),
            outcome: None,
        };
        assert!(matches!(
            check_transition(Intake, None, &req),
            Err(TransitionError::Field {
                field: "shelter_id",
                ..
            })
        ));
    }

    #[test]
    fn names_round_trip() {
        for &stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        assert_eq!(Stage::parse("SafeHouse"), None);
        assert_eq!(Outcome::parse("lost_contact"), Some(Outcome::LostContact));
    }
}
