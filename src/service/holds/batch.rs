//! Holds of one departure committed together: group commit, in the application.
//!
//! A hot departure sells as fast as its row lock can be taken and let go. With one booking per
//! transaction every hold pays for the lock, the guarded `UPDATE` and a commit on its own. Here
//! the holds of a departure that arrive while a transaction of that departure is in flight wait
//! for the next one, which writes all their rows, takes the seats for all of them with one
//! guarded `UPDATE` (the only arbiter of a seat, as it is for a single hold) and commits once.
//!
//! - A hold that finds no batch of its departure in flight goes at once: an idle system waits
//!   for nothing. A batch never waits to fill up; it is what arrived during the last one.
//! - A batch takes at most `BERTH_HOLD_BATCH` holds; the rest wait for the next.
//! - The holds' limits are checked together (their clients' lock rows taken in one statement,
//!   in key order; what they hold read once per identity; each hold judged in arrival order)
//!   and the rows of those that pass written together, a multi-row `INSERT` per kind of row.
//!   When that fails on one hold's account (a reference or reseller uuid taken), each hold's
//!   rows are written under a savepoint instead: one that fails (its client's hold limit, a
//!   reference collision) is undone alone and answered its own error; the others go on.
//! - When the batch's seats do not fit together, it is rolled back and each of its holds runs
//!   alone in the classic order (lock, release lapsed holds, check), which sells what is left
//!   and answers `sold_out` with the true availability. So near the last seats holds are placed
//!   one by one, as before batching.
//! - Nothing is answered before the commit, so a crash loses only holds nobody was told of.
//! - Several berth processes stay correct: their batches serialize on the departure's row.
//!
//! Only holds that take the fast path batch (no promo code, no shared resource, no waiting
//! line, plainly fitting when read); the others run as before. The batches of a departure run
//! in a task of their own, started by the hold that finds none running, so a request that goes
//! away does not take its batch down with it; a hold whose client has gone before its batch
//! starts is not written.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::limits::{check_limits, check_limits_together, Holder, LimitedHold};
use super::rows::{write_hold, write_hold_extras, HoldRows};
use super::RenderHold;
use crate::domain::hold_limits::HoldLimits;
use crate::domain::ids::{DepartureId, PaymentAccountId};
use crate::domain::records::BookingRecord;
use crate::domain::reseller::Resale;
use crate::error::AppError;
use crate::service::idempotency::Claim;
use crate::service::payments::PaymentSummary;
use crate::service::webhooks::events;
use crate::storage::{bookings as store_bookings, departures, StorageError, Store, WriteTx};

