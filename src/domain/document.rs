//! The documents a person needs to move on (a passport, a visa), their
//! states and which moves between states make sense, and when a document
//! needs someone's attention.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::string_enum;

string_enum!(
    /// What the document is.
    DocumentKind {
        InternalPassport => "internal_passport",
        TravelPassport => "travel_passport",
        Visa => "visa",
        ResidencePermit => "residence_permit",
        RefugeeTravelDocument => "refugee_travel_document",
        BirthCertificate => "birth_certificate",
        Other => "other",
    }
);

string_enum!(
    /// Where the document stands.
    DocumentStatus {
        Needed => "needed",
        Applied => "applied",
        AppointmentBooked => "appointment_booked",
        Issued => "issued",
        Refused => "refused",
        Expired => "expired",
        Lost => "lost",
    }
);

string_enum!(
    /// Who holds the original.
    Holder {
        Person => "person",
        Coordinator => "coordinator",
        Shelter => "shelter",
        Embassy => "embassy",
        Unknown => "unknown",
    }
);

impl DocumentStatus {
    /// The states a document in this one may move to. A refused, expired
    /// or lost document is applied for again (a new application); an
    /// issued one is not un-issued, only expires or is lost.
    pub fn allowed_targets(self) -> &'static [DocumentStatus] {
        use DocumentStatus::*;
        match self {
            Needed => &[Applied, AppointmentBooked, Issued],
            Applied => &[AppointmentBooked, Issued, Refused],
            AppointmentBooked => &[Applied, Issued, Refused],
            Issued => &[Expired, Lost],
            Refused => &[Applied, AppointmentBooked],
            Expired => &[Applied, AppointmentBooked],
            Lost => &[Applied, AppointmentBooked],
        }
    }

    pub fn may_move_to(self, to: DocumentStatus) -> bool {
        self == to || self.allowed_targets().contains(&to)
    }

    /// Still on its way: an overdue one needs a call.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            DocumentStatus::Needed | DocumentStatus::Applied | DocumentStatus::AppointmentBooked
        )
    }
}

/// What the deadlines of a document depend on.
#[derive(Debug, Clone, Copy)]
pub struct DocumentDates {
    pub status: DocumentStatus,
    pub expected_by: Option<NaiveDate>,
    pub appointment_at: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDate>,
}

/// A moment a document needs attention, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentDue {
    /// Not issued or refused by when it was expected (the end of
    /// `expected_by`, or a day after a booked appointment).
    Overdue(NaiveDateTime),
    /// `valid_until` less the warning period.
    Expiring(NaiveDateTime),
}

impl DocumentDue {
    pub fn at(self) -> NaiveDateTime {
        match self {
            DocumentDue::Overdue(at) | DocumentDue::Expiring(at) => at,
        }
    }
}

impl DocumentDates {
    /// Its deadlines, whatever the time now.
    pub fn deadlines(&self, expiring_within: Duration) -> Vec<DocumentDue> {
        let mut due = Vec::new();
        if self.status.is_pending() {
            let expected = self.expected_by.map(end_of);
            let appointment = match self.status {
                DocumentStatus::AppointmentBooked => {
                    self.appointment_at.map(|at| at + Duration::days(1))
                }
                _ => None,
            };
            if let Some(at) = [expected, appointment].into_iter().flatten().min() {
                due.push(DocumentDue::Overdue(at));
            }
        }
        if self.status == DocumentStatus::Issued {
            if let Some(valid_until) = self.valid_until {
                due.push(DocumentDue::Expiring(end_of(valid_until) - expiring_within));
            }
        }
        due
    }

    /// When the scan must look next: the first deadline after `now`.
    pub fn next_look(
        &self,
        expiring_within: Duration,
        now: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        self.deadlines(expiring_within)
            .into_iter()
            .map(DocumentDue::at)
            .filter(|at| *at > now)
            .min()
    }
}

/// The first moment after `day` (UTC): a date passes when it is over.
fn end_of(day: NaiveDate) -> NaiveDateTime {
    day.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DocumentStatus::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn moves_between_states_follow_an_application() {
        assert!(Needed.may_move_to(Applied));
        assert!(Refused.may_move_to(Applied), "a new application");
        assert!(!Issued.may_move_to(Applied));
        assert!(!Issued.may_move_to(Needed));
        assert!(Issued.may_move_to(Expired));
        assert!(Applied.may_move_to(Applied), "no move is no jump");
        for status in DocumentStatus::ALL {
            assert!(!status.allowed_targets().contains(status));
        }
    }

    #[test]
    fn a_pending_document_is_due_when_expected_or_a_day_after_its_appointment() {
        let month = Duration::days(30);
        let applied = DocumentDates {
            status: Applied,
            expected_by: Some(day(10)),
            appointment_at: None,
            valid_until: None,
        };
        let end_of_10th = day(11).and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(
            applied.deadlines(month),
            [DocumentDue::Overdue(end_of_10th)]
        );
        let booked = DocumentDates {
            status: AppointmentBooked,
            appointment_at: Some(day(3).and_hms_opt(10, 0, 0).unwrap()),
            ..applied
        };
        let after = day(4).and_hms_opt(10, 0, 0).unwrap();
        assert_eq!(booked.deadlines(month), [DocumentDue::Overdue(after)]);
        let issued = DocumentDates {
            status: Issued,
            valid_until: Some(day(31)),
            ..applied
        };
        let warn = day(31).and_hms_opt(0, 0, 0).unwrap() + Duration::days(1) - month;
        assert_eq!(issued.deadlines(month), [DocumentDue::Expiring(warn)]);
        assert_eq!(issued.next_look(month, warn), None);
        assert_eq!(
            issued.next_look(month, warn - Duration::seconds(1)),
            Some(warn)
        );
        let refused = DocumentDates {
            status: Refused,
            ..applied
        };
        assert!(refused.deadlines(month).is_empty());
    }
}
