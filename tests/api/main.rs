//! One test binary for the whole HTTP API. Each test runs against the real
//! server on port 0, on SQLite and (when configured) PostgreSQL.

mod helpers;

mod alerts;
mod audit;
mod auth;
mod cases;
mod cli;
mod client;
mod consents;
mod documents;
mod errors;
mod expenses;
mod hardening;
mod leaks;
mod legs;
mod lookup;
mod operations;
mod partner;
mod personal;
mod protection;
mod reliability;
mod roles;
mod shelters;
mod storage;
mod transitions;
mod users;
