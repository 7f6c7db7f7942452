//! The closed vocabularies of cases, people and alerts, and the few input
//! types that are not names (a set of needs, an RFC 3339 time).

use chrono::{DateTime, Utc};

use super::{invalid, string_enum, text_column};

string_enum!(RiskLevel {
    Low => "low",
    Medium => "medium",
    High => "high",
    Critical => "critical",
});

string_enum!(Need {
    Medical => "medical",
    Legal => "legal",
    Psychological => "psychological",
    Documents => "documents",
    Housing => "housing",
    Financial => "financial",
    Security => "security",
});

string_enum!(
    /// How someone heard from the person.
    Channel {
        Phone => "phone",
        Signal => "signal",
        Telegram => "telegram",
        Whatsapp => "whatsapp",
        Email => "email",
        InPerson => "in_person",
        Partner => "partner",
        Other => "other",
    }
);

string_enum!(
    /// What a partner shelter reports about a guest.
    CheckinKind {
        Arrived => "arrived",
        WelfareOk => "welfare_ok",
        NeedsHelp => "needs_help",
        Departed => "departed",
        Missing => "missing",
    }
);

string_enum!(
    /// What a person may agree to.
    ConsentScope {
        ShareAliasWithShelter => "share_alias_with_shelter",
        ShareWithResettlementPartner => "share_with_resettlement_partner",
        ContactByMessenger => "contact_by_messenger",
    }
);

string_enum!(
    /// How a consent was given or withdrawn.
    ConsentMethod {
        Verbal => "verbal",
        Written => "written",
        Electronic => "electronic",
    }
);

string_enum!(
    /// What a staff user may do.
    Role {
        Admin => "admin",
        Coordinator => "coordinator",
        Observer => "observer",
    }
);

impl Role {
    /// Coordinators and admins change cases; observers only read.
    pub fn can_write_cases(self) -> bool {
        matches!(self, Role::Admin | Role::Coordinator)
    }
}

string_enum!(
    /// Whom an endpoint admits: the rule its extractor applies. Kept with an
    /// idempotent answer, so that a replay applies it again to the caller's
    /// role now.
    Clearance {
        Staff => "staff",
        Coordinator => "coordinator",
        Admin => "admin",
    }
);

impl Clearance {
    pub fn admits(self, role: Role) -> bool {
        match self {
            Clearance::Staff => true,
            Clearance::Coordinator => role.can_write_cases(),
            Clearance::Admin => role == Role::Admin,
        }
    }
}

string_enum!(
    /// The orders `GET /cases` lists in, besides its default (oldest first):
    /// `-` is latest first. A case with no deadline comes last either way.
    CaseSort {
        StallAt => "stall_at",
        StallAtDesc => "-stall_at",
        CreatedAt => "created_at",
        UpdatedAtDesc => "-updated_at",
    }
);

/// Whose cases to list: `me` (the caller) or a user's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Me,
    User(super::UserId),
}

impl<'de> serde::Deserialize<'de> for Assignee {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        if text.trim().eq_ignore_ascii_case("me") {
            return Ok(Assignee::Me);
        }
        super::UserId::parse(text.trim())
            .map(Assignee::User)
            .ok_or_else(|| {
                super::invalid(
                    "me",
                    "must be a user id, or me for the cases assigned to you",
                )
            })
    }
}

super::docs::documented!(
    Assignee,
    super::docs::text("A user's id, or `me` for the caller.", "me", None)
);

string_enum!(
    /// Why an alert was raised.
    AlertKind {
        StageOverdue => "stage_overdue",
        NoContact => "no_contact",
        HelpRequested => "help_requested",
        ReportedMissing => "reported_missing",
        DocumentOverdue => "document_overdue",
        DocumentExpiring => "document_expiring",
        LegOverdue => "leg_overdue",
    }
);

impl AlertKind {
    /// The alert a partner's check-in raises at once, and its rule in words.
    pub fn of_checkin(kind: CheckinKind) -> Option<(AlertKind, &'static str)> {
        match kind {
            CheckinKind::NeedsHelp => Some((
                AlertKind::HelpRequested,
                "the shelter reported that the person needs help",
            )),
            CheckinKind::Missing => Some((
                AlertKind::ReportedMissing,
                "the shelter reported the person missing",
            )),
            _ => None,
        }
    }

    /// Is this alert about a stall (raised by the scanner)?
    pub fn is_stall(self) -> bool {
        matches!(self, AlertKind::StageOverdue | AlertKind::NoContact)
    }
}

