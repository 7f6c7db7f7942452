//! Signing in and out: the lockout, sessions and their refresh tokens,
//! password changes — each step audited in the transaction that makes it.
//! Passwords are checked by the caller (`auth::password`, off the async
//! workers); these functions take what that check decided.

use chrono::{Duration, NaiveDateTime};

use super::audit;
use crate::crypto::vault::Keys;
use crate::db::DbConnection;
use crate::domain::{AuditAction, DomainError, Role, SessionId, UserId};
use crate::email::{self, Links};
use crate::models::event::Actor;
use crate::models::login_failure::{self, Lock};
use crate::models::session::{Session, SessionUser};
use crate::models::setting;
use crate::models::user::User;

/// Who is signing in, as far as the server can tell: the request, and the
/// client's address (the socket's, or a trusted proxy's `X-Forwarded-For`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub request_id: Option<String>,
    pub address: String,
}

impl Caller {
    /// The caller before anyone is known: nobody, from this address.
    fn stranger(&self) -> Actor {
        Actor::anonymous().in_request(self.request_id.as_deref())
    }
}

/// What a sign-in attempt finds: the account (if any) and, when a limit
/// refuses it, which and how long until it lifts.
pub struct Attempt {
    pub user: Option<User>,
    pub locked: Option<(Lock, Duration)>,
}

/// Looks up the account behind `email` and the limits that apply to this
/// caller (at most `per_address` failures from one address). A refusal is
/// audited (`login.locked`, naming the limit).
pub fn look_up(
    conn: &mut DbConnection,
    keys: &Keys,
    links: &Links,
    email: &str,
    caller: &Caller,
    per_address: usize,
    now: NaiveDateTime,
) -> Result<Attempt, DomainError> {
    let attempt = Attempt {
        locked: login_failure::lock(conn, email, &caller.address, per_address, now)?,
        user: User::find_by_email(conn, email)?,
    };
    if let Some((lock, _)) = attempt.locked {
        if let (Lock::Account, Some(user)) = (lock, &attempt.user) {
            account_lock_episode(conn, links, user, now)?;
        }
        let target = match &attempt.user {
            Some(user) => format!("{lock} {}", user.id),
            None => lock.to_string(),
        };
        let actor = caller.stranger();
        audit(
            conn,
            keys,
            &actor,
            AuditAction::LoginLocked,
            None,
            Some(target),
            now,
        )?;
    }
    Ok(attempt)
}

/// An account locked everywhere is an episode from its first refusal until
/// a window passes without one; the admins hear of each episode once.
fn account_lock_episode(
    conn: &mut DbConnection,
    links: &Links,
    user: &User,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let name = format!("account_lock:{}", user.id);
    let at = now.and_utc().timestamp();
    let last = setting::get(conn, &name)?.and_then(|v| v.parse::<i64>().ok());
    setting::put(conn, &name, &at.to_string())?;
    if last.is_some_and(|last| at - last <= login_failure::WINDOW_MINUTES * 60) {
        return Ok(());
    }
    let (failures, addresses) = login_failure::spread(conn, &user.email, now)?;
    let message = email::account_locked(&user.email, failures, addresses, &links.audit());
    for (admin, address) in User::active_with_roles(conn, &[Role::Admin])? {
        let key = format!("account-locked:{}:{at}:{admin}", user.id);
        super::notify(conn, key, &address, &message, now)?;
    }
    Ok(())
}

/// Counts a failed sign-in for `email` from this caller, and audits it.
pub fn failed(
    conn: &mut DbConnection,
    keys: &Keys,
    email: &str,
    user: Option<&UserId>,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    login_failure::record(conn, email, &caller.address, now)?;
    let target = user.map(UserId::to_string);
    audit(
        conn,
        keys,
        &caller.stranger(),
        AuditAction::LoginFailed,
        None,
        target,
        now,
    )
}

/// Opens `session` for a user who just signed in; their failures from this
/// address are forgotten (not those from elsewhere).
pub fn signed_in(
    conn: &mut DbConnection,
    keys: &Keys,
    user: &User,
    session: &Session,
    caller: &Caller,
) -> Result<(), DomainError> {
    login_failure::clear(conn, &user.email, Some(&caller.address))?;
    session.insert(conn)?;
    let actor = Actor::user(&user.id, &user.display_name).in_request(caller.request_id.as_deref());
    audit(
        conn,
        keys,
        &actor,
        AuditAction::LoginOk,
        None,
        None,
        session.created_at,
    )
}

/// A refresh token presented for `session_id`, by its hash: when it is the
/// current one, the session moves on to `next_hash` and the user is
/// answered; a stale one (someone else may hold a copy) revokes the whole
/// session, audited.
pub fn refresh(
    conn: &mut DbConnection,
    keys: &Keys,
    session_id: &SessionId,
    (presented_hash, next_hash): (&str, &str),
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<Option<SessionUser>, DomainError> {
    let Some(session) = Session::find(conn, session_id)? else {
        return Ok(None);
    };
    if !session.is_live(now) {
        return Ok(None);
    }
    let current = session.refresh_hash.as_bytes();
    if !crate::crypto::constant_time_eq(presented_hash.as_bytes(), current) {
        Session::revoke(conn, &session.id, now)?;
        let target = Some(session.user_id.to_string());
        audit(
            conn,
            keys,
            &caller.stranger(),
            AuditAction::RefreshReused,
            None,
            target,
            now,
        )?;
        return Ok(None);
    }
    let user = User::find(conn, &session.user_id)?;
    if !user.active {
        return Ok(None);
    }
    let rotated = Session::rotate(conn, &session.id, &session.refresh_hash, next_hash, now)?;
    Ok((rotated == 1).then_some(SessionUser {
        user_id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
    }))
}

/// Ends one session, audited.
pub fn logout(
    conn: &mut DbConnection,
    keys: &Keys,
    session: &SessionId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    Session::revoke(conn, session, now)?;
    audit(conn, keys, actor, AuditAction::Logout, None, None, now)
}

/// Stores a user's new password hash, forgets their failed sign-ins and
/// ends every session of theirs but `keep` (all when `None`: a reset from
/// the machine), audited.
pub fn set_password(
    conn: &mut DbConnection,
    keys: &Keys,
    user: &User,
    hash: &str,
    keep: Option<&SessionId>,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<usize, DomainError> {
    User::set_password_hash(conn, &user.id, hash, now)?;
    login_failure::clear(conn, &user.email, None)?;
    let ended = Session::revoke_all(conn, Some(&user.id), keep, now)?;
    let target = Some(user.id.to_string());
    audit(
        conn,
        keys,
        actor,
        AuditAction::PasswordChanged,
        None,
        target,
        now,
    )?;
    Ok(ended)
}

/// Lifts every lock on an account (`corridor users unlock`): its failures
/// from every address are forgotten, audited. How many were.
pub fn unlock(
    conn: &mut DbConnection,
    keys: &Keys,
    user: &User,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<usize, DomainError> {
    let forgotten = login_failure::clear(conn, &user.email, None)?;
    let target = Some(user.id.to_string());
    audit(
        conn,
        keys,
        actor,
        AuditAction::LoginUnlocked,
        None,
        target,
        now,
    )?;
    Ok(forgotten)
}