/// One hold, ready to be written by whichever task runs its batch: everything it needs, owned.
pub(super) struct BatchedHold {
    pub booking: BookingRecord,
    pub holder: Holder,
    /// The client's hold limits, when they apply.
    pub limits: Option<HoldLimits>,
    pub resale: Option<Resale>,
    /// Paid online: the provider's name and the operator's account.
    pub paid: Option<(&'static str, Option<PaymentAccountId>)>,
    /// The request's idempotency claim and, when nothing is paid online, the response to store
    /// with the hold (a paid hold stores its response with the payment, later).
    pub idempotent: Option<(Claim, Option<(u16, String)>)>,
    /// The departure must start after this for its sales to be open.
    pub sales_open_until: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// What became of a batched hold.
#[derive(Debug, Clone, Copy)]
pub(super) enum Batched {
    /// Committed: the seats are the hold's.
    Held,
    /// Its batch did not fit together: nothing was written, the hold must run alone.
    Alone,
}

type Answer = Result<Batched, AppError>;

struct Queued {
    hold: BatchedHold,
    answer: oneshot::Sender<Answer>,
}

/// The holds waiting for their departure's next batch, per store and departure. A departure has
/// an entry exactly while a task runs its batches.
type Key = (u64, DepartureId);
static WAITING: LazyLock<Mutex<HashMap<Key, VecDeque<Queued>>>> = LazyLock::new(Default::default);

fn waiting() -> MutexGuard<'static, HashMap<Key, VecDeque<Queued>>> {
    // Nothing panics while holding it; if something did, the queues are still whole.
    WAITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `hold` in its departure's next batch and answers once that batch is decided.
pub(super) async fn hold_in_batch(store: &Store, hold: BatchedHold) -> Answer {
    let key = (store.instance(), hold.booking.departure_id.clone());
    let (answer, answered) = oneshot::channel();
    let start = {
        let mut waiting = waiting();
        store.metrics().holds_queued.inc();
        let queued = Queued { hold, answer };
        match waiting.get_mut(&key) {
            Some(queue) => {
                queue.push_back(queued);
                false
            }
            None => {
                waiting.insert(key.clone(), VecDeque::from([queued]));
                true
            }
        }
    };
    if start {
        tokio::spawn(run_batches(store.clone(), key));
    }
    // The task ended without answering (the runtime stopping during a commit): whether the hold
    // landed is unknown, so the caller looks for it before trying again.
    answered.await.unwrap_or(Err(AppError::CommitUnknown))
}

/// Runs the departure's batches until no hold waits, then lets the next hold start a new task.
async fn run_batches(store: Store, key: Key) {
    let mut lane = Lane {
        key: key.clone(),
        store: store.clone(),
        open: true,
        in_flight: 0,
    };
    loop {
        let batch: Vec<Queued> = {
            let mut waiting = waiting();
            let Some(queue) = waiting.get_mut(&key) else {
                lane.open = false;
                return;
            };
            let before = queue.len();
            queue.retain(|queued| !queued.answer.is_closed());
            store
                .metrics()
                .holds_queued
                .sub((before - queue.len()) as i64);
            let taken = queue.len().min(store.hold_batch());
            let batch: Vec<Queued> = queue.drain(..taken).collect();
            if batch.is_empty() {
                waiting.remove(&key);
                lane.open = false;
                return;
            }
            batch
        };
        let (holds, answers): (Vec<BatchedHold>, Vec<_>) = batch
            .into_iter()
            .map(|queued| (queued.hold, queued.answer))
            .unzip();
        lane.in_flight = answers.len();
        let decided = match write_batch(&store, &holds).await {
            Ok(decided) => decided,
            Err(error) => holds.iter().map(|_| each(&error)).collect(),
        };
        store.metrics().holds_queued.sub(answers.len() as i64);
        lane.in_flight = 0;
        for (answer, decided) in answers.into_iter().zip(decided) {
            // A client that went away meanwhile: its hold lapses like any unpaid one.
            let _ = answer.send(decided);
        }
    }
}

/// Closes a departure's queue if its task ends early (a panic): the holds still queued are
/// dropped, so their requests learn that their outcome is unknown and look for it, and they and
/// the batch being written leave `berth_holds_queued`.
struct Lane {
    key: Key,
    store: Store,
    open: bool,
    /// Holds of the batch being written.
    in_flight: usize,
}

impl Drop for Lane {
    fn drop(&mut self) {
        if self.open {
            let queued = waiting().remove(&self.key).map_or(0, |queue| queue.len());
            let gone = i64::try_from(queued + self.in_flight).unwrap_or(i64::MAX);
            self.store.metrics().holds_queued.sub(gone);
        }
    }
}

/// What a hold of a batch that ended in an error is told: to try again after contention, to
/// look for its booking after a lost commit, and otherwise to run alone, where its own request
/// meets the error (or not) and is answered for itself, never for another hold of the batch.
fn each(error: &AppError) -> Answer {
    match error {
        AppError::Busy => Err(AppError::Busy),
        AppError::CommitUnknown => Err(AppError::CommitUnknown),
        _ => Ok(Batched::Alone),
    }
}

/// One transaction for the batch: each hold's rows under a savepoint of its own and the seats of
/// all of them taken together by the guarded `UPDATE`, then one commit. On MySQL the seats are
/// taken last (hot row last, as for a single hold). SQLite's one writer holds the whole
/// transaction anyway, so there they are taken first, which also keeps a hold from writing rows
/// for a departure a schedule change has just removed (its foreign key would fail).
///
/// Boxed: the batch runs in a spawned task, and the compiler cannot otherwise see that this
/// future is `Send` for every lifetime of its borrows.
fn write_batch<'a>(
    store: &'a Store,
    holds: &'a [BatchedHold],
) -> Pin<Box<dyn Future<Output = Result<Vec<Answer>, AppError>> + Send + 'a>> {
    Box::pin(write_batch_now(store, holds))
}

