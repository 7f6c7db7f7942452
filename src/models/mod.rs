//! One file per table: the row struct, and the query functions that take a
//! `&mut DbConnection`.

pub mod alert;
pub mod api_key;
pub mod case;
pub mod event;
pub mod outbox;
pub mod session;
pub mod shelter;
pub mod user;

/// A new row id: UUIDv7, so ids sort by creation and serve as list cursors.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
