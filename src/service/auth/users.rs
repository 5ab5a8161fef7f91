//! An operator's users: create (the owner with the operator, then others), read, list, and
//! change (role, deactivation, two-factor reset).

use chrono::{DateTime, Utc};

use super::sessions::normalize_email;
use crate::domain::auth::{check_password, Role};
use crate::domain::customer::{CustomerName, Email};
use crate::domain::ids::{OperatorId, TokenId, UserId};
use crate::error::{AppError, Problems};
use crate::secrets::{self};
use crate::service::audit::{self, Action, Target};
use crate::service::passwords::{hash_password, Argon2Gate};
use crate::service::principal::Principal;
use crate::storage::accounts::{self, NewUser, UserRow};
use crate::storage::{catalogue, StorageError, Store};

/// A user as the API shows it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub two_factor: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;

    fn try_from(row: UserRow) -> Result<User, StorageError> {
        Ok(User {
            role: row.role()?,
            id: UserId::from_stored(row.id),
            email: row.email,
            name: row.name,
            active: row.deactivated_at.is_none(),
            two_factor: row.totp_enabled_at.is_some(),
            created_at: row.created_at,
        })
    }
}

/// What a new user needs.
pub struct UserDraft<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password: &'a str,
}

/// Validates a user draft: email shape, name, role, the password policy.
pub(super) fn validate_user(draft: &UserDraft<'_>) -> Result<(String, String, Role), AppError> {
    let mut p = Problems::new();
    let email = p.check("email", Email::parse(draft.email));
    let name = p.check("name", CustomerName::parse(draft.name));
    let role = p.check("role", draft.role.parse::<Role>());
    p.check("password", check_password(draft.password, draft.email));
    p.into_result()?;
    match (email, name, role) {
        (Some(email), Some(name), Some(role)) => Ok((
            normalize_email(email.as_str()),
            name.as_str().to_owned(),
            role,
        )),
        _ => Err(AppError::invalid("body", "is invalid")),
    }
}

/// Inserts a user in the caller's transaction; a taken email is a validation error.
pub(super) async fn insert_user(
    tx: &mut crate::storage::WriteTx,
    id: &UserId,
    operator: &OperatorId,
    fields: &(String, String, Role),
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let new = NewUser {
        id,
        operator,
        email: &fields.0,
        name: &fields.1,
        role: fields.2,
        password_hash: hash,
    };
    match accounts::insert_user(tx, &new, now).await {
        Err(StorageError::Duplicate) => Err(AppError::invalid("email", "is already in use")),
        other => Ok(other?),
    }
}

/// Creates an operator, its first API token and its owner user (signing in with the operator's
/// email) in one transaction: a refused password or a taken email leaves nothing behind. The
/// command line's `operator create --password-stdin`.
pub async fn create_operator_with_owner(
    store: &Store,
    gate: &Argon2Gate,
    now: DateTime<Utc>,
    name: &str,
    email: &str,
    password: &str,
) -> Result<(OperatorId, String), AppError> {
    let draft = UserDraft {
        email,
        name,
        role: "owner",
        password,
    };
    let fields = validate_user(&draft)?;
    let hash = hash_password(gate, password).await?;
    let operator = OperatorId::generate();
    let user = UserId::generate();
    let (token, token_hash) = secrets::generate_token(crate::service::operators::TOKEN_PREFIX);
    let by = Principal::cli(&operator);
    transaction!(store, |tx| {
        catalogue::insert_operator(&mut tx, &operator, &fields.1, email.trim(), now).await?;
        catalogue::insert_token(
            &mut tx,
            &TokenId::generate(),
            &operator,
            &token_hash,
            "initial",
            Role::Owner,
            now,
        )
        .await?;
        insert_user(&mut tx, &user, &operator, &fields, &hash, now).await?;
        audit::record(
            &mut tx,
            &by,
            now,
            Action::UserCreate,
            Target::User(&user),
            Some(&role_detail(Role::Owner)),
        )
        .await
    })
    .await?;
    tracing::info!(operator = %operator, user = %user, "operator created with its owner user");
    Ok((operator, token))
}

