//! Two-factor sign-in: the TOTP second step of a login (or a recovery code), enrolment, and the
//! operator-wide requirement.

use chrono::{DateTime, Utc};

use super::sessions::{count_failure, mint, store_tokens, SessionTokens, MFA_PREFIX};
use crate::config::AppConfig;
use crate::domain::ids::{OperatorId, SessionId, UserId};
use crate::error::AppError;
use crate::secrets::{self, Keyring};
use crate::service::audit::{self, Action, Target};
use crate::service::principal::{Actor, Principal};
use crate::storage::accounts::{self, TokenKind};
use crate::storage::Store;

/// The second step of a login: a TOTP code, or one of the user's recovery codes. Each MFA token
/// allows one attempt; a wrong code means signing in with the password again.
pub async fn verify_second_factor(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    mfa_token: &str,
    code: &str,
) -> Result<SessionTokens, AppError> {
    if !mfa_token.starts_with(MFA_PREFIX) || mfa_token.len() > 128 || code.len() > 64 {
        return Err(AppError::Unauthorized);
    }
    let keys = config.keyring();
    let hash = keys.hash("mfa", mfa_token);
    let recovery_hash = keys.hash("recovery", &normalize_recovery(code));
    let outcome = transaction!(store, |tx| {
        let Some(found) = accounts::find_session_token(&mut tx, &hash, TokenKind::Mfa).await?
        else {
            return Ok(None);
        };
        if found.used_at.is_some()
            || found.revoked_at.is_some()
            || found.expires_at <= now
            || !accounts::use_session_token(&mut tx, &hash, now).await?
        {
            return Ok(None);
        }
        let session = SessionId::from_stored(found.session_id.clone());
        let user_id = UserId::from_stored(found.user_id.clone());
        let Some(user) = accounts::lock_user(&mut tx, &user_id).await? else {
            return Ok(None);
        };
        let secret =
            totp_key(&keys, user.totp_secret.as_deref()).filter(|_| user.totp_enabled_at.is_some());
        let totp_ok = match secret.and_then(|secret| {
            crate::domain::auth::verify_totp(&secret, code, now.timestamp(), user.totp_last_step)
        }) {
            Some(step) => accounts::use_totp_step(&mut tx, &user_id, step).await?,
            None => false,
        };
        // A locked account takes no code at all: MFA tokens collected before the lock (the
        // password was right) must not keep guessing.
        if user.locked_until.is_some_and(|until| until > now) {
            accounts::revoke_session(&mut tx, &session, "account_locked", now).await?;
            return Ok(None);
        }
        let accepted =
            totp_ok || accounts::use_recovery_code(&mut tx, &user_id, &recovery_hash, now).await?;
        if !accepted || user.deactivated_at.is_some() {
            accounts::revoke_session(&mut tx, &session, "second_factor_failed", now).await?;
            return Ok(Some(Err(user)));
        }
        accounts::clear_failures(&mut tx, &user_id).await?;
        accounts::touch_session(&mut tx, &session, now).await?;
        let minted = mint(&keys, config, now);
        store_tokens(&mut tx, &session, &minted, now).await?;
        Ok(Some(Ok(minted.into_tokens(
            user_id,
            user.operator(),
            user.role()?,
        ))))
    })
    .await?;
    match outcome {
        Some(Ok(tokens)) => {
            tracing::info!(user = %tokens.user_id, "user signed in with a second factor");
            Ok(tokens)
        }
        // A wrong code counts like a wrong password: guessing codes backs off and locks too.
        Some(Err(user)) => {
            if user.deactivated_at.is_none() {
                count_failure(store, now, &user).await?;
            }
            tracing::info!(user = %user.id, "second factor refused");
            Err(AppError::Unauthorized)
        }
        None => Err(AppError::Unauthorized),
    }
}

pub(super) fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The TOTP key stored for a user, opened with the server key. (Stored sealed: a copy of the
/// database alone does not give anyone the codes.)
pub(super) fn totp_key(keys: &Keyring, stored: Option<&str>) -> Option<Vec<u8>> {
    keys.open("totp", stored?)
}

/// A new TOTP secret for the caller, pending until confirmed with a code from it.
pub async fn setup_two_factor(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    by: &Principal,
) -> Result<(String, String), AppError> {
    let Actor::User { user, .. } = &by.actor else {
        return Err(AppError::Forbidden);
    };
    let secret = secrets::random_bytes(20);
    let encoded = crate::domain::auth::base32_encode(&secret);
    let sealed = config
        .keyring()
        .seal("totp", &secret)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("TOTP key too long to seal")))?;
    let email = transaction!(store, |tx| {
        let row = accounts::lock_user(&mut tx, user)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if row.totp_enabled_at.is_some() {
            return Err(AppError::invalid(
                "two_factor",
                "is already enabled for this user",
            ));
        }
        accounts::set_pending_totp(&mut tx, user, &sealed, now).await?;
        Ok(row.email)
    })
    .await?;
    let uri = crate::domain::auth::provisioning_uri("berth", &email, &secret);
    Ok((encoded, uri))
}

/// Enables two-factor sign-in once the user proves their app has the secret; returns ten
/// recovery codes, shown once.
pub async fn confirm_two_factor(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    by: &Principal,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let Actor::User { user, .. } = &by.actor else {
        return Err(AppError::Forbidden);
    };
    let keys = config.keyring();
    let codes: Vec<String> = (0..10).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| keys.hash("recovery", &normalize_recovery(c)))
        .collect();
    transaction!(store, |tx| {
        let row = accounts::lock_user(&mut tx, user)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let secret = totp_key(&keys, row.totp_secret.as_deref())
            .filter(|_| row.totp_enabled_at.is_none())
            .ok_or_else(|| AppError::invalid("two_factor", "start with POST /v1/auth/2fa/setup"))?;
        let step = crate::domain::auth::verify_totp(&secret, code, now.timestamp(), None)
            .ok_or_else(|| {
                AppError::invalid("code", "is not the current code of the authenticator")
            })?;
        accounts::enable_totp(&mut tx, user, now).await?;
        accounts::use_totp_step(&mut tx, user, step).await?;
        accounts::replace_recovery_codes(&mut tx, user, &hashes, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::UserTwoFactorEnable,
            Target::User(user),
            None,
        )
        .await
    })
    .await?;
    tracing::info!(user = %user, "two-factor sign-in enabled");
    Ok(codes)
}

/// `xxxxx-xxxxx-xxxxx`: 75 random bits in an alphabet without look-alikes.
pub(super) fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes = secrets::random_bytes(15);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether the operator requires its users to sign in with a second factor.
pub async fn two_factor_required(store: &Store, operator: &OperatorId) -> Result<bool, AppError> {
    Ok(accounts::requires_two_factor(store, operator).await?)
}

/// Whether the operator's users must sign in with a second factor (owners decide).
pub async fn require_two_factor(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    required: bool,
) -> Result<(), AppError> {
    let detail = serde_json::json!({ "required": required }).to_string();
    transaction!(store, |tx| {
        accounts::set_require_two_factor(&mut tx, &by.operator, required).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::OperatorRequireTwoFactor,
            Target::Operator(&by.operator),
            Some(&detail),
        )
        .await
    })
    .await?;
    tracing::info!(operator = %by.operator, required, "two-factor requirement changed");
    Ok(())
}
