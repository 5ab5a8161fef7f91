//! Operators (tenants) and their API tokens.

use chrono::{DateTime, Utc};

use super::audit::{self, Action, Target};
use super::auth::Principal;
use crate::domain::auth::Role;
use crate::domain::customer::Email;
use crate::domain::ids::{OperatorId, TokenId};
use crate::error::{AppError, Problems};
use crate::secrets;
use crate::storage::{catalogue, Store};

/// The prefix of operator API tokens (`brt_` + 64 hex digits).
pub const TOKEN_PREFIX: &str = "brt_";

/// Creates an operator with one API token; the token is returned here and never again.
pub async fn create_operator(
    store: &Store,
    now: DateTime<Utc>,
    name: &str,
    email: &str,
) -> Result<(OperatorId, String), AppError> {
    let mut p = Problems::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        p.add("name", "must be 1 to 200 characters");
    }
    let email = p.check("email", Email::parse(email));
    p.into_result()?;
    let email = email.ok_or_else(|| AppError::invalid("email", "is invalid"))?;
    let id = OperatorId::generate();
    let (token, hash) = secrets::generate_token(TOKEN_PREFIX);
    transaction!(store, |tx| {
        catalogue::insert_operator(&mut tx, &id, name, email.as_str(), now).await?;
        catalogue::insert_token(
            &mut tx,
            &TokenId::generate(),
            &id,
            &hash,
            "initial",
            Role::Owner,
            now,
        )
        .await?;
        Ok(())
    })
    .await?;
    tracing::info!(operator = %id, "operator created");
    Ok((id, token))
}

/// A new API token acting with `role` for the caller's operator; returned here and never again.
pub async fn create_token(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    label: &str,
    role: Role,
) -> Result<(TokenId, String), AppError> {
    let operator = &by.operator;
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(AppError::invalid("label", "must be 1 to 100 characters"));
    }
    let id = TokenId::generate();
    let (token, hash) = secrets::generate_token(TOKEN_PREFIX);
    let detail = serde_json::json!({ "role": role.as_str() }).to_string();
    transaction!(store, |tx| {
        catalogue::insert_token(&mut tx, &id, operator, &hash, label, role, now).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::TokenCreate,
            Target::Token(id.as_str()),
            Some(&detail),
        )
        .await
    })
    .await?;
    tracing::info!(operator = %operator, token = %id, "api token created");
    Ok((id, token))
}

pub async fn list_tokens(
    store: &Store,
    operator: &OperatorId,
) -> Result<Vec<catalogue::TokenRow>, AppError> {
    Ok(catalogue::list_tokens(store, operator).await?)
}

/// Revokes a token of this operator at once; another operator's token is "not found".
pub async fn revoke_token(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<(), AppError> {
    let operator = &by.operator;
    let id = TokenId::parse(id).ok_or(AppError::NotFound)?;
    let revoked = transaction!(store, |tx| {
        let revoked = catalogue::revoke_token(&mut tx, operator, &id, now).await?;
        if revoked {
            audit::record(
                &mut tx,
                by,
                now,
                Action::TokenRevoke,
                Target::Token(id.as_str()),
                None,
            )
            .await?;
        }
        Ok(revoked)
    })
    .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    tracing::info!(operator = %operator, token = %id, "api token revoked");
    Ok(())
}

/// The operator's profile as the API shows it.
pub async fn profile(
    store: &Store,
    operator: &OperatorId,
) -> Result<catalogue::OperatorRow, AppError> {
    catalogue::get_operator(store, operator.as_str())
        .await?
        .ok_or(AppError::NotFound)
}

/// Sets (or, with `None`, clears) who traveler emails come from and where replies go.
pub async fn set_mail_identity(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    mail_from: Option<&str>,
    reply_to: Option<&str>,
    allowed_domains: &[String],
) -> Result<catalogue::OperatorRow, AppError> {
    let mut p = Problems::new();
    // Sending as any domain through the shared relay would let a tenant phish in someone else's
    // name and spoil the relay's reputation: the sender's domain must be one the server allows.
    if let Some(from) = mail_from.filter(|f| crate::integrations::email::valid_mailbox(f)) {
        let domain = crate::integrations::email::domain_of(from);
        if !allowed_domains
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(&domain))
        {
            p.add(
                "mail_from",
                "its domain is not one this server sends for (BERTH_MAIL_FROM_DOMAINS)",
            );
        }
    }
    for (field, value) in [("mail_from", mail_from), ("reply_to", reply_to)] {
        if value.is_some_and(|v| !crate::integrations::email::valid_mailbox(v)) {
            p.add(
                field,
                "must be an address such as \"Harbour Tours <tours@harbour.example>\"",
            );
        }
    }
    p.into_result()?;
    let operator = &by.operator;
    transaction!(store, |tx| {
        catalogue::set_mail_identity(&mut tx, operator, mail_from, reply_to).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::OperatorMailIdentity,
            Target::Operator(operator),
            None,
        )
        .await
    })
    .await?;
    tracing::info!(operator = %operator, "mail identity changed");
    profile(store, operator).await
}
