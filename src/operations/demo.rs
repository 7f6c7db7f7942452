//! Synthetic evacuations to try Corridor on, modelled on the programme it
//! was made for: waves from 2017 to 2019, safe houses in Russian cities,
//! resettlement in Canada and Europe, every stage and outcome, contacts and
//! check-ins on the timelines, and a share of open cases still moving —
//! some of them stalled, with open alerts. Every name is invented (and
//! looks it); personal data is sealed like any other. The same seed gives
//! the same cases.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::json;

use super::alerts::Owed;
use super::sealing::CaseKey;
use super::{documents, legs, personal, Context};
use crate::crypto::vault::Keys;
use crate::db::{self, DbConnection};
use crate::domain::document::{DocumentKind, DocumentStatus, Holder};
use crate::domain::journey::{format_amount, ExpenseCategory, LegStatus, TravelMode};
use crate::domain::personal::{BirthDate, Handle};
use crate::domain::stall::{self, Breach, StallRules};
use crate::domain::{code::ALPHABET, ActorKind, AlertId, CaseCode};
use crate::domain::{CaseId, Channel, CheckinKind, DomainError, EventKind, Need, Needs, Outcome};
use crate::domain::{ConsentId, ConsentMethod, ConsentScope, DocumentId, ExpenseId, LegId};
use crate::domain::{Personal, RiskLevel, ShelterId, Stage};
use crate::models::alert::Alert;
use crate::models::bulk;
use crate::models::case::Case;
use crate::models::case_key::CaseKeyRow;
use crate::models::consent::Consent;
use crate::models::document::Document;
use crate::models::event::{Actor, Event};
use crate::models::expense::Expense;
use crate::models::leg::Leg;
use crate::models::personal::PersonalRow;
use crate::models::shelter::Shelter;

/// Why the demo could not fill the database.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the database holds {0} case(s) already; corridor demo fills only an empty one, and \
         changed nothing"
    )]
    NotEmpty(i64),
    #[error("{0}")]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// Cases written per transaction.
const CHUNK: usize = 2_000;

/// A small, seeded generator (SplitMix64): the same seed, the same data.
/// Not for secrets: keys come from the operating system.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - low + 1).max(1) as u64;
        low + (self.next() % span) as i64
    }

    /// True with probability `percent` in 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    /// One of `items` by weight.
    fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.next() % total;
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &items[0].0
    }

    /// A time-ordered UUID for a moment, reproducible.
    fn uuid_at(&mut self, at: NaiveDateTime) -> String {
        let millis = at.and_utc().timestamp_millis().max(0) as u64;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next().to_le_bytes());
        random[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }
}

const CITIES: [&str; 8] = [
    "Moscow",
    "Saint Petersburg",
    "Nizhny Novgorod",
    "Yekaterinburg",
    "Kazan",
    "Rostov-on-Don",
    "Samara",
    "Novosibirsk",
];
const HOUSES: [&str; 8] = [
    "Birch", "Linden", "Rowan", "Alder", "Willow", "Aspen", "Maple", "Juniper",
];
const DESTINATIONS: [(&str, u64); 11] = [
    ("CA", 30),
    ("DE", 15),
    ("NL", 12),
    ("FR", 10),
    ("LT", 8),
    ("SE", 6),
    ("NO", 5),
    ("FI", 4),
    ("BE", 4),
    ("US", 3),
    ("GB", 3),
];
const ORIGINS: [(&str, u64); 3] = [("Chechnya", 85), ("Ingushetia", 8), ("Dagestan", 7)];
const GIVEN: [&str; 16] = [
    "Adam", "Aslan", "Ruslan", "Zelim", "Islam", "Madina", "Khava", "Luiza", "Timur", "Murad",
    "Amina", "Said", "Ibragim", "Zarema", "Magomed", "Liana",
];
/// Surnames that are plainly made up: "Example", "Sample", "Placeholder"…
const INVENTED: [&str; 8] = [
    "Primerov",
    "Obraztsov",
    "Demoev",
    "Testaev",
    "Sampleov",
    "Fiktivov",
    "Zaglushkin",
    "Vymyslov",
];
const ALIASES: [&str; 12] = [
    "Swallow", "Heron", "Lark", "Finch", "Crane", "Robin", "Wren", "Plover", "Starling", "Swift",
    "Kestrel", "Curlew",
];
const CHANNELS: [Channel; 4] = [
    Channel::Signal,
    Channel::Telegram,
    Channel::Phone,
    Channel::Whatsapp,
];

