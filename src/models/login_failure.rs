//! Failed sign-ins, which the lockout counts: by account (a hash of the
//! normalised email, so an email with no account locks out exactly like one
//! with an account) and by client address (a hash, never the address).
//!
//! Within 15 minutes: 5 failures for an account from one address lock that
//! account for that address; 50 from all addresses lock it everywhere; and
//! an address that fails `per_address` times across accounts is refused
//! until its failures age (password spraying).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::user::normalise_email;
use crate::db::DbConnection;
use crate::domain::string_enum;
use crate::schema::login_failures;

/// How long a failed sign-in counts.
pub const WINDOW_MINUTES: i64 = 15;
/// Failures for one account from one address that lock it for that address.
pub const PER_ACCOUNT_AND_ADDRESS: usize = 5;
/// Failures for one account from all addresses that lock it everywhere.
pub const PER_ACCOUNT: usize = 50;

string_enum!(
    /// Which limit refuses a sign-in.
    Lock {
        Address => "address",
        AccountFromAddress => "account_from_address",
        Account => "account",
    }
);

/// The key failures of an account are counted under.
pub fn account_key(email: &str) -> String {
    crate::crypto::sha256_hex(normalise_email(email).as_bytes())
}

/// The key failures from a client address are counted under.
pub fn client_key(address: &str) -> String {
    crate::crypto::sha256_hex(format!("client:{address}").as_bytes())
}

pub fn record(
    conn: &mut DbConnection,
    email: &str,
    address: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    // Old failures no longer count; sweeping them here keeps the table small.
    diesel::delete(login_failures::table.filter(login_failures::at.lt(now - Duration::days(1))))
        .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(super::new_id()),
            login_failures::account_key.eq(account_key(email)),
            login_failures::client_key.eq(client_key(address)),
            login_failures::at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Forgets the account's failures: from `address` only (after it signs in
/// there), or from everywhere (`corridor users unlock`). How many went.
pub fn clear(conn: &mut DbConnection, email: &str, address: Option<&str>) -> QueryResult<usize> {
    let of_account =
        login_failures::table.filter(login_failures::account_key.eq(account_key(email)));
    match address {
        Some(address) => {
            diesel::delete(of_account.filter(login_failures::client_key.eq(client_key(address))))
                .execute(conn)
        }
        None => diesel::delete(of_account).execute(conn),
    }
}

/// The limit that refuses a sign-in for `email` from `address` now, and how
/// long until it lifts; `None` when none does.
pub fn lock(
    conn: &mut DbConnection,
    email: &str,
    address: &str,
    per_address: usize,
    now: NaiveDateTime,
) -> QueryResult<Option<(Lock, Duration)>> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let since = now - window;
    let (account, client) = (account_key(email), client_key(address));
    // Locked while the Nth most recent failure is still inside the window.
    let wait = |recent: Vec<NaiveDateTime>, n: usize| {
        (recent.len() >= n).then(|| recent[n - 1] + window - now)
    };
    let recent = login_failures::table
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .select(login_failures::at);
    let from_address: Vec<NaiveDateTime> = recent
        .filter(login_failures::client_key.eq(&client))
        .limit(per_address as i64)
        .load(conn)?;
    if let Some(left) = wait(from_address, per_address) {
        return Ok(Some((Lock::Address, left)));
    }
    let of_account: Vec<(NaiveDateTime, String)> = login_failures::table
        .filter(login_failures::at.gt(since))
        .filter(login_failures::account_key.eq(&account))
        .order(login_failures::at.desc())
        .select((login_failures::at, login_failures::client_key))
        .limit(PER_ACCOUNT as i64)
        .load(conn)?;
    let here = of_account
        .iter()
        .filter(|(_, c)| *c == client)
        .map(|(at, _)| *at)
        .collect();
    if let Some(left) = wait(here, PER_ACCOUNT_AND_ADDRESS) {
        return Ok(Some((Lock::AccountFromAddress, left)));
    }
    let everywhere = of_account.into_iter().map(|(at, _)| at).collect();
    Ok(wait(everywhere, PER_ACCOUNT).map(|left| (Lock::Account, left)))
}

/// How many failures of `email`'s account count now, and from how many
/// client addresses (the addresses themselves are not kept).
pub fn spread(
    conn: &mut DbConnection,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<(usize, usize)> {
    let clients: Vec<String> = login_failures::table
        .filter(login_failures::at.gt(now - Duration::minutes(WINDOW_MINUTES)))
        .filter(login_failures::account_key.eq(account_key(email)))
        .select(login_failures::client_key)
        .load(conn)?;
    let failures = clients.len();
    let distinct: std::collections::HashSet<String> = clients.into_iter().collect();
    Ok((failures, distinct.len()))
}
