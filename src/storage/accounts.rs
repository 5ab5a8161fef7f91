//! Operator users, their sessions and session tokens, and the audit log.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::auth::Role;
use crate::domain::ids::{OperatorId, SessionId, UserId};

fn role(text: &str) -> Result<Role, StorageError> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("unknown role {text:?}")))
}

/// A user as stored (the password hash never leaves `service::auth`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub operator_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    pub fn role(&self) -> Result<Role, StorageError> {
        role(&self.role)
    }

    pub fn user_id(&self) -> UserId {
        UserId::from_stored(self.id.clone())
    }

    pub fn operator(&self) -> OperatorId {
        OperatorId::from_stored(self.operator_id.clone())
    }
}

const USER_COLUMNS: &str = "id, operator_id, email, name, role, password_hash, totp_secret, \
    totp_enabled_at, totp_last_step, failed_logins, locked_until, deactivated_at, created_at";

/// The fields of a new user.
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub operator: &'a OperatorId,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// Inserts a user; `Duplicate` when the email is taken.
pub async fn insert_user(
    tx: &mut WriteTx,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO users (id, operator_id, email, name, role, password_hash, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(user.id.as_str()).bind(user.operator.as_str()).bind(user.email).bind(user.name)
        .bind(user.role.as_str()).bind(user.password_hash).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user signing in with this (lower-cased) email, active or not.
pub async fn find_user_by_email(
    store: &Store,
    email: &str,
) -> Result<Option<UserRow>, StorageError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?");
    let row = on_pool!(store, pool => sqlx::query_as(&sql).bind(email).fetch_optional(pool).await)?;
    Ok(row)
}

/// One of the operator's users; another operator's user is `None`.
pub async fn get_user(
    store: &Store,
    operator: &OperatorId,
    id: &UserId,
) -> Result<Option<UserRow>, StorageError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ? AND operator_id = ?");
    let row = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).bind(operator.as_str()).fetch_optional(pool).await)?;
    Ok(row)
}

/// A user in a write transaction (row-locked on MySQL).
pub async fn lock_user(tx: &mut WriteTx, id: &UserId) -> Result<Option<UserRow>, StorageError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = ?{}",
        tx.pick("", " FOR UPDATE")
    );
    let row =
        on_tx!(tx, conn => sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(conn).await)?;
    Ok(row)
}

/// The operator's users, oldest first.
pub async fn list_users(
    store: &Store,
    operator: &OperatorId,
) -> Result<Vec<UserRow>, StorageError> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM users WHERE operator_id = ? ORDER BY id LIMIT 1000");
    let rows = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_all(pool).await)?;
    Ok(rows)
}

/// The ids of the operator's active owners (a plain read).
pub async fn active_owners(
    tx: &mut WriteTx,
    operator: &OperatorId,
) -> Result<Vec<String>, StorageError> {
    let ids: Vec<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT id FROM users WHERE operator_id = ? AND role = 'owner' AND deactivated_at IS NULL ORDER BY id")
        .bind(operator.as_str()).fetch_all(conn).await)?;
    Ok(ids)
}

/// How many active owners the operator has (the last one cannot be demoted or deactivated).
pub async fn count_active_owners(
    tx: &mut WriteTx,
    operator: &OperatorId,
) -> Result<i64, StorageError> {
    let sql = tx.pick(
        "SELECT COUNT(*) FROM users WHERE operator_id = ? AND role = 'owner' AND deactivated_at IS NULL",
        "SELECT COUNT(*) FROM users WHERE operator_id = ? AND role = 'owner' AND deactivated_at IS NULL FOR UPDATE",
    );
    let count: i64 = on_tx!(tx, conn => sqlx::query_scalar(sql)
        .bind(operator.as_str()).fetch_one(conn).await)?;
    Ok(count)
}