/// How a case's story ends (closed) or where it is now (open).
#[derive(Debug, Clone, Copy)]
enum Fate {
    Closed(Outcome),
    Open { stage: Stage, stalled: bool },
}

/// Everything one case writes.
#[derive(Default)]
struct Rows {
    cases: Vec<Case>,
    documents: Vec<Document>,
    legs: Vec<Leg>,
    consents: Vec<Consent>,
    expenses: Vec<Expense>,
    events: Vec<Event>,
    keys: Vec<CaseKeyRow>,
    personal: Vec<PersonalRow>,
    alerts: Vec<Alert>,
    /// Closed cases written as shredded already.
    shredded: usize,
}

impl Rows {
    fn write(&self, conn: &mut DbConnection) -> Result<(), DomainError> {
        bulk::insert_cases(conn, &self.cases)?;
        bulk::insert_events(conn, &self.events)?;
        bulk::insert_case_keys(conn, &self.keys)?;
        bulk::insert_personal(conn, &self.personal)?;
        bulk::insert_alerts(conn, &self.alerts)?;
        bulk::insert_documents(conn, &self.documents)?;
        bulk::insert_legs(conn, &self.legs)?;
        bulk::insert_expenses(conn, &self.expenses)?;
        bulk::insert_consents(conn, &self.consents)?;
        Ok(())
    }
}

/// The demo's shelters.
fn shelters(dice: &mut Dice, now: NaiveDateTime) -> Vec<Shelter> {
    let opened = NaiveDate::from_ymd_opt(2017, 3, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or(now);
    HOUSES
        .iter()
        .zip(CITIES)
        .map(|(house, city)| Shelter {
            id: ShelterId::parse(&dice.uuid_at(opened)).unwrap_or_else(ShelterId::new),
            name: format!("Safe house {house} (demo)"),
            city: Some(city.to_string()),
            country: "RU".into(),
            capacity: dice.between(6, 14) as i32,
            contact_email: None,
            active: true,
            created_at: opened,
            updated_at: opened,
            version: 1,
            email_label: Some(format!("House {house}")),
        })
        .collect()
}

/// Which fate case `n` of `total` gets: about one in six still open, every
/// open stage and every outcome present.
fn fate(dice: &mut Dice, n: usize, total: usize) -> Fate {
    const OPEN: [Stage; 4] = [
        Stage::Intake,
        Stage::SafeHouse,
        Stage::Transit,
        Stage::Resettlement,
    ];
    let open_count = (total / 6).max(OPEN.len().min(total));
    if n < open_count {
        return Fate::Open {
            stage: OPEN[n % OPEN.len()],
            stalled: n % 5 < 2,
        };
    }
    let closed = n - open_count;
    if closed < Outcome::ALL.len() {
        return Fate::Closed(Outcome::ALL[closed]);
    }
    Fate::Closed(*dice.weighted(&[
        (Outcome::Resettled, 80),
        (Outcome::Withdrawn, 6),
        (Outcome::LostContact, 5),
        (Outcome::Returned, 5),
        (Outcome::Other, 3),
        (Outcome::Deceased, 1),
    ]))
}

/// A case's story, event by event.
struct Story<'a> {
    dice: &'a mut Dice,
    case: Case,
    events: Vec<Event>,
    shelters: &'a [Shelter],
    at: NaiveDateTime,
}