async fn write_batch_now(store: &Store, holds: &[BatchedHold]) -> Result<Vec<Answer>, AppError> {
    let Some(first) = holds.first() else {
        return Ok(Vec::new());
    };
    let departure = &first.booking.departure_id;
    let seats_last = store.takes_seats_last();
    // The latest clock of the batch: a hold read a moment earlier is judged no more kindly.
    let sales_open_until = holds.iter().map(|h| h.sales_open_until).max();
    let sales_open_until = sales_open_until.unwrap_or(first.sales_open_until);
    let now = holds.iter().map(|h| h.now).max().unwrap_or(first.now);
    let mut tx = store.begin_write().await?;
    let written = async {
        let all: u32 = holds.iter().map(|h| h.booking.seats).sum();
        if !seats_last
            && !departures::take_seats_if_free(&mut tx, departure, all, sales_open_until, now)
                .await?
        {
            return Ok(None);
        }
        let mut own: Vec<Option<AppError>> = Vec::with_capacity(holds.len());
        let mut seats = 0;
        if holds.len() > 1 {
            let point = tx.savepoint().await?;
            let limited: Vec<LimitedHold<'_>> = holds
                .iter()
                .map(|hold| LimitedHold {
                    holder: &hold.holder,
                    limits: hold.limits.as_ref(),
                    seats: hold.booking.seats,
                    expires_at: hold.booking.expires_at,
                })
                .collect();
            let refused = check_limits_together(&mut tx, &limited, departure, now).await?;
            let passed: Vec<&BatchedHold> = holds
                .iter()
                .zip(&refused)
                .filter_map(|(hold, refused)| refused.is_none().then_some(hold))
                .collect();
            if write_together(&mut tx, &passed, now).await? {
                tx.keep(point).await?;
                seats = passed.iter().map(|hold| hold.booking.seats).sum();
                own = refused;
            } else {
                tx.undo_to(point).await?;
            }
        }
        // Written together, nothing is left; else each hold under a savepoint of its own.
        for hold in holds.iter().skip(own.len()) {
            let point = tx.savepoint().await?;
            match write_one(&mut tx, hold).await {
                Ok(()) => {
                    tx.keep(point).await?;
                    seats += hold.booking.seats;
                    own.push(None);
                }
                // A storage error can leave the transaction unusable (a deadlock rolls it all
                // back on MySQL): the batch ends (see `each`).
                Err(error @ (AppError::Busy | AppError::CommitUnknown | AppError::Internal(_))) => {
                    return Err(error)
                }
                Err(error) => {
                    tx.undo_to(point).await?;
                    own.push(Some(error));
                }
            }
        }
        // Every hold refused on its own account: nothing to take, the refusals stand.
        let fits = if seats_last {
            seats == 0
                || departures::take_seats_if_free(&mut tx, departure, seats, sales_open_until, now)
                    .await?
        } else {
            // Taken for all above: what the holds refused on their own account took is given back.
            departures::add_seats(&mut tx, departure, i64::from(seats) - i64::from(all), now)
                .await?;
            true
        };
        Ok(fits.then_some(own))
    }
    .await;
    let own = match written {
        Ok(Some(own)) => own,
        Ok(None) => {
            roll_back(tx).await;
            store.metrics().hold_batches_split.inc();
            return Ok(holds.iter().map(|_| Ok(Batched::Alone)).collect());
        }
        Err(error) => {
            roll_back(tx).await;
            if !matches!(error, AppError::Busy | AppError::CommitUnknown) {
                tracing::warn!(error = %error, holds = holds.len(), "a batch of holds failed; each runs alone");
            }
            return Err(error);
        }
    };
    tx.commit().await?;
    let held = own.iter().filter(|error| error.is_none()).count();
    if held > 0 {
        store
            .metrics()
            .hold_batch_size
            .observe(f64::from(u32::try_from(held).unwrap_or(u32::MAX)));
    }
    Ok(own
        .into_iter()
        .map(|own| match own {
            Some(error) => Err(error),
            None => Ok(Batched::Held),
        })
        .collect())
}

