//! Promo codes: the operator's codes (create, list, change), and the redemption a hold makes.
//!
//! A redemption is counted in the hold's transaction under the code's row lock, after the
//! departure's (every writer takes them in that order: departure, then code), so a rush never
//! passes a code's maximum. It is released with the booking's seats (lapse, cancellation), in
//! the same transaction, so a code is never stranded by bookings that no longer hold seats; a
//! lapsed hold not yet released is not counted either.

use chrono::{DateTime, Utc};

use super::audit::{self, Action, Target};
use super::principal::Principal;
use crate::domain::ids::{BookingId, PromoCodeId, TourId};
use crate::domain::money::Currency;
use crate::domain::promo::{normalize, PromoChange, PromoCode, PromoDraft, PromoRules, Refusal};
use crate::domain::records::{BookingRecord, TourRecord};
use crate::error::AppError;
use crate::storage::catalogue as store_catalogue;
use crate::storage::promos::{self as store_promos, Redemption};
use crate::storage::{StorageError, Store, WriteTx};

/// A new code as the operator sends it.
#[derive(Debug, Default)]
pub struct NewPromo {
    pub code: String,
    pub percent_off: Option<i64>,
    pub amount_off: Option<i64>,
    pub currency: Option<String>,
    pub tour_id: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub min_spend: Option<i64>,
    pub max_redemptions: Option<i64>,
    pub max_per_customer: Option<i64>,
    pub active: Option<bool>,
}

/// A change to a code: `None` keeps a field, `Some(None)` clears an optional one (a cleared
/// `min_spend` is 0). The code's text, discount and tour never change (bookings name them);
/// make a new code instead.
#[derive(Debug, Default)]
pub struct PromoPatch {
    pub valid_from: Option<Option<String>>,
    pub valid_until: Option<Option<String>>,
    pub currency: Option<Option<String>>,
    pub min_spend: Option<Option<i64>>,
    pub max_redemptions: Option<Option<i64>>,
    pub max_per_customer: Option<Option<i64>>,
    pub active: Option<bool>,
}

/// The operator already has a code spelled the same.
pub const CODE_TAKEN: &str = "promo_code_taken";
/// A maximum below the redemptions already live.
pub const BELOW_REDEEMED: &str = "below_redeemed";

fn instant(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, AppError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                AppError::invalid(field, "must be an RFC 3339 time, e.g. 2027-06-01T00:00:00Z")
            })
    })
    .transpose()
}

/// Creates a code; `409 promo_code_taken` when the operator has one spelled the same.
pub async fn create(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    input: NewPromo,
) -> Result<(PromoCode, u32), AppError> {
    let tour_id = match input.tour_id.as_deref() {
        Some(text) => {
            let id = TourId::parse(text)
                .ok_or_else(|| AppError::invalid("tour_id", "is not one of your tours"))?;
            let tour = store_catalogue::get_tour(store, &id).await?;
            if tour.is_none_or(|tour| tour.operator_id != by.operator) {
                return Err(AppError::invalid("tour_id", "is not one of your tours"));
            }
            Some(id)
        }
        None => None,
    };
    let draft = PromoDraft {
        code: &input.code,
        percent_off: input.percent_off,
        amount_off: input.amount_off,
        currency: input.currency.as_deref(),
        tour_id,
        valid_from: instant("valid_from", input.valid_from.as_deref())?,
        valid_until: instant("valid_until", input.valid_until.as_deref())?,
        min_spend: input.min_spend,
        max_redemptions: input.max_redemptions,
        max_per_customer: input.max_per_customer,
        active: input.active,
    };
    let code = PromoCode {
        id: PromoCodeId::generate(),
        rules: draft.validate()?,
        created_at: now,
        updated_at: now,
    };
    transaction!(store, |tx| {
        store_promos::insert(&mut tx, &by.operator, &code)
            .await
            .map_err(|error| match error {
                StorageError::Duplicate => AppError::Refused {
                    code: CODE_TAKEN,
                    message: format!("you already have a promo code {}", code.rules.code),
                },
                other => other.into(),
            })?;
        let detail = serde_json::json!({ "code": code.rules.code }).to_string();
        audit::record(
            &mut tx,
            by,
            now,
            Action::PromoCodeCreate,
            Target::PromoCode(code.id.as_str()),
            Some(&detail),
        )
        .await?;
        Ok(())
    })
    .await?;
    tracing::info!(promo_code = %code.id, "promo code created");
    Ok((code, 0))
}