impl Story<'_> {
    fn event(&mut self, kind: EventKind, detail: serde_json::Value) -> &mut Event {
        let at = self.at;
        let id = self.dice.uuid_at(at);
        self.events.push(Event {
            id,
            case_id: self.case.id.clone(),
            kind,
            at,
            actor_kind: ActorKind::System,
            actor_id: None,
            actor_name: Some("demo".into()),
            from_stage: None,
            to_stage: None,
            shelter_id: None,
            detail: Some(detail.to_string()),
        });
        self.case.version += 1;
        self.case.updated_at = at;
        self.events.last_mut().expect("just pushed")
    }

    fn wait(&mut self, minutes: i64) {
        self.at += Duration::minutes(minutes.max(1));
    }

    fn move_to(&mut self, to: Stage, outcome: Option<Outcome>) {
        let from = self.case.stage;
        let shelter = (to == Stage::SafeHouse).then(|| {
            let current = self.case.shelter_id.clone();
            loop {
                let pick = self.dice.pick(self.shelters).id.clone();
                if Some(&pick) != current.as_ref() || self.shelters.len() == 1 {
                    break pick;
                }
            }
        });
        let detail = match outcome {
            Some(outcome) => json!({ "outcome": outcome }),
            None => json!({}),
        };
        let event = self.event(EventKind::Transition, detail);
        event.from_stage = Some(from);
        event.to_stage = Some(to);
        event.shelter_id = shelter.clone();
        self.case.stage = to;
        self.case.stage_entered_at = self.at;
        self.case.shelter_id = shelter;
        self.case.outcome = outcome;
    }

    /// Someone hears from the person every `every` minutes or so for `span`.
    fn keep_in_touch(&mut self, span: i64, every: (i64, i64)) {
        let end = self.at + Duration::minutes(span);
        loop {
            let step = self.dice.between(every.0, every.1);
            if self.at + Duration::minutes(step) >= end {
                break;
            }
            self.wait(step);
            let placed = self.case.stage == Stage::SafeHouse && self.dice.chance(50);
            match (placed, self.case.shelter_id.clone()) {
                (true, Some(shelter)) => {
                    let name = self
                        .shelters
                        .iter()
                        .find(|s| s.id == shelter)
                        .map(|s| s.name.clone());
                    let event = self.event(
                        EventKind::CheckIn,
                        json!({ "kind": CheckinKind::WelfareOk }),
                    );
                    event.actor_kind = ActorKind::Shelter;
                    event.actor_id = Some(shelter.to_string());
                    event.actor_name = name;
                }
                _ => {
                    let channel = *self.dice.pick(&CHANNELS);
                    self.event(EventKind::Contact, json!({ "channel": channel }));
                }
            }
            self.case.last_contact_at = Some(self.at);
        }
        self.at = end;
    }
}

const DAY: i64 = 24 * 60;

/// Minutes a case spends in `stage` when all goes to plan.
fn usual_stay(dice: &mut Dice, stage: Stage) -> i64 {
    match stage {
        Stage::Intake => dice.between(DAY / 2, 3 * DAY),
        Stage::SafeHouse => dice.between(8 * DAY, 20 * DAY),
        Stage::Transit => dice.between(DAY, 4 * DAY),
        Stage::Resettlement => dice.between(30 * DAY, 80 * DAY),
        Stage::Closed => 0,
    }
}

/// How often someone hears from a person in `stage`, in minutes.
fn touch(stage: Stage) -> (i64, i64) {
    match stage {
        Stage::SafeHouse => (2 * DAY, 5 * DAY),
        Stage::Transit => (DAY / 2, 3 * DAY / 2),
        Stage::Resettlement => (8 * DAY, 20 * DAY),
        _ => (DAY, 2 * DAY),
    }
}

/// The stages a case passes through before its fate.
fn path(fate: Fate, dice: &mut Dice) -> Vec<Stage> {
    use Stage::*;
    match fate {
        Fate::Open { stage, .. } => match stage {
            Intake => vec![],
            SafeHouse => vec![SafeHouse],
            Transit => vec![SafeHouse, Transit],
            _ => vec![SafeHouse, Transit, Resettlement],
        },
        Fate::Closed(outcome) => match outcome {
            Outcome::Resettled | Outcome::Deceased => vec![SafeHouse, Transit, Resettlement],
            Outcome::Withdrawn if dice.chance(50) => vec![],
            Outcome::Withdrawn | Outcome::Returned => vec![SafeHouse],
            Outcome::LostContact => vec![SafeHouse, Transit],
            Outcome::Other => vec![SafeHouse, Transit, SafeHouse],
        },
    }
}

/// What every case is made in.
struct World<'a> {
    keys: &'a Keys,
    rules: &'a StallRules,
    shelters: &'a [Shelter],
    now: NaiveDateTime,
    /// How long a closed case keeps its personal data (`[retention]`).
    retention: Duration,
    /// How long before `valid_until` a document is expiring (`[documents]`).
    expiring_within: Duration,
}

