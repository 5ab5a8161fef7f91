//! Taking seats: placing a hold (within what one client may hold at once), and releasing holds
//! whose time is up.

mod batch;
mod limits;
mod rows;
pub mod waitlist;

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use self::batch::{hold_in_batch, Batched, BatchedHold};
use self::limits::{check_limits, Holder};
pub use self::limits::{observe_holders, purge_idle_holders, Requester};
use self::rows::{write_hold, HoldRows};
use super::idempotency::Claim;
use super::payments::{self, PaymentSummary, Payments};
use super::plans::release_lapsed;
use super::promos::{self, PromoClaim};
use super::resources::Draws;
use super::{finish, with_retry};
use crate::domain::booking::BookingStatus;
use crate::domain::capacity::Occupancy;
use crate::domain::customer::{CustomerName, Email, Phone};
use crate::domain::ids::{BookingId, BookingRef, DepartureId, WaitlistEntryId};
use crate::domain::lang::Lang;
use crate::domain::pricing::{quote, ItemRequest};
use crate::domain::records::{AppliedPromo, BookingRecord, Customer};
use crate::domain::reseller::Resale;
use crate::domain::waitlist::owed;
use crate::error::{AppError, Problems};
use crate::secrets;
use crate::storage::{
    bookings, departures, payments as store_payments, waitlist as store_waitlist, Store,
};

