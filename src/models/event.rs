//! The case timeline: append-only events (the database refuses updates and
//! deletes).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::PageRequest;
use crate::db::{self, DbConnection};
use crate::domain::{ActorKind, CaseId, EventKind, ShelterId, Stage, UserId};
use crate::schema::case_events;

/// Who did something: a staff user, a partner shelter or Corridor itself,
/// and the request they did it in (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn user(id: &UserId, name: &str) -> Self {
        Self::new(
            ActorKind::User,
            Some(id.to_string()),
            Some(name.to_string()),
        )
    }

    pub fn shelter(id: &ShelterId, name: &str) -> Self {
        Self::new(
            ActorKind::Shelter,
            Some(id.to_string()),
            Some(name.to_string()),
        )
    }

    pub fn system() -> Self {
        Self::new(ActorKind::System, None, None)
    }

    /// Somebody not signed in (a failed sign-in), for the audit log.
    pub fn anonymous() -> Self {
        Self::new(ActorKind::Anonymous, None, None)
    }

    fn new(kind: ActorKind, id: Option<String>, name: Option<String>) -> Self {
        Self {
            kind,
            id,
            name,
            request_id: None,
        }
    }

    /// The same actor, acting in request `id`.
    pub fn in_request(mut self, id: Option<&str>) -> Self {
        self.request_id = id.map(str::to_string);
        self
    }
}

/// Every column is written, an absent one as NULL, so the `INSERT` reads the
/// same each time and each connection prepares it once.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = case_events, treat_none_as_default_value = false)]
pub struct Event {
    pub id: String,
    pub case_id: CaseId,
    pub kind: EventKind,
    pub at: NaiveDateTime,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub from_stage: Option<Stage>,
    pub to_stage: Option<Stage>,
    pub shelter_id: Option<ShelterId>,
    /// A JSON object.
    pub detail: Option<String>,
}

impl Event {
    /// A new event of `kind` on a case, by `actor`, at `at`.
    pub fn new(case_id: &CaseId, kind: EventKind, actor: &Actor, at: NaiveDateTime) -> Self {
        Self {
            id: super::new_id(),
            case_id: case_id.clone(),
            kind,
            at,
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            from_stage: None,
            to_stage: None,
            shelter_id: None,
            detail: None,
        }
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail.to_string());
        self
    }

    /// The detail as JSON (`null` when there is none).
    pub fn detail_json(&self) -> Value {
        self.detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null)
    }

    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let insert = diesel::insert_into(case_events::table).values(self);
        db::native!(conn, |c| insert.execute(c)).map(drop)
    }

    /// Events whose detail still holds free text in clear (written before
    /// notes were sealed), after `after`, by id.
    pub fn with_clear_text(
        conn: &mut DbConnection,
        after: &str,
        limit: i64,
    ) -> QueryResult<Vec<Event>> {
        case_events::table
            .filter(case_events::id.gt(after))
            .filter(
                case_events::detail
                    .like("%\"note\":\"%")
                    .or(case_events::detail.like("%\"reason\":\"%")),
            )
            .order(case_events::id.asc())
            .limit(limit)
            .load(conn)
    }

    /// Rewrites an event's detail: only the one-time sealing of notes does,
    /// while the timeline is open to it.
    pub fn set_detail(conn: &mut DbConnection, id: &str, detail: &Value) -> QueryResult<()> {
        diesel::update(case_events::table.find(id))
            .set(case_events::detail.eq(detail.to_string()))
            .execute(conn)
            .map(drop)
    }

    /// Makes the timeline refuse updates again (see migration 4).
    pub fn close_timeline(conn: &mut DbConnection) -> QueryResult<()> {
        use diesel::connection::SimpleConnection;
        let sql = match conn {
            DbConnection::Sqlite(_) => {
                "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events \
                 BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;"
            }
            DbConnection::Postgresql(_) => {
                "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events \
                 FOR EACH ROW EXECUTE FUNCTION case_events_append_only();"
            }
        };
        conn.batch_execute(sql)
    }

    /// A case's events, oldest first.
    pub fn list_for_case(
        conn: &mut DbConnection,
        case_id: &CaseId,
        page: &PageRequest,
    ) -> QueryResult<Vec<Event>> {
        page.apply(case_events::table.into_boxed(), case_events::id)
            .filter(case_events::case_id.eq(case_id.clone()))
            .load(conn)
    }
}