/// How long an open case has been in its stage, and how long since anyone
/// heard from the person there (`None`: as usual), in minutes.
fn open_stay(
    dice: &mut Dice,
    rules: &StallRules,
    stage: Stage,
    stalled: bool,
) -> (i64, Option<i64>) {
    let limit = rules.longest_stay(stage).map_or(DAY, |d| d.num_minutes());
    let silence = rules.longest_silence(stage).map(|d| d.num_minutes());
    match (stalled, silence) {
        (false, _) => (dice.between(limit / 10, limit / 2), None),
        // Silent too long, well within the stay.
        (true, Some(silence)) if silence * 2 < limit && dice.chance(50) => {
            let quiet = dice.between(silence + silence / 5, silence + silence / 2);
            (
                dice.between(quiet + DAY, (quiet + DAY).max(limit * 9 / 10)),
                Some(quiet),
            )
        }
        (true, _) => (dice.between(limit + limit / 10, limit + limit / 2), None),
    }
}

/// Writes one case's story into `rows`.
fn case(
    dice: &mut Dice,
    codes: &mut HashSet<String>,
    world: &World<'_>,
    fate: Fate,
    rows: &mut Rows,
) -> Result<(), DomainError> {
    let (rules, now) = (world.rules, world.now);
    let stages = path(fate, dice);
    let mut stays: Vec<i64> = Vec::with_capacity(stages.len() + 1);
    let mut stage = Stage::Intake;
    for &next in &stages {
        stays.push(usual_stay(dice, stage));
        stage = next;
    }
    // Closed cases came in the waves of 2017–2019; open ones are on their way now.
    let (created, last) = match fate {
        Fate::Closed(_) => {
            stays.push(usual_stay(dice, stage));
            let (year, month) =
                *dice.weighted(&[((2017, 3), 60), ((2018, 2), 25), ((2019, 4), 15)]);
            let wave = NaiveDate::from_ymd_opt(year, month, 1)
                .and_then(|d| d.and_hms_opt(8, 0, 0))
                .unwrap_or(now);
            (wave + Duration::minutes(dice.between(0, 150 * DAY)), None)
        }
        Fate::Open { stalled, .. } => {
            let (stay, quiet) = open_stay(dice, rules, stage, stalled);
            stays.push(stay);
            (now - Duration::minutes(stays.iter().sum()), quiet)
        }
    };
    let code = loop {
        let tail: String = (0..6).map(|_| *dice.pick(ALPHABET) as char).collect();
        let text = format!("EV-{tail}");
        if codes.insert(text.clone()) {
            break CaseCode::parse(&text)
                .ok_or_else(|| DomainError::Internal("a demo code does not parse".into()))?;
        }
    };
    let id = CaseId::parse(&dice.uuid_at(created)).unwrap_or_else(CaseId::new);
    let needs = Needs::new(Need::ALL.iter().copied().filter(|_| dice.chance(35)));
    let case = Case {
        id,
        code,
        stage: Stage::Intake,
        outcome: None,
        risk_level: *dice.weighted(&[
            (RiskLevel::Critical, 30),
            (RiskLevel::High, 45),
            (RiskLevel::Medium, 20),
            (RiskLevel::Low, 5),
        ]),
        household_size: *dice.weighted(&[(1, 70), (2, 18), (3, 8), (4, 4)]),
        needs,
        origin_region: Some(dice.weighted(&ORIGINS).to_string()),
        destination_country: Some(dice.weighted(&DESTINATIONS).to_string()),
        shelter_id: None,
        assigned_to: None,
        stage_entered_at: created,
        last_contact_at: None,
        snoozed_until: None,
        stall_at: None,
        created_at: created,
        updated_at: created,
        version: 0,
        scan_at: None,
    };
    let mut story = Story {
        dice,
        case,
        events: Vec::new(),
        shelters: world.shelters,
        at: created,
    };
    story.event(EventKind::Created, json!({ "stage": Stage::Intake }));
    let mut current = Stage::Intake;
    for (&next, &stay) in stages.iter().zip(&stays) {
        story.keep_in_touch(stay, touch(current));
        story.move_to(next, None);
        current = next;
    }
    let stay = stays.last().copied().unwrap_or_default();
    match (fate, last) {
        (Fate::Closed(outcome), _) => {
            story.keep_in_touch(stay, touch(current));
            story.move_to(Stage::Closed, Some(outcome));
        }
        (Fate::Open { .. }, Some(quiet)) => {
            story.keep_in_touch(stay - quiet, touch(current));
            story.at = now;
        }
        (Fate::Open { .. }, None) => story.keep_in_touch(stay, touch(current)),
    }
    let Story {
        mut case, events, ..
    } = story;
    let input = case.stall_input();
    case.stall_at = match case.stage {
        Stage::Closed => None,
        _ => stall::deadline(rules, input),
    };
    // Alerted for its deadline when stalled; else looked at when it comes.
    case.scan_at = case.stall_at.filter(|_| !case.is_stalled(now));
    rows.events.extend(events);
    if case.is_stalled(now) {
        let breach = Breach::of(rules, &input, now);
        let kind = breach.kind();
        let raised = case.stall_at.unwrap_or(now);
        let episode = stall::episode(&case.id, kind, &input);
        let rule = breach.to_string();
        let owed = Owed {
            kind,
            episode,
            rule,
            due: raised,
        };
        raise(dice, world, rows, &case, owed);
    }
    let personal = invented_person(dice);
    // Closed longer ago than the retention period: shredded already, as the
    // retention sweep would have left it (so a first start shreds nothing).
    if case.stage == Stage::Closed && case.stage_entered_at + world.retention <= now {
        let (_, mut key_row) = CaseKey::fresh(world.keys, &case.id, case.created_at);
        key_row.wrapped_key = None;
        key_row.shredded_at = Some(case.stage_entered_at + world.retention);
        rows.keys.push(key_row);
        rows.cases.push(case);
        rows.shredded += 1;
        return Ok(());
    }
    let (key, key_row) = CaseKey::fresh(world.keys, &case.id, case.created_at);
    let duplicate_key = personal
        .duplicate_basis()
        .map(|basis| world.keys.mac().mac(basis.as_bytes()));
    rows.personal.push(personal::seal(
        &key,
        &case.id,
        &personal,
        duplicate_key,
        1,
        case.created_at,
    )?);
    if case.stage != Stage::Closed {
        logistics(dice, world, &case, &key, rows);
    }
    rows.keys.push(key_row);
    rows.cases.push(case);
    Ok(())
}