async fn roll_back(tx: WriteTx) {
    if let Err(error) = tx.rollback().await {
        tracing::warn!(error = %error, "rollback failed");
    }
}

/// Writes every hold's rows with a statement per kind of row rather than per hold: one
/// multi-row `INSERT` of the bookings, one of their items, one read of the operator's webhook
/// endpoints (a departure's holds share their operator); their limits were checked together
/// before (`check_limits_together`). On MySQL each statement is a round trip made while the
/// batch's transaction is open, and with one departure's holds serialized behind it they were
/// the limit of a hot departure. `Ok(false)`: a hold was refused on its own account (its
/// reference or its reseller uuid taken); the caller undoes everything written since the limits
/// were checked and writes the holds one by one, so only that hold is refused.
fn write_together<'a>(
    tx: &'a mut WriteTx,
    holds: &'a [&'a BatchedHold],
    now: DateTime<Utc>,
) -> Pin<Box<dyn Future<Output = Result<bool, AppError>> + Send + 'a>> {
    Box::pin(async move {
        let bookings: Vec<_> = holds
            .iter()
            .map(|hold| (&hold.booking, hold.holder.keys()))
            .collect();
        match store_bookings::insert_many(tx, &bookings).await {
            Ok(()) => {}
            Err(StorageError::Duplicate) => return Ok(false),
            Err(error) => return Err(error.into()),
        }
        for hold in holds {
            let stored = |_: &BookingRecord, _: &str, _: &PaymentSummary| hold.stored_response();
            match write_hold_extras(tx, hold.rows(&stored), hold.now).await {
                Ok(()) => {}
                Err(error @ (AppError::Busy | AppError::CommitUnknown | AppError::Internal(_))) => {
                    return Err(error)
                }
                Err(_) => return Ok(false),
            }
        }
        let held: Vec<&BookingRecord> = holds.iter().map(|hold| &hold.booking).collect();
        events::bookings_held(tx, &held, now).await?;
        Ok(true)
    })
}

impl BatchedHold {
    /// The response stored under the hold's idempotency key with the hold (rendered before the
    /// batch, see `take_seats`).
    fn stored_response(&self) -> (u16, String) {
        self.idempotent
            .as_ref()
            .and_then(|(_, response)| response.clone())
            .unwrap_or_default()
    }

    /// The hold's rows as `write_hold` takes them; `stored` renders [`Self::stored_response`].
    fn rows<'a>(&'a self, stored: RenderHold<'a>) -> HoldRows<'a> {
        HoldRows {
            booking: &self.booking,
            holder: &self.holder,
            resale: self.resale.as_ref(),
            promo: None,
            paid: self
                .paid
                .as_ref()
                .map(|(provider, account)| (*provider, account.as_ref())),
            idempotent: self.idempotent.as_ref().map(|(claim, _)| (claim, stored)),
            // Only the response rendered before the batch needed it.
            access_token: "",
            waitlist: None,
        }
    }
}

/// One hold's rows: its client's limits checked, then what `write_hold` writes for any hold.
fn write_one<'a>(
    tx: &'a mut WriteTx,
    hold: &'a BatchedHold,
) -> Pin<Box<dyn Future<Output = Result<(), AppError>> + Send + 'a>> {
    Box::pin(write_one_now(tx, hold))
}

async fn write_one_now(tx: &mut WriteTx, hold: &BatchedHold) -> Result<(), AppError> {
    if let Some(limits) = &hold.limits {
        check_limits(
            tx,
            &hold.holder,
            limits,
            &hold.booking.departure_id,
            hold.booking.seats,
            hold.now,
        )
        .await?;
    }
    let stored = |_: &BookingRecord, _: &str, _: &PaymentSummary| hold.stored_response();
    write_hold(tx, hold.rows(&stored), hold.now).await
}
