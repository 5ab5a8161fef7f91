//! Operators' own payment-provider accounts (`payment_accounts`). The secret parts arrive and
//! leave sealed: this module never sees a key in clear.

use chrono::{DateTime, Utc};

use super::{at, on_pool, on_tx, StorageError, Store, WriteTx};
use crate::domain::ids::{OperatorId, PaymentAccountId, UserId};
use crate::domain::payment_keys::KeyMode;

/// An operator's account at a payment provider, as stored.
#[derive(Debug, Clone)]
pub struct PaymentAccount {
    pub id: PaymentAccountId,
    pub operator_id: OperatorId,
    /// `stripe`.
    pub provider: String,
    pub mode: KeyMode,
    /// `Keyring::seal_text` output, the account id as its context.
    pub secret_key_sealed: String,
    pub secret_key_mask: String,
    /// Not a secret: Stripe.js on the traveler's page needs it.
    pub publishable_key: String,
    pub webhook_secret_sealed: String,
    pub webhook_secret_mask: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    /// When newer keys replaced these (or the operator went back to the instance's account).
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    operator_id: String,
    provider: String,
    mode: String,
    secret_key_sealed: String,
    secret_key_mask: String,
    publishable_key: String,
    webhook_secret_sealed: String,
    webhook_secret_mask: String,
    created_at: DateTime<Utc>,
    created_by: Option<String>,
    retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<AccountRow> for PaymentAccount {
    type Error = StorageError;

    fn try_from(row: AccountRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("payment account {what}"));
        Ok(PaymentAccount {
            id: PaymentAccountId::parse(&row.id).ok_or_else(|| corrupt(&row.id))?,
            operator_id: OperatorId::parse(&row.operator_id)
                .ok_or_else(|| corrupt(&row.operator_id))?,
            provider: row.provider,
            mode: KeyMode::parse(&row.mode).ok_or_else(|| corrupt(&row.mode))?,
            secret_key_sealed: row.secret_key_sealed,
            secret_key_mask: row.secret_key_mask,
            publishable_key: row.publishable_key,
            webhook_secret_sealed: row.webhook_secret_sealed,
            webhook_secret_mask: row.webhook_secret_mask,
            created_at: row.created_at,
            created_by: row.created_by.map(UserId::from_stored),
            retired_at: row.retired_at,
        })
    }
}

const COLUMNS: &str = "id, operator_id, provider, mode, secret_key_sealed, secret_key_mask, \
     publishable_key, webhook_secret_sealed, webhook_secret_mask, created_at, created_by, retired_at";

pub async fn insert(tx: &mut WriteTx, account: &PaymentAccount) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO payment_accounts (id, operator_id, provider, mode, secret_key_sealed, secret_key_mask, \
         publishable_key, webhook_secret_sealed, webhook_secret_mask, created_at, created_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(account.id.as_str()).bind(account.operator_id.as_str()).bind(&account.provider)
        .bind(account.mode.as_str()).bind(&account.secret_key_sealed).bind(&account.secret_key_mask)
        .bind(&account.publishable_key).bind(&account.webhook_secret_sealed)
        .bind(&account.webhook_secret_mask).bind(at(account.created_at))
        .bind(account.created_by.as_ref().map(|u| u.as_str()))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Locks the operator's row for the rest of the transaction (on SQLite the transaction already
/// holds the write lock), so changes to its payment accounts happen one at a time.
pub async fn lock_operator(tx: &mut WriteTx, operator: &OperatorId) -> Result<(), StorageError> {
    let sql = format!(
        "SELECT id FROM operators WHERE id = ?{}",
        tx.pick("", " FOR UPDATE")
    );
    let _: Option<String> = on_tx!(tx, conn => sqlx::query_scalar(&sql)
        .bind(operator.as_str()).fetch_optional(conn).await)?;
    Ok(())
}

/// Retires the operator's account in force, if any; returns it as it was. The caller holds the
/// operator's lock, so two owners saving at once leave one account in force.
pub async fn retire_current(
    tx: &mut WriteTx,
    operator: &OperatorId,
    now: DateTime<Utc>,
) -> Result<Option<PaymentAccount>, StorageError> {
    let current = current_in(tx, operator).await?;
    if let Some(account) = &current {
        on_tx!(tx, conn => sqlx::query(
            "UPDATE payment_accounts SET retired_at = ? WHERE id = ? AND retired_at IS NULL")
            .bind(at(now)).bind(account.id.as_str())
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(current)
}

fn current_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM payment_accounts WHERE operator_id = ? AND retired_at IS NULL \
         ORDER BY id DESC LIMIT 1"
    )
}

/// The operator's account in force, read inside a transaction.
pub async fn current_in(
    tx: &mut WriteTx,
    operator: &OperatorId,
) -> Result<Option<PaymentAccount>, StorageError> {
    let sql = current_sql();
    let row: Option<AccountRow> = on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_optional(conn).await)?;
    row.map(PaymentAccount::try_from).transpose()
}

/// The operator's account in force.
pub async fn current(
    store: &Store,
    operator: &OperatorId,
) -> Result<Option<PaymentAccount>, StorageError> {
    let sql = current_sql();
    let row: Option<AccountRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).fetch_optional(pool).await)?;
    row.map(PaymentAccount::try_from).transpose()
}

pub async fn get(
    store: &Store,
    id: &PaymentAccountId,
) -> Result<Option<PaymentAccount>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM payment_accounts WHERE id = ?");
    let row: Option<AccountRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(id.as_str()).fetch_optional(pool).await)?;
    row.map(PaymentAccount::try_from).transpose()
}

/// The operator's accounts, in force first and then the most recently retired: a webhook to
/// the operator's endpoint may come from any of them.
pub async fn of_operator(
    store: &Store,
    operator: &OperatorId,
    limit: u32,
) -> Result<Vec<PaymentAccount>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_accounts WHERE operator_id = ? ORDER BY id DESC LIMIT ?"
    );
    let rows: Vec<AccountRow> = on_pool!(store, pool => sqlx::query_as(&sql)
        .bind(operator.as_str()).bind(limit).fetch_all(pool).await)?;
    rows.into_iter().map(PaymentAccount::try_from).collect()
}