/// What stands between an open case and its next stage, as its stage
/// suggests: documents (some overdue, some about to expire), a journey
/// (some people overdue on the way) and what was spent, alerted as the
/// scan would have.
fn logistics(dice: &mut Dice, world: &World<'_>, case: &Case, key: &CaseKey, rows: &mut Rows) {
    let now = world.now;
    let destination = case
        .destination_country
        .clone()
        .unwrap_or_else(|| "CA".into());
    let document = |dice: &mut Dice, rows: &mut Rows, kind, country: &str, status, days: i64| {
        let id = DocumentId::parse(&dice.uuid_at(case.created_at)).unwrap_or_else(DocumentId::new);
        let day = (now + Duration::days(days)).date();
        let (expected_by, valid_until) = match status {
            DocumentStatus::Issued => (None, Some(day)),
            _ => (Some(day), None),
        };
        let number = format!("DEMO-{}", dice.between(1_000_000, 9_999_999));
        let mut document = Document {
            number_sealed: Some(key.seal(&Document::number_purpose(&id), number.as_bytes())),
            id,
            case_id: case.id.clone(),
            kind,
            country: country.to_string(),
            status,
            applied_on: Some((case.created_at + Duration::days(2)).date()),
            appointment_at: None,
            expected_by,
            valid_until,
            held_by: Some(*dice.pick(&[Holder::Person, Holder::Coordinator, Holder::Embassy])),
            alert_at: None,
            version: 1,
            created_at: case.created_at,
            updated_at: case.created_at,
        };
        let within = world.expiring_within;
        for owed in documents::due_alerts(&document, case.stage, within, now) {
            raise(dice, world, rows, case, owed);
        }
        document.alert_at = document.dates().next_look(within, now);
        rows.documents.push(document);
    };
    // Most agree, at intake, that their shelter may know them by an alias.
    if dice.chance(85) {
        let at = case.created_at + Duration::hours(2);
        let consent = Consent {
            id: ConsentId::parse(&dice.uuid_at(at)).unwrap_or_else(ConsentId::new),
            case_id: case.id.clone(),
            scope: ConsentScope::ShareAliasWithShelter,
            given: true,
            method: ConsentMethod::Verbal,
            recorded_by: None,
            recorded_at: at,
        };
        let mut event = Event::new(&case.id, EventKind::Consent, &Actor::system(), at).detail(
            json!({ "consent_id": consent.id, "scope": consent.scope, "given": true, "method": consent.method }),
        );
        event.id = dice.uuid_at(at);
        rows.events.push(event);
        rows.consents.push(consent);
    }
    match case.stage {
        Stage::Intake => {
            let status = *dice.pick(&[DocumentStatus::Needed, DocumentStatus::Applied]);
            let days = dice.between(-10, 40);
            document(dice, rows, DocumentKind::TravelPassport, "RU", status, days);
        }
        Stage::SafeHouse => {
            let years = dice.between(2, 8) * 365;
            document(
                dice,
                rows,
                DocumentKind::TravelPassport,
                "RU",
                DocumentStatus::Issued,
                years,
            );
            let status = *dice.pick(&[DocumentStatus::Applied, DocumentStatus::AppointmentBooked]);
            let days = dice.between(-12, 45);
            document(dice, rows, DocumentKind::Visa, &destination, status, days);
        }
        Stage::Transit | Stage::Resettlement => {
            let valid = dice.between(20, 400);
            document(
                dice,
                rows,
                DocumentKind::Visa,
                &destination,
                DocumentStatus::Issued,
                valid,
            );
            if case.stage == Stage::Resettlement {
                let status = DocumentStatus::Applied;
                let kind = DocumentKind::ResidencePermit;
                let days = dice.between(10, 90);
                document(dice, rows, kind, &destination, status, days);
            }
            journey(dice, world, case, key, &destination, rows);
        }
        Stage::Closed => {}
    }
    // What getting here cost: in the last month.
    for _ in 0..dice.between(1, 3) {
        let category = *dice.weighted(&[
            (ExpenseCategory::Transport, 40),
            (ExpenseCategory::Housing, 25),
            (ExpenseCategory::Documents, 20),
            (ExpenseCategory::Subsistence, 15),
        ]);
        let (currency, low, high) = *dice.pick(&[("EUR", 20, 600), ("RUB", 1_500, 40_000)]);
        let amount_e4 = dice.between(low, high) * 10_000;
        let spent = (now - Duration::days(dice.between(0, 30))).max(case.created_at);
        let id = ExpenseId::parse(&dice.uuid_at(spent)).unwrap_or_else(ExpenseId::new);
        rows.expenses.push(Expense {
            id,
            case_id: case.id.clone(),
            category,
            amount: format_amount(i128::from(amount_e4)),
            currency: currency.to_string(),
            amount_e4,
            spent_on: spent.date(),
            note_sealed: None,
            created_at: spent,
        });
    }
}