string_enum!(
    /// Where an alert stands.
    AlertState {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
);

string_enum!(
    /// What happened on a case's timeline.
    EventKind {
        Created => "created",
        Updated => "updated",
        Assignment => "assignment",
        Transition => "transition",
        Contact => "contact",
        CheckIn => "check_in",
        Snooze => "snooze",
        AlertRaised => "alert_raised",
        AlertAcknowledged => "alert_acknowledged",
        AlertEscalated => "alert_escalated",
        AlertResolved => "alert_resolved",
        Document => "document",
        Leg => "leg",
        Consent => "consent",
    }
);

string_enum!(
    /// Who did something: a staff user, a partner shelter, Corridor itself,
    /// or (in the audit log only) a caller not signed in.
    ActorKind {
        User => "user",
        Shelter => "shelter",
        System => "system",
        Anonymous => "anonymous",
    }
);

string_enum!(
    /// What the audit log records.
    AuditAction {
        LoginOk => "login.ok",
        LoginFailed => "login.failed",
        LoginLocked => "login.locked",
        LoginUnlocked => "login.unlocked",
        RefreshReused => "refresh.reused",
        Logout => "logout",
        PasswordChanged => "password.changed",
        UserCreated => "user.created",
        UserUpdated => "user.updated",
        AccessDenied => "access.denied",
        PersonalRead => "personal.read",
        PersonalWritten => "personal.written",
        PersonalShredded => "personal.shredded",
        RetentionShredded => "retention.shredded",
        ApiKeyCreated => "api_key.created",
        ApiKeyRevoked => "api_key.revoked",
        Lockdown => "lockdown",
        PartnerCasesListed => "partner.cases_listed",
        CasesExported => "cases.exported",
    }
);

/// A case's needs: a set, stored as a JSON array of names in the order of
/// their names, each once.
#[derive(
    Debug, Clone, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Needs(String);

impl Needs {
    pub fn new(needs: impl IntoIterator<Item = Need>) -> Self {
        let mut names: Vec<&str> = needs.into_iter().map(Need::as_str).collect();
        names.sort_unstable();
        names.dedup();
        Self(serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()))
    }

    pub fn list(&self) -> Vec<Need> {
        // `from_stored` and `new` only ever make well-formed lists.
        let names: Vec<String> = serde_json::from_str(&self.0).unwrap_or_default();
        names.iter().filter_map(|n| Need::parse(n)).collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_stored(text: &str) -> Result<Self, String> {
        let names: Vec<String> =
            serde_json::from_str(text).map_err(|_| "stored needs are not a JSON list")?;
        let needs: Option<Vec<Need>> = names.iter().map(|n| Need::parse(n)).collect();
        needs
            .map(Self::new)
            .ok_or_else(|| format!("a stored need is not one of {}", Need::names()))
    }
}

impl Default for Needs {
    fn default() -> Self {
        Self::new([])
    }
}

text_column!(Needs);

impl utoipa::PartialSchema for Needs {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::schema::Ref::from_schema_name("Need"))
            .unique_items(true)
            .description(Some("What the household needs, each named once."))
            .into()
    }
}

impl utoipa::ToSchema for Needs {
    fn schemas(
        out: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        out.push(("Need".into(), <Need as utoipa::PartialSchema>::schema()));
    }
}

impl serde::Serialize for Needs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.list())
    }
}

impl<'de> serde::Deserialize<'de> for Needs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<Need>::deserialize(d).map(Self::new)
    }
}

/// The moment a request is checked at, for rules relative to time (`expires_at`
/// in the future): the context of `validate_with_args`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now(pub DateTime<Utc>);

/// For validator: a moment after now.
/// A calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Day(pub chrono::NaiveDate);

super::docs::documented!(
    Day,
    super::docs::text(
        "A day, YYYY-MM-DD.",
        "2026-12-20",
        Some(utoipa::openapi::schema::KnownFormat::Date),
    )
);

impl<'de> serde::Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .ok()
            .filter(|day| (1900..=2200).contains(&chrono::Datelike::year(day)))
            .map(Day)
            .ok_or_else(|| invalid("2026-12-20", "must be a day such as 2026-12-20"))
    }
}

pub fn in_future(at: &Timestamp, now: &Now) -> Result<(), validator::ValidationError> {
    if at.0 > now.0 {
        Ok(())
    } else {
        Err(validator::ValidationError::new("future").with_message("must be in the future".into()))
    }
}

/// A moment given as RFC 3339 text (`2026-12-01T09:00:00Z`), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

super::docs::documented!(
    Timestamp,
    super::docs::text(
        "An RFC 3339 time.",
        "2026-12-01T09:00:00Z",
        Some(utoipa::openapi::schema::KnownFormat::DateTime),
    )
);

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Rfc3339;
        impl serde::de::Visitor<'_> for Rfc3339 {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 time")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                DateTime::parse_from_rfc3339(text.trim())
                    .map(|t| Timestamp(t.with_timezone(&Utc)))
                    .map_err(|_| {
                        invalid(
                            "2000-01-01T00:00:00Z",
                            "must be an RFC 3339 time, such as 2026-12-01T09:00:00Z",
                        )
                    })
            }
        }
        d.deserialize_str(Rfc3339)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Channel::parse("in_person"), Some(Channel::InPerson));
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn needs_are_a_sorted_set_of_names() {
        let needs = Needs::new([Need::Medical, Need::Documents, Need::Medical]);
        assert_eq!(needs.as_str(), r#"["documents","medical"]"#);
        assert_eq!(needs.list(), vec![Need::Documents, Need::Medical]);
        assert_eq!(Needs::from_stored(r#"["medical","documents"]"#), Ok(needs));
        assert!(Needs::from_stored(r#"["food"]"#).is_err());
        assert!(Needs::from_stored("medical").is_err());
        let parsed: Needs = serde_json::from_str(r#"["legal"]"#).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#"["legal"]"#);
    }

    #[test]
    fn a_timestamp_is_rfc_3339_or_an_invalid_value() {
        let t: Timestamp = serde_json::from_str("\"2026-12-01T10:00:00+01:00\"").unwrap();
        assert_eq!(t.0.to_rfc3339(), "2026-12-01T09:00:00+00:00");
        let e = serde_json::from_str::<Timestamp>("\"next week\"").unwrap_err();
        assert!(super::super::invalid_parts(&e.to_string()).is_some());
    }

    #[test]
    fn only_needs_help_and_missing_raise_an_alert() {
        assert_eq!(
            AlertKind::of_checkin(CheckinKind::Missing).map(|(k, _)| k),
            Some(AlertKind::ReportedMissing)
        );
        assert!(AlertKind::of_checkin(CheckinKind::WelfareOk).is_none());
    }
}
