//! `corridor users …`: staff accounts from the machine, for when no admin
//! can sign in. Passwords come from standard input only, so they never show
//! in the process list or a shell history; every change is audited with the
//! system as actor.

use std::io::Read;

use validator::Validate;

use super::commands::now;
use super::Opened;
use crate::auth::password;
use crate::config::Config;
use crate::db;
use crate::domain::{DomainError, Role};
use crate::error::AppError;
use crate::models::event::Actor;
use crate::models::user::{create_user, User};
use crate::models::PageRequest;
use crate::operations::{self, sessions, users::Profile};
use crate::routes::users::CreateUser;

/// The password on standard input, without its line ending.
fn read_password() -> Result<String, String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(password.trim_end_matches(['\n', '\r']).to_string())
}

/// The account behind `email`, or a message saying there is none.
fn find(opened: &Opened, email: &str) -> Result<User, String> {
    User::find_by_email(&mut *opened.conn()?, email)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user has the email {email}"))
}

/// `corridor users create`: the same rules as `POST /api/v1/users`.
pub fn create(config: &Config, email: &str, name: &str, role: &str) -> Result<(), String> {
    let role =
        Role::parse(role).ok_or_else(|| format!("--role must be one of {}", Role::names()))?;
    let body = CreateUser::new(email, name, role, &read_password()?);
    if let Err(errors) = body.validate() {
        let problem = AppError::from(errors);
        let lines: Vec<String> = problem
            .field_errors()
            .iter()
            .map(|e| format!("the {} {}", e.field.replace('_', " "), e.message))
            .collect();
        return Err(lines.join("; "));
    }
    let password_hash = password::hash(body.password())?;
    let opened = Opened::new(config)?;
    let user = create_user(&mut *opened.conn()?, body.to_new(password_hash), now()).map_err(
        |e| match e {
            DomainError::DuplicateEmail => "a user with this email exists already".to_string(),
            other => other.to_string(),
        },
    )?;
    println!("created {} {} ({})", user.role, user.email, user.id);
    Ok(())
}

/// `corridor users list`: every account, oldest first; never a password.
pub fn list(config: &Config) -> Result<(), String> {
    let opened = Opened::new(config)?;
    let mut conn = opened.conn()?;
    let mut page = PageRequest {
        limit: crate::models::page::MAX_LIMIT,
        after: None,
    };
    loop {
        let rows = User::list(&mut conn, &page).map_err(|e| e.to_string())?;
        let found = page.page(rows, |u| u.id.to_string(), |u| u);
        for user in &found.items {
            let standing = if user.active { "active" } else { "inactive" };
            println!(
                "{}\t{}\t{}\t{standing}\t{}",
                user.id, user.email, user.role, user.display_name
            );
        }
        match found.next_cursor {
            Some(after) => page.after = Some(after),
            None => return Ok(()),
        }
    }
}

/// `corridor users set-password`: a new password from standard input; every
/// session of the account ends and its sign-in locks lift.
pub fn set_password(config: &Config, email: &str) -> Result<(), String> {
    let password = read_password()?;
    let opened = Opened::new(config)?;
    let user = find(&opened, email)?;
    password::check_strength(
        &password,
        password::Account::new(&user.email, &user.display_name),
    )
    .map_err(|m| format!("the password {m}"))?;
    let hash = password::hash(&password)?;
    let ended = db::write(&mut *opened.conn()?, |conn| {
        let keys = &opened.context.keys;
        sessions::set_password(conn, keys, &user, &hash, None, &Actor::system(), now())
    })
    .map_err(|e| e.to_string())?;
    println!(
        "set the password of {}; {ended} session(s) ended",
        user.email
    );
    Ok(())
}

/// `corridor users deactivate`: the account can no longer sign in and its
/// sessions end; the last active admin stays.
pub fn deactivate(config: &Config, email: &str) -> Result<(), String> {
    let opened = Opened::new(config)?;
    let user = find(&opened, email)?;
    let actor = Actor::system();
    let change = opened.context.change(&actor, now());
    let profile = Profile {
        active: Some(false),
        ..Profile::default()
    };
    db::write(&mut *opened.conn()?, |conn| {
        operations::users::update(conn, &user.id, profile, &change)
    })
    .map_err(|e| match e {
        DomainError::LastAdmin => {
            "this is the last active admin; make another admin first".to_string()
        }
        other => other.to_string(),
    })?;
    println!("deactivated {}; its sessions ended", user.email);
    Ok(())
}

/// `corridor users unlock`: forgets the account's failed sign-ins from every
/// address, lifting every lock on it.
pub fn unlock(config: &Config, email: &str) -> Result<(), String> {
    let opened = Opened::new(config)?;
    let user = find(&opened, email)?;
    let forgotten = db::write(&mut *opened.conn()?, |conn| {
        sessions::unlock(conn, &opened.context.keys, &user, &Actor::system(), now())
    })
    .map_err(|e| e.to_string())?;
    println!(
        "unlocked {}: {forgotten} failed sign-in(s) forgotten",
        user.email
    );
    Ok(())
}
