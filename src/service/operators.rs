//! Operators (tenants): creation, API tokens, and who their traveler emails come from (sender
//! domains the instance owner approves per operator).

use chrono::{DateTime, Utc};

use super::audit::{self, Action, Target};
use super::principal::Principal;
use crate::domain::auth::Role;
use crate::domain::customer::Email;
use crate::domain::embed::{self, EmbedOrigin};
use crate::domain::ids::{OperatorId, TokenId};
use crate::domain::reseller::ResaleMessages;
use crate::error::{AppError, Problems};
use crate::secrets;
use crate::storage::{catalogue, sender_domains, StorageError, Store};

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
///
/// `mail_from` is a bare address in a domain the instance owner approved for this operator
/// (`berth operator allow-sender-domain`): a shared relay sending for any domain would let one
/// tenant phish in another's name. The display name is never the operator's to choose: emails
/// show the operator's own name (see [`traveler_sender`]).
pub async fn set_mail_identity(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    mail_from: Option<&str>,
    reply_to: Option<&str>,
) -> Result<catalogue::OperatorRow, AppError> {
    use crate::integrations::email::{domain_of, valid_address, valid_mailbox};
    let operator = &by.operator;
    let mut p = Problems::new();
    if let Some(from) = mail_from {
        if !valid_address(from) {
            p.add(
                "mail_from",
                if valid_mailbox(from) {
                    "just the address, such as bookings@harbour.example: emails show the operator's own name"
                } else {
                    "must be an address such as bookings@harbour.example"
                },
            );
        } else {
            let domain = domain_of(from).to_ascii_lowercase();
            if !sender_domains::is_approved(store, operator, &domain).await? {
                p.add(
                    "mail_from",
                    "its domain is not approved for this operator (the instance owner approves one with `berth operator allow-sender-domain`)",
                );
            }
        }
    }
    if reply_to.is_some_and(|v| !valid_mailbox(v)) {
        p.add(
            "reply_to",
            "must be an address such as \"Harbour Tours <tours@harbour.example>\"",
        );
    }
    p.into_result()?;
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

/// The origins that may frame the operator's booking pages (the widget).
pub async fn embed_origins(
    store: &Store,
    operator: &OperatorId,
) -> Result<Vec<EmbedOrigin>, AppError> {
    let stored = catalogue::embed_origins(store, operator).await?;
    Ok(stored
        .split_whitespace()
        .map(EmbedOrigin::from_stored)
        .collect())
}

/// Replaces the origins that may frame the operator's booking pages; an empty list stops all
/// framing. Each entry must be an origin (see [`EmbedOrigin::parse`]).
pub async fn set_embed_origins(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    origins: &[String],
) -> Result<Vec<EmbedOrigin>, AppError> {
    let origins = embed::parse_list(origins).map_err(|why| AppError::invalid("origins", why))?;
    let stored = origins
        .iter()
        .map(EmbedOrigin::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let detail = serde_json::json!({ "origins": origins.len() }).to_string();
    transaction!(store, |tx| {
        catalogue::set_embed_origins(&mut tx, &by.operator, &stored).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::OperatorEmbedOrigins,
            Target::Operator(&by.operator),
            Some(&detail),
        )
        .await
    })
    .await?;
    Ok(origins)
}

/// Whether berth messages the travellers of the operator's reseller bookings.
pub async fn reseller_messages(
    store: &Store,
    operator: &OperatorId,
) -> Result<ResaleMessages, AppError> {
    let stored = catalogue::reseller_messages(store, operator).await?;
    Ok(ResaleMessages::parse(&stored).unwrap_or_default())
}

/// Sets whether berth messages the travellers of the operator's reseller bookings; it applies
/// to the messages of bookings confirmed or changed from then on.
pub async fn set_reseller_messages(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    messages: ResaleMessages,
) -> Result<ResaleMessages, AppError> {
    transaction!(store, |tx| {
        catalogue::set_reseller_messages(&mut tx, &by.operator, messages.as_str()).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::OperatorResellerMessages,
            Target::Operator(&by.operator),
            Some(messages.as_str()),
        )
        .await
    })
    .await?;
    Ok(messages)
}

