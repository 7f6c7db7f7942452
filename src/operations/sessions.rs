//! Signing in and out: the lockout, sessions and their refresh tokens,
//! password changes — each step audited in the transaction that makes it.
//! Passwords are checked by the caller (`auth::password`, off the async
//! workers); these functions take what that check decided.

use chrono::{Duration, NaiveDateTime};

use super::audit;
use crate::db::DbConnection;
use crate::domain::{AuditAction, DomainError, SessionId, UserId};
use crate::models::event::Actor;
use crate::models::session::{self, Session};
use crate::models::user::User;

/// What a sign-in attempt finds: the account (if any) and, when the email
/// is locked out, how long until it opens again.
pub struct Attempt {
    pub user: Option<User>,
    pub locked_for: Option<Duration>,
}

/// Looks up the account behind `email`. An email with no account locks out
/// exactly like one with an account.
pub fn look_up(
    conn: &mut DbConnection,
    email: &str,
    now: NaiveDateTime,
) -> Result<Attempt, DomainError> {
    Ok(Attempt {
        locked_for: session::lockout_remaining(conn, email, now)?,
        user: User::find_by_email(conn, email)?,
    })
}

/// The actor of a sign-in attempt: nobody known yet.
fn stranger(request_id: Option<&str>) -> Actor {
    Actor::anonymous().in_request(request_id)
}

/// Audits a sign-in refused by the lockout.
pub fn refused_locked(
    conn: &mut DbConnection,
    attempt: &Attempt,
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let target = attempt.user.as_ref().map(|u| u.id.to_string());
    let actor = stranger(request_id);
    audit(conn, &actor, AuditAction::LoginLocked, None, target, now)
}

/// Counts a failed sign-in for `email` towards its lockout, and audits it.
pub fn failed(
    conn: &mut DbConnection,
    email: &str,
    user: Option<&UserId>,
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    session::record_login_failure(conn, email, now)?;
    let target = user.map(UserId::to_string);
    audit(
        conn,
        &stranger(request_id),
        AuditAction::LoginFailed,
        None,
        target,
        now,
    )
}

/// Opens `session` for a user who just signed in; their failures are
/// forgotten.
pub fn signed_in(
    conn: &mut DbConnection,
    user: &User,
    session: &Session,
    request_id: Option<&str>,
) -> Result<(), DomainError> {
    session::clear_login_failures(conn, &user.email)?;
    session.insert(conn)?;
    let actor = Actor::user(&user.id, &user.display_name).in_request(request_id);
    audit(
        conn,
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
    session_id: &SessionId,
    presented_hash: &str,
    next_hash: &str,
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<UserId>, DomainError> {
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
            &stranger(request_id),
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
    Ok((rotated == 1).then_some(user.id))
}

/// Ends one session, audited.
pub fn logout(
    conn: &mut DbConnection,
    session: &SessionId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    Session::revoke(conn, session, now)?;
    audit(conn, actor, AuditAction::Logout, None, None, now)
}

/// Stores a user's new password hash, forgets their failed sign-ins and
/// ends every session of theirs but `keep`, audited.
pub fn change_password(
    conn: &mut DbConnection,
    user: &User,
    hash: &str,
    keep: &SessionId,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    User::set_password_hash(conn, &user.id, hash, now)?;
    session::clear_login_failures(conn, &user.email)?;
    Session::revoke_all(conn, Some(&user.id), Some(keep), now)?;
    let target = Some(user.id.to_string());
    audit(conn, actor, AuditAction::PasswordChanged, None, target, now)
}
