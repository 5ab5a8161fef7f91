//! Resellers of an operator: created by an owner with a key shown once, listed, revoked; and
//! the key checked when a reseller calls the OCTO API.

use chrono::{DateTime, Utc};

use crate::domain::auth::Role;
use crate::domain::ids::ResellerId;
use crate::domain::reseller::{NewReseller, Reseller};
use crate::error::AppError;
use crate::secrets;
use crate::service::audit::{self, Action, Target};
use crate::service::auth::Principal;
use crate::storage::{catalogue, resellers, Store};

/// The prefix of reseller keys, so a secret scanner can tell one when it leaks.
pub const KEY_PREFIX: &str = "brs_";

fn require_owner(by: &Principal) -> Result<(), AppError> {
    if by.role.at_least(Role::Owner) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Creates a reseller of the caller's operator; returns it and its key (shown once, stored
/// only as a hash). Tours it is limited to must be the operator's.
pub async fn create(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    new: NewReseller,
) -> Result<(Reseller, String), AppError> {
    require_owner(by)?;
    for tour in &new.tours {
        let theirs = catalogue::get_tour(store, tour)
            .await?
            .is_some_and(|t| t.operator_id == by.operator);
        if !theirs {
            return Err(AppError::invalid(
                "tours",
                format!("{tour} is not one of your tours"),
            ));
        }
    }
    let reseller = Reseller {
        id: ResellerId::generate(),
        operator_id: by.operator.clone(),
        name: new.name,
        commission_percent: new.commission_percent,
        tours: new.tours,
        created_at: now,
        revoked_at: None,
    };
    let (key, hash) = secrets::generate_token(KEY_PREFIX);
    let detail = serde_json::json!({
        "name": reseller.name,
        "commission_percent": reseller.commission_percent,
        "tours": reseller.tours.len(),
    })
    .to_string();
    transaction!(store, |tx| {
        resellers::insert(&mut tx, &reseller, &hash).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::ResellerCreate,
            Target::Reseller(reseller.id.as_str()),
            Some(&detail),
        )
        .await
    })
    .await?;
    tracing::info!(operator = %by.operator, reseller = %reseller.id, "reseller created");
    Ok((reseller, key))
}

pub async fn list(store: &Store, by: &Principal) -> Result<Vec<Reseller>, AppError> {
    require_owner(by)?;
    Ok(resellers::list(store, &by.operator).await?)
}

/// Revokes a reseller's key at once; another operator's reseller is "not found".
pub async fn revoke(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<(), AppError> {
    require_owner(by)?;
    let id = ResellerId::parse(id).ok_or(AppError::NotFound)?;
    transaction!(store, |tx| {
        if !resellers::revoke(&mut tx, &by.operator, &id, now).await? {
            return Err(AppError::NotFound);
        }
        audit::record(
            &mut tx,
            by,
            now,
            Action::ResellerRevoke,
            Target::Reseller(id.as_str()),
            None,
        )
        .await
    })
    .await
}

/// The live reseller a key belongs to.
pub async fn authenticate(store: &Store, key: &str) -> Result<Option<Reseller>, AppError> {
    if !key.starts_with(KEY_PREFIX) || key.len() > 200 {
        return Ok(None);
    }
    Ok(resellers::find_live(store, &secrets::hash_token(key)).await?)
}
