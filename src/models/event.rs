//! The case timeline: append-only events (the database refuses updates and
//! deletes).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::PageRequest;
use crate::db::DbConnection;
use crate::domain::{ActorKind, CaseId, EventKind, ShelterId, Stage, UserId};
use crate::schema::case_events;

/// Who did something: a staff user, a partner shelter or Corridor itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Actor {
    pub fn user(id: &UserId, name: &str) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(id.to_string()),
            name: Some(name.to_string()),
        }
    }

    pub fn shelter(id: &ShelterId, name: &str) -> Self {
        Self {
            kind: ActorKind::Shelter,
            id: Some(id.to_string()),
            name: Some(name.to_string()),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            name: None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = case_events)]
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
        diesel::insert_into(case_events::table)
            .values(self)
            .execute(conn)
            .map(drop)
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
