//! One file per table: the row struct, its `New…` insertable where it has
//! one, and the query functions that take a `&mut DbConnection`.

pub mod alert;
pub mod api_key;
pub mod audit;
pub mod bad_key;
pub mod bulk;
pub mod case;
pub mod case_key;
pub mod consent;
pub mod data_step;
pub mod digest_run;
pub mod document;
pub mod event;
pub mod event_note;
pub mod expense;
pub mod idempotency;
pub mod leg;
pub mod login_failure;
pub mod outbox;
pub mod page;
pub mod personal;
pub mod report;
pub mod session;
pub mod setting;
pub mod shelter;
pub mod user;
pub mod vault;

pub use page::{Page, PageRequest};

/// A new row id for rows without an id type of their own: UUIDv7, so ids
/// sort by creation and serve as list cursors.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
