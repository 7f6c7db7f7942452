//! The case timeline: append-only events (the database refuses updates and
//! deletes).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::db::DbConnection;
use crate::schema::case_events;

/// Who did something: a staff user, a partner shelter or Corridor itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Actor {
    pub fn user(id: &str, name: &str) -> Self {
        Self {
            kind: "user",
            id: Some(id.to_string()),
            name: Some(name.to_string()),
        }
    }

    pub fn shelter(id: &str, name: &str) -> Self {
        Self {
            kind: "shelter",
            id: Some(id.to_string()),
            name: Some(name.to_string()),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
            name: None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = case_events)]
pub struct Event {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub shelter_id: Option<String>,
    /// A JSON object.
    pub detail: Option<String>,
}

impl Event {
    /// A new event of `kind` on a case, by `actor`, at `at`.
    pub fn new(case_id: &str, kind: &str, actor: &Actor, at: NaiveDateTime) -> Self {
        Self {
            id: super::new_id(),
            case_id: case_id.to_string(),
            kind: kind.to_string(),
            at,
            actor_kind: actor.kind.to_string(),
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

    /// A case's events, oldest first, after the cursor id.
    pub fn list_for_case(
        conn: &mut DbConnection,
        case_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Event>> {
        let mut query = case_events::table
            .filter(case_events::case_id.eq(case_id))
            .order(case_events::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(case_events::id.gt(after.to_string()));
        }
        query.load(conn)
    }
}
