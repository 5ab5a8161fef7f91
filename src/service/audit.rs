//! The audit log: every change an operator's people or tokens make, with who, what and when.
//! Entries are written in the same transaction as the change, so one never exists without the
//! other.

use chrono::{DateTime, Utc};

use super::auth::Principal;
use crate::domain::ids::{OperatorId, UserId};
use crate::error::AppError;
use crate::storage::accounts::{self, AuditRow};
use crate::storage::{Store, WriteTx};

/// What an action was done to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Operator(&'a OperatorId),
    Tour(&'a str),
    Schedule(&'a str),
    Occurrence(&'a str),
    Booking(&'a str),
    Token(&'a str),
    User(&'a UserId),
    Message(&'a str),
}

impl Target<'_> {
    fn spelled(&self) -> String {
        match self {
            Target::Operator(id) => format!("operator:{id}"),
            Target::Tour(id) => format!("tour:{id}"),
            Target::Schedule(id) => format!("schedule:{id}"),
            Target::Occurrence(id) => format!("occurrence:{id}"),
            Target::Booking(reference) => format!("booking:{reference}"),
            Target::Token(id) => format!("token:{id}"),
            Target::User(id) => format!("user:{id}"),
            Target::Message(id) => format!("message:{id}"),
        }
    }
}

/// Records `action` (e.g. `tour.update`) by `by` on `target` in the change's own transaction.
/// `detail` is a small JSON object of what changed; never personal data or secrets.
pub async fn record(
    tx: &mut WriteTx,
    by: &Principal,
    now: DateTime<Utc>,
    action: &str,
    target: Target<'_>,
    detail: Option<&str>,
) -> Result<(), AppError> {
    let entry = AuditRow {
        id: ulid::Ulid::new().to_string(),
        actor: by.actor.audit_name(),
        action: action.to_owned(),
        target: target.spelled(),
        detail: detail.map(str::to_owned),
        created_at: now,
    };
    accounts::insert_audit(tx, &by.operator, &entry).await?;
    Ok(())
}

/// A page of the operator's audit log, newest first; `before` is the last id of the previous page.
pub async fn list(
    store: &Store,
    operator: &OperatorId,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditRow>, AppError> {
    if before.is_some_and(|id| ulid::Ulid::from_string(id).is_err()) {
        return Err(AppError::invalid(
            "before",
            "must be an entry id from a previous page",
        ));
    }
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200"));
    }
    Ok(accounts::list_audit(store, operator, before, i64::from(limit)).await?)
}
