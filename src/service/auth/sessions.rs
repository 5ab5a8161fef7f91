//! Signing in and staying signed in: bearer tokens (API, access, refresh), login with its
//! throttles and lockout, refresh with rotation, logout, and the purge of spent tokens.
//!
//! Tokens: API tokens `brt_…` (SHA-256 stored); access tokens `bra_…` (15 min by default) and
//! refresh tokens `brr_…` (rotated on every use, good for `session_idle_hours`), stored as HMAC
//! under `BERTH_SECRET_KEY`. A refresh token presented a second time means a copy exists
//! somewhere: the whole session (every token of its family) is revoked.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use crate::config::AppConfig;
use crate::domain::auth::Role;
use crate::domain::ids::{OperatorId, SessionId, UserId};
use crate::error::AppError;
use crate::secrets::{self, Keyring};
use crate::service::passwords::{dummy_hash, verify_password, Argon2Gate};
use crate::service::principal::{Actor, Principal};
use crate::storage::accounts::{self, TokenKind, UserRow};
use crate::storage::{catalogue, Store};

/// Prefix of access tokens (recognisable to secret scanners).
pub const ACCESS_PREFIX: &str = "bra_";
/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "brr_";

/// The bearer token's principal, if the token is live. Unknown, revoked or expired: `None`.
pub async fn authenticate(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    token: &str,
) -> Result<Option<Principal>, AppError> {
    if token.len() > 128 {
        return Ok(None);
    }
    if token.starts_with(crate::service::operators::TOKEN_PREFIX) {
        let found = catalogue::operator_for_token(store, &secrets::hash_token(token)).await?;
        return Ok(found.map(|(id, operator, role)| Principal {
            operator,
            role,
            actor: Actor::Token(id),
            must_enrol: false,
        }));
    }
    if !token.starts_with(ACCESS_PREFIX) {
        return Ok(None);
    }
    let hash = config.keyring().hash("access", token);
    let idle_since = now - config.session_idle();
    let Some(row) = accounts::principal_for_access_token(store, &hash, now, idle_since).await?
    else {
        return Ok(None);
    };
    Ok(Some(Principal {
        must_enrol: row.must_enrol != 0,
        role: row.role()?,
        operator: OperatorId::from_stored(row.operator_id),
        actor: Actor::User {
            user: UserId::from_stored(row.user_id),
            session: SessionId::from_stored(row.session_id),
        },
    }))
}

/// The tokens of a session, returned once.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
    pub role: Role,
    pub user_id: UserId,
    pub operator: OperatorId,
}

pub(super) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Every failed login answers the same, whether the email exists or not.
pub(super) fn bad_credentials() -> AppError {
    AppError::Unauthorized
}

/// What a correct password gets: a session, or (2FA enabled) a token for the second step.
#[derive(Debug)]
pub enum LoginOutcome {
    Session(SessionTokens),
    SecondFactor {
        mfa_token: String,
        expires_at: DateTime<Utc>,
    },
}

/// Prefix of the token that carries a login from the password step to the second factor.
pub const MFA_PREFIX: &str = "brm_";
/// How long the second step of a login may take.
pub(super) const MFA_TTL_MINUTES: i64 = 5;

/// Failed logins per client address, in this process: after [`IP_FAILURES`] failures within
/// [`IP_WINDOW`], that address gets 429 for logins until the window ends, whatever the account.
/// (Per account, failures are counted in the database: see [`login`].)
#[derive(Default)]
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<IpAddr, (u32, DateTime<Utc>)>>,
}

/// Failed logins from one address within [`IP_WINDOW`] before it is throttled.
pub const IP_FAILURES: u32 = 20;
/// The window over which [`IP_FAILURES`] are counted.
pub const IP_WINDOW: Duration = Duration::minutes(15);