/// Gives a user another role (effective on their next request: sessions read the current role).
pub async fn set_role(
    tx: &mut WriteTx,
    id: &UserId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET role = ?, updated_at = ? WHERE id = ?")
        .bind(role.as_str()).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a user deactivated (kept for the audit log; can no longer sign in).
pub async fn deactivate(
    tx: &mut WriteTx,
    id: &UserId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET deactivated_at = COALESCE(deactivated_at, ?), updated_at = ? WHERE id = ?")
        .bind(at(now)).bind(at(now)).bind(id.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Starts a session (a login) for a user.
pub async fn insert_session(
    tx: &mut WriteTx,
    id: &SessionId,
    user: &UserId,
    operator: &OperatorId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO sessions (id, user_id, operator_id, created_at, refreshed_at) VALUES (?, ?, ?, ?, ?)")
        .bind(id.as_str()).bind(user.as_str()).bind(operator.as_str()).bind(at(now)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The kinds of session token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    /// Proves the password step of a login whose second step (TOTP) is pending.
    Mfa,
}

impl TokenKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Mfa => "mfa",
        }
    }
}

/// Stores the HMAC of one of a session's tokens.
pub async fn insert_session_token(
    tx: &mut WriteTx,
    hash: &str,
    session: &SessionId,
    kind: TokenKind,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO session_tokens (token_hash, session_id, kind, expires_at, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(hash).bind(session.as_str()).bind(kind.as_str()).bind(at(expires_at)).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Who an access token speaks for, when it is live: not expired, its session not revoked nor
/// idle since `idle_since`, its user active. The role is the user's current one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionPrincipalRow {
    pub session_id: String,
    pub user_id: String,
    pub operator_id: String,
    pub role: String,
    /// 1 when the operator requires 2FA and this user has not enabled it yet.
    pub must_enrol: i64,
}

impl SessionPrincipalRow {
    pub fn role(&self) -> Result<Role, StorageError> {
        role(&self.role)
    }
}

/// The live session, user and role behind an access token's HMAC (see [`SessionPrincipalRow`]).
pub async fn principal_for_access_token(
    store: &Store,
    hash: &str,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> Result<Option<SessionPrincipalRow>, StorageError> {
    let row = on_pool!(store, pool => sqlx::query_as(
        "SELECT s.id AS session_id, u.id AS user_id, u.operator_id AS operator_id, u.role AS role, \
         CASE WHEN o.require_two_factor <> 0 AND u.totp_enabled_at IS NULL THEN 1 ELSE 0 END AS must_enrol \
         FROM session_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id \
         JOIN operators o ON o.id = u.operator_id \
         WHERE t.token_hash = ? AND t.kind = 'access' AND t.expires_at > ? \
         AND s.revoked_at IS NULL AND s.refreshed_at > ? AND u.deactivated_at IS NULL")
        .bind(hash).bind(at(now)).bind(at(idle_since)).fetch_optional(pool).await)?;
    Ok(row)
}

/// A refresh or MFA token with the state of its session, for the rotation decision.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionTokenRow {
    pub session_id: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub refreshed_at: DateTime<Utc>,
    pub user_id: String,
}

/// A refresh or MFA token with its session, locked on MySQL (the rotation decision reads then writes).
pub async fn find_session_token(
    tx: &mut WriteTx,
    hash: &str,
    kind: TokenKind,
) -> Result<Option<SessionTokenRow>, StorageError> {
    let sql = tx.pick(
        "SELECT t.session_id, t.expires_at, t.used_at, s.revoked_at, s.refreshed_at, s.user_id \
         FROM session_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ? AND t.kind = ?",
        "SELECT t.session_id, t.expires_at, t.used_at, s.revoked_at, s.refreshed_at, s.user_id \
         FROM session_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ? AND t.kind = ? \
         FOR UPDATE",
    );
    let row = on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(hash).bind(kind.as_str()).fetch_optional(conn).await)?;
    Ok(row)
}

/// Marks a token used; false when it already was (a concurrent or repeated use).
pub async fn use_session_token(
    tx: &mut WriteTx,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE session_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL")
        .bind(at(now)).bind(hash).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Records a refresh: the session's idle clock starts again.
pub async fn touch_session(
    tx: &mut WriteTx,
    id: &SessionId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE sessions SET refreshed_at = ? WHERE id = ?")
        .bind(at(now)).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends a session and so every token of its family; `reason` is kept for investigation.
pub async fn revoke_session(
    tx: &mut WriteTx,
    id: &SessionId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(at(now)).bind(reason).bind(id.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes every live session of a user but `keep` (a password change from that session).
pub async fn revoke_other_sessions(
    tx: &mut WriteTx,
    user: &UserId,
    keep: &SessionId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL")
        .bind(at(now)).bind(reason).bind(user.as_str()).bind(keep.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes every live session of a user (deactivation, password reset).
pub async fn revoke_user_sessions(
    tx: &mut WriteTx,
    user: &UserId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(at(now)).bind(reason).bind(user.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores a new, not yet confirmed TOTP secret (base32), replacing any pending one.
pub async fn set_pending_totp(
    tx: &mut WriteTx,
    user: &UserId,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET totp_secret = ?, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = ? WHERE id = ?")
        .bind(secret).bind(at(now)).bind(user.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Turns a user's two-factor sign-in off: no key, no recovery codes.
pub async fn clear_totp(
    tx: &mut WriteTx,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = ? WHERE id = ?")
        .bind(at(now)).bind(user.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, conn => sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Turns two-factor sign-in on with the pending key.
pub async fn enable_totp(
    tx: &mut WriteTx,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET totp_enabled_at = ?, updated_at = ? WHERE id = ?")
        .bind(at(now)).bind(at(now)).bind(user.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records the TOTP step just accepted; false when that step (or a later one) was already used.
pub async fn use_totp_step(
    tx: &mut WriteTx,
    user: &UserId,
    step: i64,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)")
        .bind(step).bind(user.as_str()).bind(step)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Replaces a user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut WriteTx,
    user: &UserId,
    hashes: &[String],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    for hash in hashes {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES (?, ?, ?)")
            .bind(hash).bind(user.as_str()).bind(at(now))
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Spends one of the user's recovery codes; false when it is not theirs or already used.
pub async fn use_recovery_code(
    tx: &mut WriteTx,
    user: &UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "UPDATE recovery_codes SET used_at = ? WHERE code_hash = ? AND user_id = ? AND used_at IS NULL")
        .bind(at(now)).bind(hash).bind(user.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// Whether the operator's users must sign in with a second factor.
pub async fn requires_two_factor(
    store: &Store,
    operator: &OperatorId,
) -> Result<bool, StorageError> {
    let required: Option<bool> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT require_two_factor <> 0 FROM operators WHERE id = ?")
        .bind(operator.as_str()).fetch_optional(pool).await)?;
    Ok(required.unwrap_or(false))
}

/// Sets whether the operator's users must sign in with a second factor.
pub async fn set_require_two_factor(
    tx: &mut WriteTx,
    operator: &OperatorId,
    required: bool,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE operators SET require_two_factor = ? WHERE id = ?")
        .bind(required).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records a failed login: the new count of consecutive failures and until when logins are
/// refused (`None`: not at all).
pub async fn record_failure(
    tx: &mut WriteTx,
    user: &UserId,
    failures: i64,
    locked_until: Option<DateTime<Utc>>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?")
        .bind(failures).bind(locked_until.map(at)).bind(user.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A successful login (or a reset) clears the failures.
pub async fn clear_failures(tx: &mut WriteTx, user: &UserId) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ? AND (failed_logins <> 0 OR locked_until IS NOT NULL)")
        .bind(user.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Replaces a user's password hash (an Argon2id PHC string).
pub async fn set_password(
    tx: &mut WriteTx,
    user: &UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
        .bind(hash).bind(at(now)).bind(user.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Starts a password reset, voiding the user's earlier unused ones.
pub async fn insert_reset(
    tx: &mut WriteTx,
    id: &str,
    user: &UserId,
    code_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL")
        .bind(at(now)).bind(user.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO password_resets (id, user_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(id).bind(user.as_str()).bind(code_hash).bind(at(now)).bind(at(expires_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// How many resets a user was sent since `since` (for the hourly cap).
pub async fn resets_since(
    tx: &mut WriteTx,
    user: &UserId,
    since: DateTime<Utc>,
) -> Result<i64, StorageError> {
    let count: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM password_resets WHERE user_id = ? AND created_at > ?")
        .bind(user.as_str()).bind(at(since)).fetch_one(conn).await)?;
    Ok(count)
}

/// A user's live reset (unused, unexpired), locked: (id, code hash, attempts).
pub async fn live_reset(
    tx: &mut WriteTx,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Option<(String, String, i64)>, StorageError> {
    let sql = tx.pick(
        "SELECT id, code_hash, attempts FROM password_resets WHERE user_id = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
        "SELECT id, code_hash, attempts FROM password_resets WHERE user_id = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
    );
    let row = on_tx!(tx, conn => sqlx::query_as(sql)
        .bind(user.as_str()).bind(at(now)).fetch_optional(conn).await)?;
    Ok(row)
}

/// Counts a wrong code; at `max` attempts the reset is spent.
pub async fn fail_reset(
    tx: &mut WriteTx,
    id: &str,
    max: i64,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        // `used_at` first: MySQL evaluates SET left to right with the new values.
        "UPDATE password_resets SET used_at = CASE WHEN attempts + 1 >= ? THEN ? ELSE used_at END, attempts = attempts + 1 WHERE id = ?")
        .bind(max).bind(at(now)).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Spends a password reset.
pub async fn use_reset(tx: &mut WriteTx, id: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query("UPDATE password_resets SET used_at = ? WHERE id = ?")
        .bind(at(now)).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether a reset can still be used (for the dispatcher: a stale code is not sent).
pub async fn reset_is_live(
    store: &Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let found: Option<String> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT id FROM password_resets WHERE id = ? AND used_at IS NULL AND expires_at > ?")
        .bind(id).bind(at(now)).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// Deletes session tokens and password resets that expired before `before`, then sessions idle
/// since then that have no token left; returns how many rows went.
pub async fn purge_expired(tx: &mut WriteTx, before: DateTime<Utc>) -> Result<u64, StorageError> {
    let mut purged = 0;
    for sql in [
        "DELETE FROM session_tokens WHERE expires_at <= ?",
        "DELETE FROM password_resets WHERE expires_at <= ?",
        "DELETE FROM sessions WHERE refreshed_at <= ? \
         AND NOT EXISTS (SELECT 1 FROM session_tokens t WHERE t.session_id = sessions.id)",
    ] {
        purged += on_tx!(tx, conn => sqlx::query(sql)
            .bind(at(before)).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(purged)
}

/// One audit entry: who (`actor`) did what (`action`) to which object (`target`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Appends one audit entry (never updated or deleted).
pub async fn insert_audit(
    tx: &mut WriteTx,
    operator: &OperatorId,
    entry: &AuditRow,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO audit_log (id, operator_id, actor, action, target, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&entry.id).bind(operator.as_str()).bind(&entry.actor).bind(&entry.action)
        .bind(&entry.target).bind(entry.detail.as_deref()).bind(at(entry.created_at))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The audit entries about one target (`booking:K7M2Q9PX` …), oldest first.
pub async fn audit_of_target(
    store: &Store,
    operator: &OperatorId,
    target: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, StorageError> {
    let rows = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, actor, action, target, detail, created_at FROM audit_log \
         WHERE operator_id = ? AND target = ? ORDER BY id LIMIT ?")
        .bind(operator.as_str()).bind(target).bind(limit).fetch_all(pool).await)?;
    Ok(rows)
}

/// The operator's audit entries, newest first, older than `before` (an entry id) when given.
pub async fn list_audit(
    store: &Store,
    operator: &OperatorId,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, StorageError> {
    let rows = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, actor, action, target, detail, created_at FROM audit_log \
         WHERE operator_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?")
        .bind(operator.as_str()).bind(before).bind(before).bind(limit).fetch_all(pool).await)?;
    Ok(rows)
}
