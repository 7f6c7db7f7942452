//! Staff accounts: created and changed by admins, each change audited.

use super::Change;
use crate::db::DbConnection;
use crate::domain::{AuditAction, DomainError, Role, UserId};
use crate::models::session::Session;
use crate::models::user::{create_user, NewUser, User};

/// Creates a user (see `models::user::create_user`), audited.
pub fn create(
    conn: &mut DbConnection,
    new: NewUser<'_>,
    change: &Change<'_>,
) -> Result<User, DomainError> {
    let user = create_user(conn, new, change.now)?;
    change.audit(
        conn,
        AuditAction::UserCreated,
        None,
        Some(user.id.to_string()),
    )?;
    Ok(user)
}

/// A change to a user's name, role or standing; `None` leaves it alone.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Changes a user's profile. Deactivating revokes every session at once;
/// the last active admin cannot be demoted or deactivated.
pub fn update(
    conn: &mut DbConnection,
    id: &UserId,
    profile: Profile,
    change: &Change<'_>,
) -> Result<User, DomainError> {
    let now = change.now;
    let user = User::get_locked(conn, id)?;
    let role = profile.role.unwrap_or(user.role);
    let active = profile.active.unwrap_or(user.active);
    let name = profile.display_name.as_deref().map(str::trim);
    let stays_admin = role == Role::Admin && active;
    if user.role == Role::Admin
        && user.active
        && !stays_admin
        && User::count_active_admins(conn)? <= 1
    {
        return Err(DomainError::LastAdmin);
    }
    User::update_profile(
        conn,
        id,
        name.unwrap_or(&user.display_name),
        role,
        active,
        now,
    )?;
    if !active {
        Session::revoke_all(conn, Some(id), None, now)?;
    }
    change.audit(conn, AuditAction::UserUpdated, None, Some(id.to_string()))?;
    Ok(User::find(conn, id)?)
}