/// The leg that takes a case in transit (on the way; some overdue) or took
/// one now resettled (arrived): Moscow to Vilnius by rail, or to the
/// destination by air.
fn journey(
    dice: &mut Dice,
    world: &World<'_>,
    case: &Case,
    key: &CaseKey,
    destination: &str,
    rows: &mut Rows,
) {
    let now = world.now;
    let (mode, to_city, to_country) = match destination {
        "LT" => (TravelMode::Rail, "Vilnius", "LT"),
        "CA" => (TravelMode::Air, "Toronto", "CA"),
        "DE" => (TravelMode::Air, "Berlin", "DE"),
        "NL" => (TravelMode::Air, "Amsterdam", "NL"),
        "FR" => (TravelMode::Air, "Paris", "FR"),
        _ => (TravelMode::Rail, "Vilnius", "LT"),
    };
    let (depart_at, arrive_by, status) = match case.stage {
        Stage::Transit => {
            let left = now - Duration::hours(dice.between(6, 40));
            let arrive_by = left + Duration::hours(dice.between(8, 60));
            (left, arrive_by, LegStatus::Departed)
        }
        _ => {
            let left = case.stage_entered_at - Duration::days(2);
            (left, left + Duration::hours(20), LegStatus::Arrived)
        }
    };
    let id = LegId::parse(&dice.uuid_at(depart_at)).unwrap_or_else(LegId::new);
    let reference = format!("DEMO{}", dice.between(100_000, 999_999));
    let cost = dice.between(60, 900) * 10_000;
    let leg = Leg {
        booking_sealed: Some(key.seal(&Leg::booking_purpose(&id), reference.as_bytes())),
        id,
        case_id: case.id.clone(),
        mode,
        from_city: "Moscow".into(),
        from_country: "RU".into(),
        to_city: to_city.into(),
        to_country: to_country.into(),
        depart_at,
        arrive_by,
        status,
        carrier: None,
        cost_amount: Some(format_amount(i128::from(cost))),
        cost_currency: Some("EUR".into()),
        to_shelter_id: None,
        alert_at: None,
        version: 1,
        created_at: depart_at - Duration::days(3),
        updated_at: depart_at,
    };
    let leg = match legs::due_alert(&leg, now) {
        Some(owed) => {
            raise(dice, world, rows, case, owed);
            leg
        }
        None => Leg {
            alert_at: leg.look_at(),
            ..leg
        },
    };
    rows.legs.push(leg);
}

