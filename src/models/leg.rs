//! The legs of a case's journey, as stored: the booking reference sealed
//! under the case's key, and `alert_at` (its `arrive_by` while the person is
//! on the way) for the stall scan.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::domain::journey::{LegStatus, TravelMode};
use crate::domain::{CaseCode, CaseId, LegId, ShelterId};
use crate::schema::{case_legs, cases};

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset, Selectable)]
#[diesel(table_name = case_legs, treat_none_as_null = true)]
pub struct Leg {
    pub id: LegId,
    pub case_id: CaseId,
    pub mode: TravelMode,
    pub from_city: String,
    pub from_country: String,
    pub to_city: String,
    pub to_country: String,
    pub depart_at: NaiveDateTime,
    pub arrive_by: NaiveDateTime,
    pub status: LegStatus,
    pub carrier: Option<String>,
    pub cost_amount: Option<String>,
    pub cost_currency: Option<String>,
    /// The booking reference, sealed under the case's key (`leg:<id>:booking`).
    pub booking_sealed: Option<Vec<u8>>,
    pub to_shelter_id: Option<ShelterId>,
    pub alert_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Leg {
    pub fn booking_purpose(id: &LegId) -> String {
        format!("leg:{id}:booking")
    }

    /// When the scan must look at it: its `arrive_by` while on the way.
    pub fn look_at(&self) -> Option<NaiveDateTime> {
        (self.status == LegStatus::Departed).then_some(self.arrive_by)
    }

    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::insert_into(case_legs::table)
            .values(self)
            .execute(conn)
            .map(drop)
    }

    pub fn save(&self, conn: &mut DbConnection) -> QueryResult<()> {
        diesel::update(case_legs::table.find(&self.id))
            .set(self)
            .execute(conn)
            .map(drop)
    }

    pub fn get_locked(conn: &mut DbConnection, case: &CaseId, id: &LegId) -> QueryResult<Leg> {
        db::get_locked!(
            conn,
            case_legs::table
                .filter(case_legs::case_id.eq(case))
                .filter(case_legs::id.eq(id))
        )
    }

    pub fn find(conn: &mut DbConnection, case: &CaseId, id: &LegId) -> QueryResult<Leg> {
        case_legs::table
            .filter(case_legs::case_id.eq(case))
            .filter(case_legs::id.eq(id))
            .first(conn)
    }

    pub fn get_locked_by_id(conn: &mut DbConnection, id: &LegId) -> QueryResult<Leg> {
        db::get_locked!(conn, case_legs::table.find(id))
    }

    pub fn list_for_case(
        conn: &mut DbConnection,
        case: &CaseId,
        page: &PageRequest,
    ) -> QueryResult<Vec<Leg>> {
        page.apply(case_legs::table.into_boxed(), case_legs::id)
            .filter(case_legs::case_id.eq(case.clone()))
            .load(conn)
    }

    /// Legs the scan must look at now (an index range).
    pub fn due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<LegId>> {
        case_legs::table
            .filter(case_legs::alert_at.le(now))
            .order(case_legs::alert_at.asc())
            .select(case_legs::id)
            .limit(limit)
            .load(conn)
    }

    pub fn set_alert_at(
        conn: &mut DbConnection,
        id: &LegId,
        at: Option<NaiveDateTime>,
    ) -> QueryResult<()> {
        diesel::update(case_legs::table.find(id))
            .set(case_legs::alert_at.eq(at))
            .execute(conn)
            .map(drop)
    }

    /// The legs of the case with `code` still to arrive at `shelter`
    /// (planned or on the way), locked; none when the case has none there.
    pub fn inbound_locked(
        conn: &mut DbConnection,
        code: &CaseCode,
        shelter: &ShelterId,
    ) -> QueryResult<Vec<Leg>> {
        // Written out for each backend: the selection is typed by it.
        macro_rules! inbound {
            () => {
                case_legs::table
                    .inner_join(cases::table)
                    .filter(cases::code.eq(code))
                    .filter(case_legs::to_shelter_id.eq(shelter))
                    .filter(case_legs::status.eq_any([LegStatus::Planned, LegStatus::Departed]))
                    .select(Leg::as_select())
            };
        }
        match conn {
            DbConnection::Postgresql(pg) => inbound!().for_update().load(pg),
            DbConnection::Sqlite(lite) => inbound!().load(lite),
        }
    }

    /// A shred: every booking reference of the case is gone.
    pub fn forget_bookings(conn: &mut DbConnection, case: &CaseId) -> QueryResult<usize> {
        diesel::update(case_legs::table.filter(case_legs::case_id.eq(case)))
            .set(case_legs::booking_sealed.eq(None::<Vec<u8>>))
            .execute(conn)
    }
}
