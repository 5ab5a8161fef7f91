//! Who is calling: API tokens and user sessions (login, refresh with rotation, logout), and the
//! operator's users (create, list, change role, deactivate).
//!
//! Tokens: API tokens `brt_…` (SHA-256 stored); access tokens `bra_…` (15 min by default) and
//! refresh tokens `brr_…` (rotated on every use, good for `session_idle_hours`), stored as HMAC
//! under `BERTH_SECRET_KEY`. A refresh token presented a second time means a copy exists
//! somewhere: the whole session (every token of its family) is revoked.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use super::audit::{self, Action, Target};
use super::passwords::{dummy_hash, hash_password, verify_password, Argon2Gate};
use crate::config::AppConfig;
use crate::domain::auth::{check_password, Role};
use crate::domain::customer::{CustomerName, Email};
use crate::domain::ids::{OperatorId, SessionId, TokenId, UserId};
use crate::error::{AppError, Problems};
use crate::secrets::{self, Keyring};
use crate::storage::accounts::{self, NewUser, TokenKind, UserRow};
use crate::storage::{catalogue, StorageError, Store};

/// Prefix of access tokens (recognisable to secret scanners).
pub const ACCESS_PREFIX: &str = "bra_";
/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "brr_";

/// Who acts: a signed-in user (in one session), an API token, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        user: UserId,
        session: SessionId,
    },
    /// A user proving who they are outside a session (a password reset by emailed code).
    Account(UserId),
    Token(TokenId),
    Cli,
}

impl Actor {
    /// How the audit log names the actor.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::User { user, .. } | Actor::Account(user) => format!("user:{user}"),
            Actor::Token(token) => format!("token:{token}"),
            Actor::Cli => "cli".to_owned(),
        }
    }
}

/// An authenticated caller: the operator it acts for, with which role, and who it is.
#[derive(Debug, Clone)]
pub struct Principal {
    pub operator: OperatorId,
    pub role: Role,
    pub actor: Actor,
    /// A user whose operator requires two-factor sign-in and who has not enabled it: they may
    /// only enrol (and sign out) until they do.
    pub must_enrol: bool,
}

impl Principal {
    /// The command line, acting as an owner of `operator`.
    pub fn cli(operator: &OperatorId) -> Principal {
        Principal {
            operator: operator.clone(),
            role: Role::Owner,
            actor: Actor::Cli,
            must_enrol: false,
        }
    }
}

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
    if token.starts_with(super::operators::TOKEN_PREFIX) {
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

fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Every failed login answers the same, whether the email exists or not.
fn bad_credentials() -> AppError {
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
const MFA_TTL_MINUTES: i64 = 5;

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
async fn count_failure(store: &Store, now: DateTime<Utc>, user: &UserRow) -> Result<(), AppError> {
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
            super::account_mail::enqueue(
                &mut tx,
                &operator,
                id.as_str(),
                super::account_mail::AccountMessage::AccountLocked,
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

/// Seconds until a backed-off or locked account takes a password again; `None` when it does.
fn locked_for(user: &UserRow, now: DateTime<Utc>) -> Option<i64> {
    user.locked_until
        .filter(|until| *until > now)
        .map(|until| (until - now).num_seconds().max(1))
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
    let code_hash = keys.hash("reset", &super::account_mail::reset_code(&keys, &reset));
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
        super::account_mail::enqueue(
            &mut tx,
            &operator,
            id.as_str(),
            super::account_mail::AccountMessage::PasswordReset,
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
const RESET_ATTEMPTS: i64 = 5;

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

fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The TOTP key stored for a user, opened with the server key. (Stored sealed: a copy of the
/// database alone does not give anyone the codes.)
fn totp_key(keys: &Keyring, stored: Option<&str>) -> Option<Vec<u8>> {
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
fn recovery_code() -> String {
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

async fn start_session(
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
struct Minted {
    access: (String, String),
    refresh: (String, String),
    access_expires_at: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
}

fn mint(keys: &Keyring, config: &AppConfig, now: DateTime<Utc>) -> Minted {
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
    fn into_tokens(self, user_id: UserId, operator: OperatorId, role: Role) -> SessionTokens {
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

async fn store_tokens(
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
enum Refreshed {
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
fn validate_user(draft: &UserDraft<'_>) -> Result<(String, String, Role), AppError> {
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
async fn insert_user(
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
    let (token, token_hash) = secrets::generate_token(super::operators::TOKEN_PREFIX);
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

fn role_detail(role: Role) -> String {
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