/// An alert as the scan would have raised it at `raised` (its event on the
/// timeline), and escalated when that came due: the first scan after the
/// demo has no backlog to send.
fn raise(
    dice: &mut Dice,
    world: &World<'_>,
    rows: &mut Rows,
    case: &Case,
    Owed {
        kind,
        episode,
        rule,
        due: raised,
    }: Owed,
) {
    let alert = Alert {
        id: AlertId::parse(&dice.uuid_at(raised)).unwrap_or_else(AlertId::new),
        ..Alert::open(&case.id, kind, case.stage, episode, raised)
    };
    let mut raised_event = Event::new(&case.id, EventKind::AlertRaised, &Actor::system(), raised)
        .detail(json!({ "alert_id": alert.id, "kind": kind, "rule": rule }));
    raised_event.id = dice.uuid_at(raised + Duration::seconds(1));
    rows.events.push(raised_event);
    let due = raised + world.rules.escalate_after;
    let alert = if due <= world.now {
        let mut escalated = Event::new(&case.id, EventKind::AlertEscalated, &Actor::system(), due)
            .detail(json!({ "alert_id": alert.id, "kind": kind }));
        escalated.id = dice.uuid_at(due);
        rows.events.push(escalated);
        Alert {
            escalated_at: Some(due),
            ..alert
        }
    } else {
        alert
    };
    rows.alerts.push(alert);
}

/// Someone who does not exist, and whose name says so.
fn invented_person(dice: &mut Dice) -> Personal {
    let given = *dice.pick(&GIVEN);
    let family = *dice.pick(&INVENTED);
    let born = NaiveDate::from_ymd_opt(
        dice.between(1972, 2003) as i32,
        dice.between(1, 12) as u32,
        dice.between(1, 28) as u32,
    );
    Personal {
        legal_name: Some(format!("{given} {family}")),
        alias: Some(format!(
            "{}-{:03}",
            dice.pick(&ALIASES),
            dice.between(1, 999)
        )),
        date_of_birth: born.map(BirthDate),
        contacts: vec![Handle {
            channel: Channel::Signal,
            value: format!("demo-{:06}", dice.between(0, 999_999)),
        }],
        notes: None,
    }
}

/// What a demo wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    pub cases: usize,
    /// Closed longer ago than the retention period: written as shredded.
    pub shredded: usize,
}

/// Fills an empty database with `total` demo cases from `seed`, in
/// transactions of a few thousand cases; `progress` hears how many are
/// written. Refuses, changing nothing, when the database holds cases.
/// Dated so that a first start changes nothing: closed cases past
/// `retention` are shredded already, and alerts due for escalation are
/// escalated already.
#[allow(clippy::too_many_arguments)]
pub fn fill(
    conn: &mut DbConnection,
    context: &Context,
    retention: Duration,
    seed: u64,
    total: usize,
    now: NaiveDateTime,
    mut progress: impl FnMut(usize),
) -> Result<Filled, DemoError> {
    let existing = Case::count(conn)?;
    if existing > 0 {
        return Err(DemoError::NotEmpty(existing));
    }
    let mut dice = Dice::new(seed);
    let shelters = shelters(&mut dice, now);
    db::write(conn, |conn| bulk::insert_shelters(conn, &shelters))?;
    let world = World {
        keys: &context.keys,
        rules: &context.rules,
        shelters: &shelters,
        now,
        retention,
        expiring_within: context.expiring_within,
    };
    let mut codes = HashSet::with_capacity(total);
    let (mut written, mut shredded) = (0, 0);
    while written < total {
        let mut rows = Rows::default();
        let end = (written + CHUNK).min(total);
        for n in written..end {
            let fate = fate(&mut dice, n, total);
            case(&mut dice, &mut codes, &world, fate, &mut rows)?;
        }
        db::write(conn, |conn| rows.write(conn))?;
        (written, shredded) = (end, shredded + rows.shredded);
        progress(written);
    }
    Ok(Filled {
        cases: written,
        shredded,
    })
}