impl LoginThrottle {
    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, (u32, DateTime<Utc>)>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Seconds until `ip` may try again, when it is over the limit.
    fn blocked(&self, ip: Option<IpAddr>, now: DateTime<Utc>) -> Option<i64> {
        let entries = self.entries();
        let (count, since) = entries.get(&ip?)?;
        let ends = *since + IP_WINDOW;
        (*count >= IP_FAILURES && ends > now).then(|| (ends - now).num_seconds().max(1))
    }

    fn failed(&self, ip: Option<IpAddr>, now: DateTime<Utc>) {
        let Some(ip) = ip else { return };
        let mut entries = self.entries();
        if entries.len() > 100_000 {
            entries.retain(|_, (_, since)| *since + IP_WINDOW > now);
        }
        let entry = entries.entry(ip).or_insert((0, now));
        if entry.1 + IP_WINDOW <= now {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

/// Signs a user in with email and password.
///
/// Every refusal answers the same (401), whether the email is unknown, the password wrong, the
/// account deactivated or locked, so the answer never tells whether an email is registered. A
/// locked account refuses even the right password until the lock ends; its user is emailed when
/// the lock starts.
#[expect(
    clippy::too_many_arguments,
    reason = "the process's two sign-in guards (address throttle, hashing gate) beside the request"
)]
pub async fn login(
    store: &Store,
    config: &AppConfig,
    throttle: &LoginThrottle,
    gate: &Argon2Gate,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
    email: &str,
    password: &str,
) -> Result<LoginOutcome, AppError> {
    if let Some(wait) = throttle.blocked(ip, now) {
        return Err(AppError::TooManyAttempts { retry_after: wait });
    }
    let email = normalize_email(email);
    if email.len() > 254 || password.len() > crate::domain::auth::MAX_PASSWORD_BYTES {
        throttle.failed(ip, now);
        return Err(bad_credentials());
    }
    let user = accounts::find_user_by_email(store, &email).await?;
    let Some(user) = user else {
        verify_password(gate, dummy_hash(gate).await?, password).await?;
        throttle.failed(ip, now);
        return Err(bad_credentials());
    };
    let matches = verify_password(gate, &user.password_hash, password).await?;
    let locked = user.locked_until.is_some_and(|until| until > now);
    if !matches || locked || user.deactivated_at.is_some() {
        throttle.failed(ip, now);
        if !locked && user.deactivated_at.is_none() {
            count_failure(store, now, &user).await?;
        }
        tracing::info!(user = %user.id, locked, "login refused");
        return Err(bad_credentials());
    }
    // Judged again under the user's row lock: the read above may predate a lock that
    // concurrent failures set meanwhile. With 2FA, failures are cleared only once the second
    // factor is right too.
    let id = user.user_id();
    let open = transaction!(store, |tx| {
        let Some(current) = accounts::lock_user(&mut tx, &id).await? else {
            return Ok(false);
        };
        if current.locked_until.is_some_and(|until| until > now) || current.deactivated_at.is_some()
        {
            return Ok(false);
        }
        if (current.failed_logins > 0 || current.locked_until.is_some())
            && user.totp_enabled_at.is_none()
        {
            accounts::clear_failures(&mut tx, &id).await?;
        }
        Ok(true)
    })
    .await?;
    if !open {
        throttle.failed(ip, now);
        tracing::info!(user = %user.id, "login refused: locked meanwhile");
        return Err(bad_credentials());
    }
    if user.totp_enabled_at.is_some() {
        let session = SessionId::generate();
        let (token, _) = secrets::generate_token(MFA_PREFIX);
        let hash = config.keyring().hash("mfa", &token);
        let expires_at = now + Duration::minutes(MFA_TTL_MINUTES);
        let (user_id, operator) = (user.user_id(), user.operator());
        transaction!(store, |tx| {
            accounts::insert_session(&mut tx, &session, &user_id, &operator, now).await?;
            accounts::insert_session_token(
                &mut tx,
                &hash,
                &session,
                TokenKind::Mfa,
                expires_at,
                now,
            )
            .await?;
            Ok(())
        })
        .await?;
        tracing::info!(user = %user.id, "password accepted; second factor pending");
        return Ok(LoginOutcome::SecondFactor {
            mfa_token: token,
            expires_at,
        });
    }
    let tokens = start_session(store, config, now, &user).await?;
    tracing::info!(user = %user.id, operator = %user.operator_id, "user signed in");
    Ok(LoginOutcome::Session(tokens))
}

/// Counts a wrong password against the account; at the lockout threshold, locks it and emails
/// its user (through the outbox, in the same transaction).
pub(super) async fn count_failure(
    store: &Store,
    now: DateTime<Utc>,
    user: &UserRow,
) -> Result<(), AppError> {
    let id = user.user_id();
    let operator = user.operator();
    transaction!(store, |tx| {
        let current = accounts::lock_user(&mut tx, &id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let failures = current.failed_logins.saturating_add(1);
        let count = u32::try_from(failures).unwrap_or(u32::MAX);
        let until = crate::domain::auth::backoff(count).map(|wait| now + wait);
        accounts::record_failure(&mut tx, &id, failures, until).await?;
        if count == crate::domain::auth::LOCKOUT_AFTER {
            let dedupe = format!("{id}:{}", now.timestamp_millis());
            crate::service::account_mail::enqueue(
                &mut tx,
                &operator,
                id.as_str(),
                crate::service::account_mail::AccountMessage::AccountLocked,
                None,
                &dedupe,
                now,
            )
            .await?;
            tracing::warn!(user = %id, "account locked after repeated failed logins");
        }
        Ok(())
    })
    .await
}

/// Seconds until a backed-off or locked account takes a password again; `None` when it does.
pub(super) fn locked_for(user: &UserRow, now: DateTime<Utc>) -> Option<i64> {
    user.locked_until
        .filter(|until| *until > now)
        .map(|until| (until - now).num_seconds().max(1))
}

pub(super) async fn start_session(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    user: &UserRow,
) -> Result<SessionTokens, AppError> {
    let session = SessionId::generate();
    let keys = config.keyring();
    let (user_id, operator, role) = (user.user_id(), user.operator(), user.role()?);
    let minted = mint(&keys, config, now);
    transaction!(store, |tx| {
        accounts::insert_session(&mut tx, &session, &user_id, &operator, now).await?;
        store_tokens(&mut tx, &session, &minted, now).await
    })
    .await?;
    Ok(minted.into_tokens(user_id, operator, role))
}

/// New access and refresh tokens with their hashes.
pub(super) struct Minted {
    access: (String, String),
    refresh: (String, String),
    access_expires_at: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
}

pub(super) fn mint(keys: &Keyring, config: &AppConfig, now: DateTime<Utc>) -> Minted {
    let (access, _) = secrets::generate_token(ACCESS_PREFIX);
    let (refresh, _) = secrets::generate_token(REFRESH_PREFIX);
    Minted {
        access: (keys.hash("access", &access), access),
        refresh: (keys.hash("refresh", &refresh), refresh),
        access_expires_at: now + config.access_token_ttl(),
        refresh_expires_at: now + config.session_idle(),
    }
}

impl Minted {
    pub(super) fn into_tokens(
        self,
        user_id: UserId,
        operator: OperatorId,
        role: Role,
    ) -> SessionTokens {
        SessionTokens {
            access_token: self.access.1,
            refresh_token: self.refresh.1,
            access_expires_at: self.access_expires_at,
            refresh_expires_at: self.refresh_expires_at,
            role,
            user_id,
            operator,
        }
    }
}

pub(super) async fn store_tokens(
    tx: &mut crate::storage::WriteTx,
    session: &SessionId,
    minted: &Minted,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    accounts::insert_session_token(
        tx,
        &minted.access.0,
        session,
        TokenKind::Access,
        minted.access_expires_at,
        now,
    )
    .await?;
    accounts::insert_session_token(
        tx,
        &minted.refresh.0,
        session,
        TokenKind::Refresh,
        minted.refresh_expires_at,
        now,
    )
    .await?;
    Ok(())
}

/// What a refresh attempt found.
pub(super) enum Refreshed {
    Tokens(SessionTokens),
    /// Unknown, expired, or its session is over.
    Refused,
    /// A rotated token came back: its session has just been revoked.
    Reused,
}

/// Trades a refresh token for new access and refresh tokens; the old refresh token is spent.
pub async fn refresh(
    store: &Store,
    config: &AppConfig,
    now: DateTime<Utc>,
    refresh_token: &str,
) -> Result<SessionTokens, AppError> {
    if !refresh_token.starts_with(REFRESH_PREFIX) || refresh_token.len() > 128 {
        return Err(AppError::Unauthorized);
    }
    let keys = config.keyring();
    let hash = keys.hash("refresh", refresh_token);
    let idle_since = now - config.session_idle();
    let outcome = transaction!(store, |tx| {
        let Some(found) = accounts::find_session_token(&mut tx, &hash, TokenKind::Refresh).await?
        else {
            return Ok(Refreshed::Refused);
        };
        let session = SessionId::from_stored(found.session_id.clone());
        if found.revoked_at.is_some() {
            return Ok(Refreshed::Refused);
        }
        if found.used_at.is_some() || !accounts::use_session_token(&mut tx, &hash, now).await? {
            accounts::revoke_session(&mut tx, &session, "refresh_reuse", now).await?;
            return Ok(Refreshed::Reused);
        }
        if found.expires_at <= now || found.refreshed_at <= idle_since {
            return Ok(Refreshed::Refused);
        }
        let user_id = UserId::from_stored(found.user_id.clone());
        let Some(user) = accounts::lock_user(&mut tx, &user_id).await? else {
            return Ok(Refreshed::Refused);
        };
        if user.deactivated_at.is_some() {
            return Ok(Refreshed::Refused);
        }
        accounts::touch_session(&mut tx, &session, now).await?;
        let minted = mint(&keys, config, now);
        store_tokens(&mut tx, &session, &minted, now).await?;
        Ok(Refreshed::Tokens(minted.into_tokens(
            user_id,
            user.operator(),
            user.role()?,
        )))
    })
    .await?;
    match outcome {
        Refreshed::Tokens(tokens) => Ok(tokens),
        Refreshed::Refused => Err(AppError::Unauthorized),
        Refreshed::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its session is revoked");
            Err(AppError::Unauthorized)
        }
    }
}

/// Ends the caller's session: its access and refresh tokens stop working at once.
pub async fn logout(store: &Store, now: DateTime<Utc>, by: &Principal) -> Result<(), AppError> {
    let Actor::User { session, user } = &by.actor else {
        return Err(AppError::Forbidden);
    };
    transaction!(store, |tx| {
        Ok(accounts::revoke_session(&mut tx, session, "logout", now).await?)
    })
    .await?;
    tracing::info!(user = %user, "user signed out");
    Ok(())
}

/// Ends every session of the caller's user, on every device: "sign out everywhere".
pub async fn logout_everywhere(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
) -> Result<(), AppError> {
    let Actor::User { user, .. } = &by.actor else {
        return Err(AppError::Forbidden);
    };
    transaction!(store, |tx| {
        Ok(accounts::revoke_user_sessions(&mut tx, user, "logout_everywhere", now).await?)
    })
    .await?;
    tracing::info!(user = %user, "user signed out everywhere");
    Ok(())
}

/// Forgets session tokens and reset codes a day after they expired, and the sessions left
/// without tokens. (A spent refresh token is kept until then, so its reuse is still caught while
/// it could have worked.)
pub async fn purge_expired(store: &Store, now: DateTime<Utc>) -> Result<u64, AppError> {
    let before = now - Duration::days(1);
    transaction!(store, |tx| {
        Ok(accounts::purge_expired(&mut tx, before).await?)
    })
    .await
}

/// How long the access token lives, for the response.
pub fn expires_in(tokens: &SessionTokens, now: DateTime<Utc>) -> Duration {
    tokens.access_expires_at - now
}