/// The operator's codes, newest first, each with its live redemptions.
pub async fn list(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
) -> Result<Vec<(PromoCode, u32)>, AppError> {
    Ok(store_promos::list(store, &by.operator, now).await?)
}

fn code_id(id: &str) -> Result<PromoCodeId, AppError> {
    PromoCodeId::parse(id).ok_or(AppError::NotFound)
}

/// One of the operator's codes with its live redemptions.
pub async fn get(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
) -> Result<(PromoCode, u32), AppError> {
    let code = store_promos::get(store, &by.operator, &code_id(id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let live = store_promos::live_redemptions(store, &code.id, now).await?;
    Ok((code, live))
}

/// Changes a code under its lock: a maximum below the redemptions already live is
/// `409 below_redeemed` (those bookings keep their discount; switch the code off instead).
pub async fn update(
    store: &Store,
    now: DateTime<Utc>,
    by: &Principal,
    id: &str,
    patch: PromoPatch,
) -> Result<(PromoCode, u32), AppError> {
    let id = code_id(id)?;
    // Owned by the caller (a code of another operator is not found), read before locking.
    store_promos::get(store, &by.operator, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let valid_from = patch
        .valid_from
        .as_ref()
        .map(|text| instant("valid_from", text.as_deref()))
        .transpose()?;
    let valid_until = patch
        .valid_until
        .as_ref()
        .map(|text| instant("valid_until", text.as_deref()))
        .transpose()?;
    let updated = transaction!(store, |tx| {
        let current = store_promos::lock(&mut tx, &id)
            .await?
            .ok_or(AppError::NotFound)?;
        let before = current.rules.clone();
        let new_rules = before.changed(&PromoChange {
            valid_from,
            valid_until,
            currency: patch.currency.as_ref().map(Option::as_deref),
            min_spend: patch.min_spend,
            max_redemptions: patch.max_redemptions,
            max_per_customer: patch.max_per_customer,
            active: patch.active,
        })?;
        let (live, _) = store_promos::live_counts(&mut tx, &id, "", now).await?;
        if new_rules.max_redemptions.is_some_and(|max| max < live) {
            return Err(AppError::Refused {
                code: BELOW_REDEEMED,
                message: format!(
                    "{live} bookings hold this code now; the maximum cannot go below that"
                ),
            });
        }
        let updated = PromoCode {
            rules: new_rules,
            updated_at: now,
            ..current
        };
        store_promos::update(&mut tx, &updated).await?;
        audit::record(
            &mut tx,
            by,
            now,
            Action::PromoCodeUpdate,
            Target::PromoCode(updated.id.as_str()),
            Some(&change_detail(&before, &updated.rules)),
        )
        .await?;
        Ok((updated, live))
    })
    .await?;
    Ok(updated)
}

/// The audit detail of a change: the fields that changed, new values only.
fn change_detail(before: &PromoRules, after: &PromoRules) -> String {
    let mut detail = serde_json::Map::new();
    let time = |at: Option<DateTime<Utc>>| at.map(|at| at.to_rfc3339());
    if before.valid_from != after.valid_from {
        detail.insert("valid_from".into(), time(after.valid_from).into());
    }
    if before.valid_until != after.valid_until {
        detail.insert("valid_until".into(), time(after.valid_until).into());
    }
    if before.currency != after.currency {
        let currency = after.currency.as_ref().map(|c| c.as_str().to_owned());
        detail.insert("currency".into(), currency.into());
    }
    if before.min_spend != after.min_spend {
        detail.insert("min_spend".into(), after.min_spend.into());
    }
    if before.max_redemptions != after.max_redemptions {
        detail.insert("max_redemptions".into(), after.max_redemptions.into());
    }
    if before.max_per_customer != after.max_per_customer {
        detail.insert("max_per_customer".into(), after.max_per_customer.into());
    }
    if before.active != after.active {
        detail.insert("active".into(), after.active.into());
    }
    serde_json::Value::Object(detail).to_string()
}

/// A code a hold will redeem, and what it takes off.
#[derive(Debug, Clone)]
pub struct PromoClaim {
    pub code: PromoCode,
    pub discount: i64,
}

/// Checks a traveler's code against a booking of `tour` totalling `total`, before any lock:
/// every rule but the counts, which [`redeem`] checks under the lock. An empty code is none.
pub async fn claim(
    store: &Store,
    tour: &TourRecord,
    total: i64,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<PromoClaim>, AppError> {
    let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    let currency = &tour.tour.currency;
    let refuse = |refusal: Refusal| refusal.into_error(currency.as_str());
    let Some(normalized) = normalize(text) else {
        return Err(refuse(Refusal::Unknown));
    };
    let code = store_promos::find(store, &tour.operator_id, &normalized)
        .await?
        .ok_or_else(|| refuse(Refusal::Unknown))?;
    let discount = code
        .rules
        .discount_for(&tour.id, currency, total, now)
        .map_err(refuse)?;
    Ok(Some(PromoClaim { code, discount }))
}

/// Redeems a claimed code for a booking being written, in the hold's transaction, after the
/// departure's lock: locks the code, checks its rules as they are now and its live counts, and
/// records the redemption. Refused: the hold rolls back.
pub(crate) async fn redeem(
    tx: &mut WriteTx,
    claim: &PromoClaim,
    booking: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let currency = Currency::parse(&booking.currency).map_err(anyhow::Error::msg)?;
    let refuse = |refusal: Refusal| refusal.into_error(currency.as_str());
    let code = store_promos::lock(tx, &claim.code.id)
        .await?
        .ok_or_else(|| refuse(Refusal::Unknown))?;
    // The discount and the tour never change; the window, the minimum and `active` may have.
    let discount = code
        .rules
        .discount_for(&booking.tour_id, &currency, booking.subtotal(), now)
        .map_err(refuse)?;
    if discount != claim.discount {
        return Err(refuse(Refusal::NotValidNow));
    }
    let (live, theirs) =
        store_promos::live_counts(tx, &code.id, &booking.customer.email, now).await?;
    code.rules.check_counts(live, theirs).map_err(refuse)?;
    store_promos::touch(tx, &code.id).await?;
    let redemption = Redemption {
        booking: &booking.id,
        code: &code.id,
        operator: &booking.operator_id,
        email: &booking.customer.email,
        discount,
    };
    store_promos::redeem(tx, &redemption, now).await?;
    Ok(())
}

/// Releases the redemptions of bookings whose seats were just released, in that transaction.
pub(crate) async fn release(
    tx: &mut WriteTx,
    bookings: &[BookingId],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !bookings.is_empty() {
        store_promos::release(tx, bookings, now).await?;
    }
    Ok(())
}

/// A late payment is about to take a booking's seats back: its code, if it had one, must still
/// be usable now (switched on, within its window) and have room for it again, counted by the
/// email it was redeemed with. Locks the code (after the departure, as every writer does) and
/// counts it again when it fits; `false` otherwise (the payment is then refunded like one that
/// found the departure sold out).
pub(crate) async fn reclaim(
    tx: &mut WriteTx,
    booking: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if booking.promo.is_none() {
        return Ok(true);
    }
    let Some((id, email)) = store_promos::redeemed_by(tx, &booking.id).await? else {
        return Ok(true);
    };
    let Some(code) = store_promos::lock(tx, &id).await? else {
        return Ok(false);
    };
    if code.rules.usable_at(now).is_err() {
        return Ok(false);
    }
    let (live, theirs) = store_promos::live_counts(tx, &id, &email, now).await?;
    if code.rules.check_counts(live, theirs).is_err() {
        return Ok(false);
    }
    store_promos::touch(tx, &id).await?;
    store_promos::reinstate(tx, &booking.id).await?;
    Ok(true)
}
