//! A user's password after sign-up: changing it (knowing the current one) and resetting it
//! with an emailed code. Hashing itself is `service::passwords`.

use chrono::{DateTime, Duration, Utc};

use super::sessions::{count_failure, locked_for, normalize_email};
use crate::config::AppConfig;
use crate::domain::auth::check_password;
use crate::error::AppError;
use crate::secrets::{self};
use crate::service::audit::{self, Action, Target};
use crate::service::passwords::{hash_password, verify_password, Argon2Gate};
use crate::service::principal::{Actor, Principal};
use crate::storage::accounts::{self};
use crate::storage::Store;

/// A signed-in user changes their password: the current one must be right. Wrong ones count
/// like failed sign-ins (the same backoff, lockout and email), and while the account waits or
/// is locked no current password is checked at all, so a stolen access token cannot be used to
/// guess the password online. The user's other sessions end, this one stays.
pub async fn change_password(
    store: &Store,
    gate: &Argon2Gate,
    now: DateTime<Utc>,
    by: &Principal,
    current: &str,
    new_password: &str,
) -> Result<(), AppError> {
    let Actor::User { user, session } = &by.actor else {
        return Err(AppError::Forbidden);
    };
    let row = accounts::get_user(store, &by.operator, user)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if let Some(wait) = locked_for(&row, now) {
        return Err(AppError::TooManyAttempts { retry_after: wait });
    }
    check_password(new_password, &row.email).map_err(|e| AppError::invalid("new_password", e))?;
    if current.len() > crate::domain::auth::MAX_PASSWORD_BYTES
        || !verify_password(gate, &row.password_hash, current).await?
    {
        count_failure(store, now, &row).await?;
        return Err(AppError::invalid(
            "current_password",
            "is not the current password",
        ));
    }
    let hash = hash_password(gate, new_password).await?;
    // Judged again under the user's row lock: failures racing this request (the same stolen
    // token guessing in parallel) may have locked the account since the read above.
    transaction!(store, |tx| {
        let current = accounts::lock_user(&mut tx, user)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if let Some(wait) = locked_for(&current, now) {
            return Err(AppError::TooManyAttempts { retry_after: wait });
        }
        if current.failed_logins > 0 || current.locked_until.is_some() {
            accounts::clear_failures(&mut tx, user).await?;
        }
        accounts::set_password(&mut tx, user, &hash, now).await?;
        accounts::revoke_other_sessions(&mut tx, user, session, "password_change", now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::UserPasswordChange,
            Target::User(user),
            None,
        )
        .await
    })
    .await?;
    tracing::info!(user = %user, "password changed");
    Ok(())
}

/// Starts a password reset: when `email` belongs to an active user, an 8-digit code valid for
/// 15 minutes goes out by email (through the outbox). The caller cannot tell whether it did.
pub async fn request_password_reset(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    email: &str,
) -> Result<(), AppError> {
    let email = normalize_email(email);
    if email.len() > 254 {
        return Ok(());
    }
    let Some(user) = accounts::find_user_by_email(store, &email).await? else {
        return Ok(());
    };
    if user.deactivated_at.is_some() {
        return Ok(());
    }
    let keys = config.keyring();
    let reset = ulid::Ulid::new().to_string();
    let code_hash = keys.hash(
        "reset",
        &crate::service::account_mail::reset_code(&keys, &reset),
    );
    let (id, operator) = (user.user_id(), user.operator());
    transaction!(store, |tx| {
        // A few codes an hour at most: each allows 5 guesses at an 8-digit code, so asking
        // again and again must not buy unlimited guesses.
        if accounts::resets_since(&mut tx, &id, now - Duration::hours(1)).await?
            >= MAX_RESETS_PER_HOUR
        {
            tracing::info!(user = %id, "password reset not sent: too many requested this hour");
            return Ok(());
        }
        accounts::insert_reset(&mut tx, &reset, &id, &code_hash, now, now + RESET_TTL).await?;
        crate::service::account_mail::enqueue(
            &mut tx,
            &operator,
            id.as_str(),
            crate::service::account_mail::AccountMessage::PasswordReset,
            Some(&reset),
            &reset,
            now,
        )
        .await?;
        Ok(())
    })
    .await?;
    tracing::info!(user = %id, "password reset requested");
    Ok(())
}

/// Reset codes one user may be sent per hour.
pub const MAX_RESETS_PER_HOUR: i64 = 3;

/// How long a reset code works, and how many wrong codes spend it.
pub const RESET_TTL: Duration = Duration::minutes(15);
pub(super) const RESET_ATTEMPTS: i64 = 5;

/// Sets a new password with a reset code. Unknown email, wrong, used or expired code: the same
/// answer. Success spends the code, signs the user out everywhere and lifts a lockout.
pub async fn confirm_password_reset(
    store: &Store,
    config: &AppConfig,
    gate: &Argon2Gate,
    now: DateTime<Utc>,
    email: &str,
    code: &str,
    new_password: &str,
) -> Result<(), AppError> {
    let email = normalize_email(email);
    check_password(new_password, &email).map_err(|e| AppError::invalid("new_password", e))?;
    let refused = || AppError::invalid("code", "is wrong, used or expired; ask for a new one");
    // Hashed before the lookup, so an unknown email takes as long as a known one.
    let hash = hash_password(gate, new_password).await?;
    let user = accounts::find_user_by_email(store, &email).await?;
    let Some(user) = user.filter(|u| u.deactivated_at.is_none()) else {
        return Err(refused());
    };
    let keys = config.keyring();
    let submitted = keys.hash("reset", code.trim());
    let id = user.user_id();
    let by = Principal {
        operator: user.operator(),
        role: user.role()?,
        actor: Actor::Account(id.clone()),
        must_enrol: false,
    };
    let done = transaction!(store, |tx| {
        let Some((reset, stored, _)) = accounts::live_reset(&mut tx, &id, now).await? else {
            return Ok(false);
        };
        if !secrets::constant_time_eq(&stored, &submitted) {
            accounts::fail_reset(&mut tx, &reset, RESET_ATTEMPTS, now).await?;
            return Ok(false);
        }
        accounts::use_reset(&mut tx, &reset, now).await?;
        accounts::set_password(&mut tx, &id, &hash, now).await?;
        accounts::clear_failures(&mut tx, &id).await?;
        accounts::revoke_user_sessions(&mut tx, &id, "password_reset", now).await?;
        audit::record(
            &mut tx,
            &by,
            now,
            Action::UserPasswordReset,
            Target::User(&id),
            None,
        )
        .await?;
        Ok(true)
    })
    .await?;
    if !done {
        return Err(refused());
    }
    tracing::info!(user = %id, "password reset");
    Ok(())
}
