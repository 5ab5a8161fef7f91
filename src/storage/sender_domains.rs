//! Sender domains: which operator the instance owner approved each email domain for. A domain
//! has at most one operator (its primary key), so two tenants can never both send from it.

use chrono::{DateTime, Utc};

use super::at;
use super::{on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::OperatorId;

/// Approves `domain` (lowercase) for `operator`; `StorageError::Duplicate` when it is already
/// approved, for this operator or another.
pub async fn approve(
    tx: &mut WriteTx,
    operator: &OperatorId,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO sender_domains (domain, operator_id, approved_at) VALUES (?, ?, ?)")
        .bind(domain).bind(operator.as_str()).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The operator a domain is approved for, if any.
pub async fn owner_of(tx: &mut WriteTx, domain: &str) -> Result<Option<OperatorId>, StorageError> {
    let owner: Option<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT operator_id FROM sender_domains WHERE domain = ?")
        .bind(domain).fetch_optional(conn).await)?;
    Ok(owner.map(OperatorId::from_stored))
}

/// Withdraws an approval; false when `operator` had no such domain.
pub async fn revoke(
    tx: &mut WriteTx,
    operator: &OperatorId,
    domain: &str,
) -> Result<bool, StorageError> {
    let affected = on_tx!(tx, conn => sqlx::query(
        "DELETE FROM sender_domains WHERE domain = ? AND operator_id = ?")
        .bind(domain).bind(operator.as_str())
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(affected == 1)
}

/// The domains approved for `operator`, in order.
pub async fn list(store: &Store, operator: &OperatorId) -> Result<Vec<String>, StorageError> {
    let domains: Vec<String> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT domain FROM sender_domains WHERE operator_id = ? ORDER BY domain")
        .bind(operator.as_str()).fetch_all(pool).await)?;
    Ok(domains)
}

/// Whether `domain` (lowercase) is approved for `operator`.
pub async fn is_approved(
    store: &Store,
    operator: &OperatorId,
    domain: &str,
) -> Result<bool, StorageError> {
    let found: Option<String> = on_pool!(store, pool => sqlx::query_scalar(
        "SELECT domain FROM sender_domains WHERE domain = ? AND operator_id = ?")
        .bind(domain).bind(operator.as_str()).fetch_optional(pool).await)?;
    Ok(found.is_some())
}

/// Operators whose contact email is `email` (compared without case): the command line names
/// operators by it.
pub async fn operators_with_email(
    store: &Store,
    email: &str,
) -> Result<Vec<(OperatorId, String)>, StorageError> {
    let rows: Vec<(String, String)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, name FROM operators WHERE LOWER(email) = LOWER(?) ORDER BY id")
        .bind(email.trim()).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (OperatorId::from_stored(id), name))
        .collect())
}

/// Clears `operator`'s `mail_from` when it is an address in `domain` (whose approval is being
/// withdrawn), so the profile never shows a sender that would not be used.
pub async fn clear_mail_from_in(
    tx: &mut WriteTx,
    operator: &OperatorId,
    domain: &str,
) -> Result<(), StorageError> {
    // Domains are letters, digits, dots and hyphens only (checked before they are stored), so
    // they carry no LIKE wildcards. The second pattern covers senders stored with a display
    // name ("Name <a@domain>") before display names were refused.
    on_tx!(tx, conn => sqlx::query(
        "UPDATE operators SET mail_from = NULL WHERE id = ? AND (LOWER(mail_from) LIKE ? OR LOWER(mail_from) LIKE ?)")
        .bind(operator.as_str()).bind(format!("%@{domain}")).bind(format!("%@{domain}>"))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