/// Who an operator's traveler emails come from: its own name at its `mail_from` address while
/// that address's domain is approved for it (an approval withdrawn later stops it at once), else
/// the server's default sender; and its reply-to address.
pub async fn traveler_sender(
    store: &Store,
    operator: &OperatorId,
) -> Result<crate::integrations::email::Sender, StorageError> {
    use crate::integrations::email::{domain_of, operator_mailbox, Sender};
    let Some(row) = catalogue::get_operator(store, operator.as_str()).await? else {
        return Ok(Sender::default());
    };
    let mut from = None;
    if let Some(address) = row.mail_from.as_deref() {
        let domain = domain_of(address).to_ascii_lowercase();
        if sender_domains::is_approved(store, operator, &domain).await? {
            from = operator_mailbox(&row.name, address);
        } else {
            tracing::info!(operator = %operator, "mail_from's domain is not approved; using the default sender");
        }
    }
    Ok(Sender {
        from,
        reply_to: row.reply_to,
    })
}

/// The domains approved for an operator's traveler emails.
pub async fn sender_domains(store: &Store, operator: &OperatorId) -> Result<Vec<String>, AppError> {
    Ok(sender_domains::list(store, operator).await?)
}

/// Checks a domain name: lowercase ASCII letters, digits and hyphens in dot-separated labels of
/// 1–63 characters, at least two labels, at most 253 characters (internationalized names in
/// their `xn--` form). Returns it lowercased.
pub fn parse_domain(text: &str) -> Result<String, String> {
    let domain = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if domain.len() > 253 || domain.split('.').count() < 2 || !domain.split('.').all(label_ok) {
        return Err(format!(
            "{:?} is not a domain name such as harbour.example",
            text.trim()
        ));
    }
    Ok(domain)
}

/// The one operator whose contact email is `email`, for the command line; an error that says
/// what to do when there is none or several.
pub async fn operator_by_email(store: &Store, email: &str) -> Result<OperatorId, AppError> {
    let found = sender_domains::operators_with_email(store, email).await?;
    match found.as_slice() {
        [(id, _)] => Ok(id.clone()),
        [] => Err(AppError::invalid(
            "operator_email",
            format!("no operator has the email {:?}", email.trim()),
        )),
        several => Err(AppError::invalid(
            "operator_email",
            format!(
                "{} operators have this email; name one with --operator-id ({})",
                several.len(),
                several
                    .iter()
                    .map(|(id, name)| format!("{id} {name:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The instance owner (the command line) approves `domain` for `operator`'s traveler emails.
/// A domain already approved for another operator is refused: it must be revoked there first.
pub async fn allow_sender_domain(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    domain: &str,
) -> Result<String, AppError> {
    let domain = parse_domain(domain).map_err(|e| AppError::invalid("domain", e))?;
    catalogue::get_operator(store, operator.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let by = Principal::cli(operator);
    let detail = serde_json::json!({ "domain": domain }).to_string();
    transaction!(store, |tx| {
        match sender_domains::owner_of(&mut tx, &domain).await? {
            Some(owner) if &owner == operator => return Ok(()),
            Some(owner) => {
                return Err(AppError::invalid(
                    "domain",
                    format!(
                        "{domain} is already approved for operator {owner}; revoke it there first"
                    ),
                ))
            }
            None => {}
        }
        sender_domains::approve(&mut tx, operator, &domain, now)
            .await
            .map_err(|error| match error {
                // Approved for someone meanwhile: the next attempt reads who.
                StorageError::Duplicate => AppError::Busy,
                other => other.into(),
            })?;
        audit::record(
            &mut tx,
            &by,
            now,
            Action::OperatorSenderDomainAllow,
            Target::Operator(operator),
            Some(&detail),
        )
        .await
    })
    .await?;
    tracing::info!(operator = %operator, domain, "sender domain approved");
    Ok(domain)
}

/// Withdraws an approval; the operator's `mail_from` in that domain is cleared with it, and its
/// emails come from the default sender again.
pub async fn revoke_sender_domain(
    store: &Store,
    now: DateTime<Utc>,
    operator: &OperatorId,
    domain: &str,
) -> Result<String, AppError> {
    let domain = parse_domain(domain).map_err(|e| AppError::invalid("domain", e))?;
    let by = Principal::cli(operator);
    let detail = serde_json::json!({ "domain": domain }).to_string();
    let revoked = transaction!(store, |tx| {
        if !sender_domains::revoke(&mut tx, operator, &domain).await? {
            return Ok(false);
        }
        sender_domains::clear_mail_from_in(&mut tx, operator, &domain).await?;
        audit::record(
            &mut tx,
            &by,
            now,
            Action::OperatorSenderDomainRevoke,
            Target::Operator(operator),
            Some(&detail),
        )
        .await?;
        Ok(true)
    })
    .await?;
    if !revoked {
        return Err(AppError::invalid(
            "domain",
            format!("{domain} is not approved for this operator"),
        ));
    }
    tracing::info!(operator = %operator, domain, "sender domain revoked");
    Ok(domain)
}