pub(super) fn role_detail(role: Role) -> String {
    serde_json::json!({ "role": role.as_str() }).to_string()
}

/// Adds a user to the caller's operator.
pub async fn create_user(
    store: &Store,
    gate: &Argon2Gate,
    now: DateTime<Utc>,
    by: &Principal,
    draft: UserDraft<'_>,
) -> Result<User, AppError> {
    let fields = validate_user(&draft)?;
    let hash = hash_password(gate, draft.password).await?;
    let id = UserId::generate();
    transaction!(store, |tx| {
        insert_user(&mut tx, &id, &by.operator, &fields, &hash, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::UserCreate,
            Target::User(&id),
            Some(&role_detail(fields.2)),
        )
        .await
    })
    .await?;
    tracing::info!(operator = %by.operator, user = %id, "user created");
    user(store, &by.operator, id.as_str()).await
}

/// One of the operator's users; malformed, unknown or another operator's id: not found.
pub async fn user(store: &Store, operator: &OperatorId, id: &str) -> Result<User, AppError> {
    let id = UserId::parse(id).ok_or(AppError::NotFound)?;
    let row = accounts::get_user(store, operator, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(User::try_from(row)?)
}

/// The operator's users.
pub async fn list_users(store: &Store, operator: &OperatorId) -> Result<Vec<User>, AppError> {
    let rows = accounts::list_users(store, operator).await?;
    Ok(rows
        .into_iter()
        .map(User::try_from)
        .collect::<Result<_, _>>()?)
}

/// What changes about a user: a new role, deactivation, or turning their two-factor sign-in off
/// (a lost phone with the recovery codes used up). The last two sign them out.
#[derive(Debug, Clone, Copy)]
pub enum UserChange {
    Role(Role),
    Deactivate,
    ResetTwoFactor,
}

/// Changes one of the operator's users. The last active owner can be neither demoted nor
/// deactivated, so an operator can always manage itself.
pub async fn change_user(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    change: UserChange,
) -> Result<User, AppError> {
    let id = UserId::parse(id).ok_or(AppError::NotFound)?;
    transaction!(store, |tx| {
        let row = accounts::lock_user(&mut tx, &id)
            .await?
            .filter(|row| row.operator_id == by.operator.as_str())
            .ok_or(AppError::NotFound)?;
        let current = row.role()?;
        let loses_owner = current == Role::Owner
            && row.deactivated_at.is_none()
            && matches!(
                change,
                UserChange::Deactivate | UserChange::Role(Role::Admin | Role::Staff | Role::Guide)
            );
        if loses_owner && accounts::count_active_owners(&mut tx, &by.operator).await? <= 1 {
            return Err(AppError::invalid(
                "role",
                "the operator's last owner cannot be demoted or deactivated",
            ));
        }
        match change {
            UserChange::Role(role) => {
                accounts::set_role(&mut tx, &id, role, now).await?;
                audit::record(
                    &mut tx,
                    by,
                    now,
                    Action::UserRole,
                    Target::User(&id),
                    Some(&role_detail(role)),
                )
                .await?;
            }
            UserChange::Deactivate => {
                accounts::deactivate(&mut tx, &id, now).await?;
                accounts::revoke_user_sessions(&mut tx, &id, "deactivated", now).await?;
                audit::record(
                    &mut tx,
                    by,
                    now,
                    Action::UserDeactivate,
                    Target::User(&id),
                    None,
                )
                .await?;
            }
            UserChange::ResetTwoFactor => {
                accounts::clear_totp(&mut tx, &id, now).await?;
                accounts::revoke_user_sessions(&mut tx, &id, "two_factor_reset", now).await?;
                audit::record(
                    &mut tx,
                    by,
                    now,
                    Action::UserTwoFactorReset,
                    Target::User(&id),
                    None,
                )
                .await?;
            }
        }
        Ok(())
    })
    .await?;
    tracing::info!(operator = %by.operator, user = %id, "user changed");
    user(store, &by.operator, id.as_str()).await
}