/// `POST /v1/bookings`. Unknown fields (a `price`, a `total`) are refused: prices are the
/// server's to compute.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"departure_id": "01JD3Z8Q4W7N5X2R6T9V0B1C3D", "items": [{"unit": "adult", "quantity": 2}, {"unit": "child", "quantity": 1}], "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+351912345678"}}))]
pub struct HoldRequest {
    /// `occurrence_id` (its name before 0.2) is still accepted, deprecated.
    #[serde(alias = "occurrence_id")]
    pub departure_id: String,
    pub items: Vec<ItemRequest>,
    pub customer: CustomerRequest,
    /// A promo code of the tour's operator, matched without regard to case. Refused with a
    /// `422` whose code says why (`promo_code_unknown`, `promo_code_exhausted`, …).
    #[serde(default)]
    #[schema(example = "SUMMER10")]
    pub promo_code: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRequest {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// The language of the traveler's emails and SMS (`en`, `es`; a tag such as `es-MX` counts
    /// by its primary subtag). Absent: the request's `Accept-Language`, else English.
    #[serde(default)]
    #[schema(example = "es")]
    pub language: Option<String>,
}

/// Renders the HTTP response of a new hold (booking, access token, payment), so it can be
/// stored under an idempotency key in the transaction that completes the hold.
pub type RenderHold<'a> =
    &'a (dyn Fn(&BookingRecord, &str, &PaymentSummary) -> (u16, String) + Send + Sync);

/// A new hold and the traveler's access token, which exists only in this value.
pub struct PlacedHold {
    pub booking: BookingRecord,
    pub access_token: String,
    pub payment: PaymentSummary,
}

fn parse_customer(request: &CustomerRequest) -> Result<Customer, AppError> {
    let mut p = Problems::new();
    let name = p.check("customer.name", CustomerName::parse(&request.name));
    let email = p.check("customer.email", Email::parse(&request.email));
    let phone = match request
        .phone
        .as_deref()
        .filter(|phone| !phone.trim().is_empty())
    {
        Some(text) => p.check("customer.phone", Phone::parse(text)).map(Some),
        None => Some(None),
    };
    let language = p.check(
        "customer.language",
        Lang::of_traveler(request.language.as_deref()),
    );
    p.into_result()?;
    match (name, email, phone, language) {
        (Some(name), Some(email), Some(phone), Some(language)) => Ok(Customer {
            name: name.as_str().to_owned(),
            email: email.as_str().to_owned(),
            phone: phone.map(|p| p.as_str().to_owned()),
            language,
        }),
        _ => Err(AppError::invalid("customer", "is invalid")),
    }
}

/// Holds seats on a departure for `hold_ttl`, with no per-client limits (see
/// [`place_hold_for`], which the API uses).
pub async fn place_hold(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    hold_ttl: Duration,
    request: HoldRequest,
    idempotent: Option<(&Claim, RenderHold<'_>)>,
) -> Result<PlacedHold, AppError> {
    place_hold_for(
        store,
        payments,
        now,
        hold_ttl,
        request,
        idempotent,
        Requester::UNLIMITED,
    )
    .await
}

/// Holds seats on a departure for `hold_ttl`, unless the requester already holds as much as
/// the hold limits allow (`429 hold_limit_reached`). Everything that can be computed without
/// the lock (validation, the price, ids, the token) is, so the locked section stays short.
///
/// With an idempotency claim, the rendered response is stored in the same transaction as the
/// booking: a retry after a crash finds both or neither. Paid online, the response holds the
/// payment's client secret, so it is stored with the payment, after the provider answered.
pub async fn place_hold_for(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    hold_ttl: Duration,
    request: HoldRequest,
    idempotent: Option<(&Claim, RenderHold<'_>)>,
    requester: Requester<'_>,
) -> Result<PlacedHold, AppError> {
    let departure_id = DepartureId::parse(&request.departure_id)
        .ok_or_else(|| AppError::invalid("departure_id", "is not a departure id"))?;
    let customer = parse_customer(&request.customer)?;
    if let Some((claim, render)) = idempotent {
        if let Some(booking) = claim.resumes.as_deref() {
            if let Some(resumed) = resume(store, payments, now, booking, claim, render).await? {
                return Ok(resumed);
            }
        }
    }
    take_seats(
        store,
        payments,
        now,
        hold_ttl,
        NewHold {
            departure_id,
            customer,
            items: &request.items,
            resale: None,
            promo_code: request.promo_code.as_deref(),
            waitlist: None,
        },
        idempotent,
        requester,
    )
    .await
}

/// What a hold is for, checked: the departure, the traveller, the units and, for a reseller's
/// booking, what it carries (paid on account: no payment is started).
pub struct NewHold<'a> {
    pub departure_id: DepartureId,
    pub customer: Customer,
    pub items: &'a [ItemRequest],
    pub resale: Option<&'a Resale>,
    /// The traveler's promo code, as typed.
    pub promo_code: Option<&'a str>,
    /// An offer to this entry of the departure's waiting line: its seats are owed to it (see
    /// `service::waitlist`), and the entry is marked offered with the hold.
    pub waitlist: Option<&'a WaitlistEntryId>,
}

/// A reseller's hold: no payment (the reseller pays on account), no per-client limits (the
/// reseller's key has its own rate limit), and its resale row written with the booking. A
/// second hold under the reseller's same uuid is refused with `booking_uuid_taken`, and nothing
/// of it is kept.
pub async fn place_resale_hold(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    hold_ttl: Duration,
    hold: NewHold<'_>,
) -> Result<BookingRecord, AppError> {
    take_seats(
        store,
        payments,
        now,
        hold_ttl,
        hold,
        None,
        Requester::UNLIMITED,
    )
    .await
    .map(|placed| placed.booking)
}

/// The uuid a reseller's hold was made under is already one of its bookings.
pub const UUID_TAKEN: &str = "booking_uuid_taken";

async fn take_seats(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    hold_ttl: Duration,
    hold: NewHold<'_>,
    idempotent: Option<(&Claim, RenderHold<'_>)>,
    requester: Requester<'_>,
) -> Result<PlacedHold, AppError> {
    let NewHold {
        departure_id,
        customer,
        items,
        resale,
        promo_code,
        waitlist,
    } = hold;
    let departure = departures::get(store, &departure_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    // The tour and what its departures draw on shared resources, read at once (two pooled
    // connections, one wait): every hold pays for these reads before its transaction.
    let (tour, draws_read) = tokio::try_join!(
        super::catalogue::tour(store, &departure.tour_id),
        Draws::of_tour(store, &departure.tour_id)
    )?;
    let draws_read = std::sync::Mutex::new(Some(draws_read));
    if tour.archived_at.is_some() {
        return Err(AppError::SalesClosed {
            reason: "the tour is no longer sold",
        });
    }
    let quote = quote(&tour.tour, &departure.prices(&tour), items)?;
    let promo = promos::claim(store, &tour, quote.total, promo_code, now).await?;
    let discount = promo.as_ref().map_or(0, |claim| claim.discount);
    let (access_token, access_token_hash) = secrets::generate_token("bkt_");
    let cutoff = tour.tour.cutoff_minutes;
    // Paid through the operator's own account, else the instance's, else on arrival; a
    // reseller's booking is paid on account.
    let gateway = match resale {
        Some(_) => None,
        None => payments.for_operator(store, &tour.operator_id).await?,
    };
    let provider = gateway.as_ref().map(|g| g.provider.as_ref());
    let account = gateway.as_ref().and_then(|g| g.account.as_ref());
    // Paid online: the payment row names the provider and the operator's own account.
    // Nothing to pay (a code took everything off): nothing is started at the provider.
    let provider = provider.filter(|_| quote.total > discount);
    let paid = provider.map(|p| (p.name(), account));
    let sales_open_until = now + Duration::minutes(i64::from(cutoff));
    let holder = Holder::of(&requester, &customer.email);
    let limited = !requester.limits.is_off();

    // One id for every attempt: when a commit's answer is lost in flight, the next attempt
    // looks the booking up by this id and returns it if the commit landed, instead of holding a
    // second time.
    let booking_id = BookingId::generate();
    // An offer to the waiting line always takes the lock: what is owed is decided there.
    let plainly_fits = waitlist.is_none()
        && departure
            .occupancy
            .fits_without_release(quote.seats, cutoff, now);
    let commit_lost = AtomicBool::new(false);
    let placed = with_retry(store, || async {
        // Read anew for each attempt after the first: an attempt refused because an assignment
        // changed must see the change.
        let first = draws_read
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let draws = match first {
            Some(draws) => draws,
            None => Draws::of_tour(store, &tour.id).await?,
        };
        let on_resources = !draws.seat_resources(&departure).is_empty();
        if commit_lost.load(Ordering::SeqCst) {
            if let Some(landed) = bookings::find_by_id(store, booking_id.as_str()).await? {
                tracing::info!(booking = %landed.reference, "a hold whose commit answer was lost had been made");
                return Ok(landed);
            }
        }
        let booking = BookingRecord {
            id: booking_id.clone(),
            // Fresh per attempt: a (very rare) reference collision is retried like contention.
            reference: BookingRef::generate(),
            access_token_hash: access_token_hash.clone(),
            departure_id: departure_id.clone(),
            tour_id: tour.id.clone(),
            operator_id: tour.operator_id.clone(),
            status: BookingStatus::Held,
            seats: quote.seats,
            total: quote.total - discount,
            currency: tour.tour.currency.to_string(),
            promo: promo.as_ref().map(|claim| AppliedPromo {
                code: claim.code.rules.code.clone(),
                discount,
            }),
            customer: customer.clone(),
            expires_at: Some(now + hold_ttl),
            cancel_reason: None,
            created_at: now,
            updated_at: now,
            items: quote.lines.clone(),
        };
        let rows = HoldRows {
            booking: &booking,
            holder: &holder,
            resale,
            promo: promo.as_ref(),
            paid,
            idempotent,
            access_token: &access_token,
            waitlist,
        };
        // The classic order: the departure locked first (run below when needed).
        let classic = async {
            let mut tx = store.begin_write().await?;
            let result = async {
                if limited {
                    check_limits(
                        &mut tx,
                        &holder,
                        requester.limits,
                        &departure_id,
                        quote.seats,
                        now,
                    )
                    .await?;
                }
                // The departure's shared resources are locked before it (see `resources`).
                let resources = draws.lock(&mut tx, &departure).await?;
                // Fast path: one conditional UPDATE takes the seats (and the row lock) when they are
                // plainly free. It states the same rule as `Departure::check_hold`, which stays the
                // authority below for everything else. It never takes seats on a departure that
                // draws on a shared resource.
                if on_resources
                    || waitlist.is_some()
                    || !departures::take_seats_if_free(
                        &mut tx,
                        &departure_id,
                        quote.seats,
                        sales_open_until,
                        now,
                    )
                    .await?
                {
                    let locked = departures::lock(&mut tx, &departure_id)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    let mut occupancy = locked.occupancy;
                    occupancy.resource_room = draws
                        .room_locked(&mut tx, &resources, &locked, now)
                        .await?;
                    // Seats owed to the waiting line are held back (for an offer: those owed to
                    // the others), after lapsed holds are released: what is owed depends on
                    // what is free.
                    let line = store_waitlist::waiting_locked(&mut tx, &departure_id).await?;
                    let hold_back = |occupancy: &mut Occupancy| match waitlist {
                        Some(entry) => super::waitlist::hold_back_for(&line, entry, occupancy),
                        None => {
                            occupancy.held_for_waitlist = owed(occupancy.free(), &line);
                            Ok(())
                        }
                    };
                    let fits = hold_back(&mut occupancy)
                        .and_then(|()| occupancy.check_hold(quote.seats, cutoff, now));
                    if waitlist.is_some() || matches!(fits, Err(AppError::SoldOut { .. })) {
                        // Only a request that does not fit (or an offer) pays for looking at
                        // lapsed holds.
                        let released = release_lapsed(&mut tx, now, &departure_id).await?;
                        occupancy.seats_taken = occupancy.seats_taken.saturating_sub(released);
                    }
                    hold_back(&mut occupancy)?;
                    occupancy.check_hold(quote.seats, cutoff, now)?;
                    departures::add_seats(&mut tx, &departure_id, i64::from(quote.seats), now)
                        .await?;
                }
                write_hold(&mut tx, rows, now).await
            }
            .await;
            // Seats released from lapsed holds stay released even when this request is refused.
            match result {
                Err(error @ (AppError::SoldOut { .. } | AppError::SalesClosed { .. })) => {
                    tx.commit().await?;
                    Err(error)
                }
                other => finish(tx, other).await,
            }
        };
        // On MySQL the seats are taken last ("hot row last"): the booking's rows are written
        // first, so the departure's row lock is held for one statement and the commit instead
        // of for every statement of the hold. When the seats are not plainly free that attempt
        // is rolled back and the hold runs again in the classic order below (lock first, free
        // lapsed holds, check), which alone answers sold out. SQLite admits one writer for the
        // whole transaction, so there the order changes nothing and the classic one runs. A
        // departure that plainly did not fit when read above goes straight to the classic order:
        // the hot attempt would write the booking only to roll it back.
        // A promo code is locked after the departure (the order every writer keeps), so a hold
        // with one takes the classic order too.
        // So does a departure drawing on a shared resource, which is locked before it.
        // So does an offer to the waiting line (never `plainly_fits`).
        // With batching on (both backends), the fast path goes through the departure's batch
        // instead (see `batch`): hot row last, shared by the holds arriving together.
        let fast = plainly_fits && promo.is_none() && !on_resources;
        let hot = if fast && store.hold_batch() > 1 {
            let batched = BatchedHold {
                booking: booking.clone(),
                holder: holder.clone(),
                limits: limited.then_some(*requester.limits),
                resale: resale.cloned(),
                paid: provider.map(|p| (p.name(), account.cloned())),
                // Rendered now only when it is stored with the hold (nothing paid online).
                idempotent: idempotent.map(|(claim, render)| {
                    let response = provider.is_none().then(|| {
                        render(&booking, &access_token, &PaymentSummary::new_hold(None))
                    });
                    (claim.clone(), response)
                }),
                sales_open_until,
                now,
            };
            match hold_in_batch(store, batched).await {
                Ok(Batched::Held) => Some(Ok(())),
                Ok(Batched::Alone) => None,
                Err(error) => Some(Err(error)),
            }
        } else if store.takes_seats_last() && fast {
            let mut tx = store.begin_write().await?;
            let result = async {
                if limited {
                    check_limits(
                        &mut tx,
                        &holder,
                        requester.limits,
                        &departure_id,
                        quote.seats,
                        now,
                    )
                    .await?;
                }
                write_hold(&mut tx, rows, now).await?;
                Ok(departures::take_seats_if_free(
                    &mut tx,
                    &departure_id,
                    quote.seats,
                    sales_open_until,
                    now,
                )
                .await?)
            }
            .await;
            match result {
                Ok(true) => Some(finish(tx, Ok(())).await),
                Ok(false) => {
                    tx.rollback().await?;
                    None
                }
                Err(error) => Some(finish(tx, Err(error)).await),
            }
        } else {
            None
        };
        let outcome = match hot {
            Some(outcome) => {
                drop(classic);
                outcome
            }
            None => classic.await,
        };
        match outcome {
            Ok(()) => Ok(booking),
            // Safe to run again: the booking id decides (see above).
            Err(AppError::CommitUnknown) => {
                commit_lost.store(true, Ordering::SeqCst);
                Err(AppError::Busy)
            }
            // The lost commit may have taken the last seats, or the client's allowance, itself.
            Err(
                error @ (AppError::SoldOut { .. }
                | AppError::SalesClosed { .. }
                | AppError::HoldLimitReached { .. }),
            ) if commit_lost.load(Ordering::SeqCst) =>
            {
                match bookings::find_by_id(store, booking_id.as_str()).await? {
                    Some(landed) => Ok(landed),
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    })
    .await;
    if let Err(AppError::HoldLimitReached {
        identity, scope, ..
    }) = &placed
    {
        store
            .metrics()
            .hold_limit_refusals
            .with_label_values(&[identity, scope])
            .inc();
        tracing::info!(departure = %departure_id, identity, scope, "hold refused: hold limit reached");
    }
    let booking = placed?;
    tracing::info!(
        booking = %booking.reference, departure = %departure_id, seats = booking.seats,
        customer = %crate::domain::customer::mask_email(&booking.customer.email), "booking held"
    );
    let Some(provider) = provider else {
        return Ok(PlacedHold {
            booking,
            access_token,
            payment: PaymentSummary::new_hold(None),
        });
    };
    let created = payments::create_payment(store, provider, &booking, &tour.tour.name, now).await?;
    let render_with = idempotent.map(|(claim, render)| {
        let token = access_token.clone();
        let render_payment =
            move |booking: &BookingRecord, payment: &store_payments::PaymentRow| {
                render(booking, &token, &PaymentSummary::new_hold(Some(payment)))
            };
        (claim, render_payment)
    });
    let (booking, payment) = payments::store_payment(
        store,
        &booking,
        &created,
        now,
        render_with
            .as_ref()
            .map(|(claim, render)| (*claim, render as payments::RenderPaidHold<'_>)),
    )
    .await?;
    Ok(PlacedHold {
        booking,
        access_token,
        payment: PaymentSummary::new_hold(Some(&payment)),
    })
}

/// Carries on with a paid hold whose request stalled after the hold was made (a crash, a cut
/// connection) and whose claim a retry of the same request took over: the same booking, the
/// same payment at the provider (its key derives from the booking), and a new access token, since the
/// first never reached the client. `None` when that hold is gone (lapsed or released): the
/// retry then holds afresh.
async fn resume(
    store: &Store,
    payments: &Payments,
    now: DateTime<Utc>,
    booking: &str,
    claim: &Claim,
    render: RenderHold<'_>,
) -> Result<Option<PlacedHold>, AppError> {
    let Some(booking) = bookings::find_by_id(store, booking).await? else {
        return Ok(None);
    };
    // The account the hold's payment was started under, whatever is in force now.
    let Some(payment) = store_payments::get(store, &booking.id).await? else {
        return Ok(None);
    };
    let Some(gateway) = payments.for_payment(store, &payment).await? else {
        return Ok(None);
    };
    let provider = gateway.provider.as_ref();
    let Some(access_token) = reissue_access_token(store, now, &booking.id).await? else {
        return Ok(None);
    };
    tracing::info!(booking = %booking.reference, "resuming a paid hold whose request stalled");
    let tour = super::catalogue::tour(store, &booking.tour_id).await?;
    let created = payments::create_payment(store, provider, &booking, &tour.tour.name, now).await?;
    let token = access_token.clone();
    let render_payment = move |booking: &BookingRecord, payment: &store_payments::PaymentRow| {
        render(booking, &token, &PaymentSummary::new_hold(Some(payment)))
    };
    let (booking, payment) = payments::store_payment(
        store,
        &booking,
        &created,
        now,
        Some((claim, &render_payment as payments::RenderPaidHold<'_>)),
    )
    .await?;
    Ok(Some(PlacedHold {
        booking,
        access_token,
        payment: PaymentSummary::new_hold(Some(&payment)),
    }))
}

/// A new access token for a live hold, replacing the one it had (which stops working): for a
/// client that never received the first (a stalled request, a hold berth placed for a traveler
/// on a waiting line). `None` when the booking is no longer a live hold.
pub async fn reissue_access_token(
    store: &Store,
    now: DateTime<Utc>,
    booking: &BookingId,
) -> Result<Option<String>, AppError> {
    let (access_token, access_token_hash) = secrets::generate_token("bkt_");
    let live = transaction!(store, |tx| {
        let current = bookings::lock(&mut tx, booking)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.status != BookingStatus::Held || current.is_lapsed_hold(now) {
            return Ok(false);
        }
        bookings::set_access_token_hash(&mut tx, booking, &access_token_hash).await?;
        Ok(true)
    })
    .await?;
    Ok(live.then_some(access_token))
}

/// Releases lapsed holds everywhere; returns how many departures were processed. Safe on
/// several instances at once: each departure is locked (MySQL: skipped if another instance
/// holds it) and only holds still `held` under that lock are released.
pub async fn release_expired_holds(store: &Store, now: DateTime<Utc>) -> Result<usize, AppError> {
    let candidates = bookings::departures_with_lapsed_holds(store, now, 500).await?;
    let mut processed = 0;
    for id in candidates {
        let done = transaction!(store, |tx| {
            if departures::try_lock(&mut tx, &id).await?.is_none() {
                return Ok(false);
            }
            release_lapsed(&mut tx, now, &id).await?;
            Ok(true)
        })
        .await;
        // One departure that fails must not stop the others from being released.
        match done {
            Ok(done) => processed += usize::from(done),
            Err(error) => {
                tracing::warn!(departure = %id, %error, "could not release lapsed holds")
            }
        }
    }
    Ok(processed)
}
