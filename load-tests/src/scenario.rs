//! The traffic. Closed-model scenarios (`rush`, `spread`, `ceiling`) run `concurrency` workers
//! that each send the next request as soon as the last one is answered; `mixed` is an open
//! model: arrivals are scheduled at the target rate whether or not earlier ones were answered.
//! Every scenario stops at `requests` or at the wall-clock limit, whichever comes first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::api::{Api, Outcome};
use crate::fixtures::Fixtures;
use crate::ledger::{Entry, Ledger, State};
use crate::stats::Recorder;

/// What every scenario gets.
pub struct Context {
    pub api: Api,
    pub recorder: Arc<Recorder>,
    pub ledger: Arc<Ledger>,
    pub fixtures: Option<Arc<Fixtures>>,
    pub concurrency: usize,
    pub requests: u64,
    pub deadline: Instant,
    pub seed: u64,
}

/// A random booking request: 1..=max seats split over the fixture's units.
pub fn hold_body(rng: &mut StdRng, fixtures: &Fixtures, departure: &str, n: u64) -> (Value, u64) {
    let quantity = rng.gen_range(1..=u64::from(fixtures.max_quantity.max(1)));
    let first = rng.gen_range(0..=quantity);
    let items: Vec<Value> = fixtures
        .units
        .iter()
        .zip([first, quantity - first])
        .filter(|(_, q)| *q > 0)
        .map(|(unit, q)| json!({"unit": unit, "quantity": q}))
        .collect();
    let body = json!({
        "departure_id": departure,
        "items": items,
        "customer": {"name": format!("Load Tester {n}"), "email": format!("load+{n}@example.com")}
    });
    (body, quantity)
}

/// Sends one hold and records it in the stats and, on 201, in the ledger. Returns the booking's
/// reference and access token when it was created.
pub async fn hold(
    ctx: &Context,
    rng: &mut StdRng,
    departure: &str,
    n: u64,
) -> Option<(String, String)> {
    let fixtures = ctx.fixtures.as_deref()?;
    let (body, quantity) = hold_body(rng, fixtures, departure, n);
    let (outcome, latency) = Api::send(ctx.api.hold(&body)).await;
    let created = matches!(&outcome, Ok(r) if r.status == 201);
    ctx.recorder.record("hold", &outcome, latency, created);
    match outcome {
        Ok(reply) if created => {
            let reference = reply.str("reference").unwrap_or("").to_owned();
            let token = reply.str("access_token").unwrap_or("").to_owned();
            let seats = reply.u64("seats").unwrap_or(0);
            if seats != quantity || reference.is_empty() {
                ctx.ledger.wrong_seats(format!(
                    "hold on {departure}: asked for {quantity} seats, 201 with seats {seats} and reference {reference:?}"
                ));
            }
            ctx.ledger.held(Entry {
                reference: reference.clone(),
                departure_id: departure.to_owned(),
                seats,
                state: State::Held,
                uncertain: false,
            });
            Some((reference, token))
        }
        Ok(_) => None,
        Err(_) => {
            ctx.ledger.unanswered_hold(departure);
            None
        }
    }
}

/// Runs `concurrency` closed-loop workers; each calls `step(worker, request number)` until the
/// request budget or the deadline is used up.
async fn closed_loop<F, Fut>(ctx: Arc<Context>, step: F)
where
    F: Fn(Arc<Context>, usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let step = Arc::new(step);
    let workers: Vec<_> = (0..ctx.concurrency)
        .map(|worker| {
            let (ctx, next, step) = (ctx.clone(), next.clone(), step.clone());
            tokio::spawn(async move {
                loop {
                    if Instant::now() >= ctx.deadline {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= ctx.requests {
                        break;
                    }
                    step(ctx.clone(), worker, n).await;
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
}

fn worker_rng(seed: u64, worker: usize, n: u64) -> StdRng {
    StdRng::seed_from_u64(
        seed ^ (worker as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.rotate_left(32),
    )
}

/// One departure, every client racing for it.
pub async fn rush(ctx: Arc<Context>) {
    closed_loop(ctx, |ctx, worker, n| async move {
        let mut rng = worker_rng(ctx.seed, worker, n);
        if let Some(departure) = ctx.fixtures.as_ref().map(|f| f.departures[0].id.clone()) {
            hold(&ctx, &mut rng, &departure, n).await;
        }
    })
    .await;
}

/// Requests spread at random over many departures: the uncontended path.
pub async fn spread(ctx: Arc<Context>) {
    closed_loop(ctx, |ctx, worker, n| async move {
        let mut rng = worker_rng(ctx.seed, worker, n);
        let Some(fixtures) = ctx.fixtures.clone() else {
            return;
        };
        let departure = &fixtures.departures[rng.gen_range(0..fixtures.departures.len())].id;
        hold(&ctx, &mut rng, departure, n).await;
    })
    .await;
}

/// The HTTP ceiling: the same client, a route that touches nothing.
pub async fn ceiling(ctx: Arc<Context>, path: String) {
    let path = Arc::new(path);
    closed_loop(ctx, move |ctx, _, _| {
        let path = path.clone();
        async move {
            let (outcome, latency) = Api::send(ctx.api.get(&path)).await;
            ctx.recorder.record("ceiling", &outcome, latency, false);
        }
    })
    .await;
}

/// Bookings the mixed scenario can still confirm or cancel.
#[derive(Default)]
struct Pools {
    held: Vec<(String, String)>,
    confirmed: Vec<(String, String)>,
}

/// Realistic traffic at `rate` arrivals per second (open model): 50 % reads (a departure or a
/// tour's availability), 30 % holds, 10 % confirms, 10 % cancels. Holds that are never confirmed
/// or cancelled expire after the server's hold TTL, when the run is longer than that.
pub async fn mixed(ctx: Arc<Context>, rate: f64) {
    let in_flight = Arc::new(Semaphore::new(ctx.concurrency.max(1)));
    let pools = Arc::new(Mutex::new(Pools::default()));
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..ctx.requests {
        let at = start + interval.mul_f64(n as f64);
        if at.into_std() >= ctx.deadline {
            break;
        }
        tokio::time::sleep_until(at).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            ctx.recorder.record_dropped();
            continue;
        };
        let (ctx, pools) = (ctx.clone(), pools.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let mut rng = worker_rng(ctx.seed, 0, n);
            mixed_step(&ctx, &pools, &mut rng, n).await;
        });
        // Reap finished tasks as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

async fn mixed_step(ctx: &Context, pools: &Mutex<Pools>, rng: &mut StdRng, n: u64) {
    let Some(fixtures) = ctx.fixtures.clone() else {
        return;
    };
    let departure = fixtures.departures[rng.gen_range(0..fixtures.departures.len())]
        .id
        .clone();
    let roll = rng.gen_range(0..100);
    let lock = || pools.lock().unwrap_or_else(|p| p.into_inner());
    if roll < 50 {
        let request = if roll < 25 {
            ctx.api.departure(&departure)
        } else {
            ctx.api.availability(&fixtures.tour_id)
        };
        let (outcome, latency) = Api::send(request).await;
        ctx.recorder.record("read", &outcome, latency, false);
        return;
    }
    if roll >= 80 {
        let picked = {
            let mut pools = lock();
            if roll < 90 {
                take_random(&mut pools.held, rng).map(|b| (b, true))
            } else {
                let from_held = rng.gen_bool(0.5) && !pools.held.is_empty();
                let list = if from_held || pools.confirmed.is_empty() {
                    &mut pools.held
                } else {
                    &mut pools.confirmed
                };
                take_random(list, rng).map(|b| (b, false))
            }
        };
        if let Some(((reference, token), confirm)) = picked {
            if confirm {
                let (outcome, latency) = Api::send(ctx.api.confirm(&reference, &token)).await;
                ctx.recorder.record("confirm", &outcome, latency, false);
                after_change(ctx, &outcome, &reference, State::Confirmed);
                if matches!(&outcome, Ok(r) if r.status == 200) {
                    lock().confirmed.push((reference, token));
                }
            } else {
                let (outcome, latency) = Api::send(ctx.api.cancel(&reference, &token)).await;
                ctx.recorder.record("cancel", &outcome, latency, false);
                after_change(ctx, &outcome, &reference, State::Cancelled);
            }
            return;
        }
    }
    if let Some(booking) = hold(ctx, rng, &departure, n).await {
        lock().held.push(booking);
    }
}

/// Updates the ledger after a confirm or cancel: 200 moves the state, no response makes it
/// uncertain (the verifier then asks berth), any other answer leaves it as it was.
fn after_change(ctx: &Context, outcome: &Outcome, reference: &str, to: State) {
    match outcome {
        Ok(reply) if reply.status == 200 => ctx.ledger.set_state(reference, to),
        Ok(_) => {}
        Err(_) => ctx.ledger.set_uncertain(reference),
    }
}

fn take_random<T>(list: &mut Vec<T>, rng: &mut StdRng) -> Option<T> {
    if list.is_empty() {
        None
    } else {
        let i = rng.gen_range(0..list.len());
        Some(list.swap_remove(i))
    }
}

/// Every booking sent `copies` times at once with one Idempotency-Key, then once more after all
/// were answered. One key must make at most one booking, every 201 among the copies must carry
/// the same reference, and the late copy must replay the first answer.
pub async fn retry(ctx: Arc<Context>, copies: usize) {
    closed_loop(ctx, move |ctx, worker, n| async move {
        let mut rng = worker_rng(ctx.seed, worker, n);
        let Some(fixtures) = ctx.fixtures.clone() else {
            return;
        };
        let departure = fixtures.departures[rng.gen_range(0..fixtures.departures.len())]
            .id
            .clone();
        let (body, quantity) = hold_body(&mut rng, &fixtures, &departure, n);
        let key = format!("berth-load-{}-{:032x}", fixtures.run_id, rng.gen::<u128>());
        let sends: Vec<_> = (0..copies.max(1))
            .map(|_| {
                let request = ctx.api.hold(&body).header("Idempotency-Key", &key);
                tokio::spawn(Api::send(request))
            })
            .collect();
        let mut answers = Vec::with_capacity(sends.len());
        for (i, send) in sends.into_iter().enumerate() {
            let Ok((outcome, latency)) = send.await else {
                continue;
            };
            let kind = if i == 0 { "hold" } else { "hold_retry" };
            ctx.recorder.record(kind, &outcome, latency, false);
            answers.push(outcome);
        }
        let (late, latency) = Api::send(ctx.api.hold(&body).header("Idempotency-Key", &key)).await;
        ctx.recorder.record("hold_replay", &late, latency, false);
        let verdict = judge_key(&key, &answers, &late);
        for (reference, seats) in &verdict.bookings {
            ctx.recorder.record_booking();
            if *seats != quantity {
                ctx.ledger.wrong_seats(format!(
                    "hold on {departure} (key {key}): asked for {quantity} seats, 201 with {seats}"
                ));
            }
            ctx.ledger.held(Entry {
                reference: reference.clone(),
                departure_id: departure.clone(),
                seats: *seats,
                state: State::Held,
                uncertain: false,
            });
        }
        if verdict.unanswered && verdict.bookings.is_empty() {
            ctx.ledger.unanswered_hold(&departure);
        }
        ctx.ledger
            .key_done(!verdict.bookings.is_empty(), verdict.violation);
    })
    .await;
}

/// What one Idempotency-Key's answers add up to.
pub struct KeyVerdict {
    /// Distinct bookings (reference, seats) the key's copies were answered 201 with.
    pub bookings: Vec<(String, u64)>,
    /// Some copy got no answer at all.
    pub unanswered: bool,
    pub violation: Option<String>,
}

/// Judges the concurrent copies and the late copy of one key. Allowed: 201 (all with one
/// reference), `409 idempotency_in_progress` while the first runs, 5xx (which releases the key).
/// The late copy must replay the final answer: the same 201 (marked replayed), or the same 4xx.
pub fn judge_key(key: &str, answers: &[Outcome], late: &Outcome) -> KeyVerdict {
    let mut bookings: Vec<(String, u64)> = Vec::new();
    let mut unanswered = false;
    let mut final_refusal: Option<String> = None;
    for outcome in answers.iter().chain(std::iter::once(late)) {
        match outcome {
            Ok(reply) if reply.status == 201 => {
                let reference = reply.str("reference").unwrap_or("").to_owned();
                if !bookings.iter().any(|(r, _)| *r == reference) {
                    bookings.push((reference, reply.u64("seats").unwrap_or(0)));
                }
            }
            Ok(reply) if reply.code.as_deref() == Some("idempotency_in_progress") => {}
            Ok(reply) if (400..500).contains(&reply.status) => {
                final_refusal.get_or_insert_with(|| reply.describe());
            }
            Ok(_) => {}
            Err(_) => unanswered = true,
        }
    }
    let violation = if bookings.len() > 1 {
        let refs: Vec<&str> = bookings.iter().map(|(r, _)| r.as_str()).collect();
        Some(format!(
            "Idempotency-Key {key} produced {} bookings: {}",
            bookings.len(),
            refs.join(", ")
        ))
    } else if let (Some((reference, _)), Some(refusal)) = (bookings.first(), &final_refusal) {
        Some(format!(
            "Idempotency-Key {key} was answered both 201 ({reference}) and {refusal}"
        ))
    } else {
        match (late, bookings.first()) {
            (Ok(reply), Some((reference, _))) if reply.status == 201 && !reply.replayed => {
                Some(format!(
                    "Idempotency-Key {key}: the late copy was answered 201 ({reference}) without \
                     Idempotent-Replayed: true"
                ))
            }
            (Ok(reply), Some((reference, _))) if reply.status < 500 && reply.status != 201 => {
                Some(format!(
                    "Idempotency-Key {key}: booking {reference} was made, but the late copy was \
                     answered {} instead of the replayed 201",
                    reply.describe()
                ))
            }
            _ => None,
        }
    };
    KeyVerdict {
        bookings,
        unanswered,
        violation,
    }
}

/// What a read scenario asks for and what every answer must say.
pub struct ReadTarget {
    pub path: String,
    /// Sent with the operator token.
    pub operator: bool,
    pub check: ReadCheck,
}

pub enum ReadCheck {
    /// The availability lists exactly these departures.
    Departures(Vec<String>),
    /// The manifest lists exactly these references.
    Manifest(std::collections::BTreeSet<String>),
    /// The revenue report covers these dates and has a currencies list.
    Revenue { from: String, to: String },
    /// A page of at most `limit` bookings, newest first, at least `at_least` of them.
    Search { limit: usize, at_least: usize },
}

fn date_of(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// Places `count` holds of one seat on `departure` (a few at a time), recorded in the ledger so
/// the verification knows them; not timed. Returns their references.
async fn place_untimed(
    api: &Api,
    fixtures: &Fixtures,
    ledger: &Ledger,
    departure: &str,
    count: u32,
) -> Result<Vec<String>, String> {
    let mut references = Vec::new();
    let unit = fixtures.units.first().cloned().unwrap_or_default();
    let numbers: Vec<u32> = (0..count).collect();
    for group in numbers.chunks(16) {
        let sends = group.iter().map(|n| {
            let body = json!({
                "departure_id": departure,
                "items": [{"unit": unit, "quantity": 1}],
                "customer": {"name": format!("Read Tester {n}"), "email": format!("read+{n}@example.com")}
            });
            Api::expect(api.hold(&body), 201, "place a booking for the read")
        });
        for reply in futures_join(sends).await {
            let reply = reply?;
            let reference = reply.str("reference").unwrap_or("").to_owned();
            ledger.held(Entry {
                reference: reference.clone(),
                departure_id: departure.to_owned(),
                seats: reply.u64("seats").unwrap_or(0),
                state: State::Held,
                uncertain: false,
            });
            references.push(reference);
        }
    }
    Ok(references)
}

/// Awaits every future of `futures` concurrently, in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(value) => out.push(value),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    out
}

/// Makes what a read scenario reads (untimed) and says what to ask and what must come back.
pub async fn prepare_read(
    api: &Api,
    config: &crate::Config,
    fixtures: Option<&Fixtures>,
    ledger: &Ledger,
) -> Result<ReadTarget, String> {
    use crate::Scenario;
    let today = chrono::Utc::now().date_naive();
    match (config.scenario, fixtures) {
        (Scenario::Availability, Some(fixtures)) => {
            let first = &fixtures.departures[0].id;
            let reply = Api::expect(api.departure(first), 200, "read a fixture departure").await?;
            let from = reply
                .str("starts_at")
                .and_then(date_of)
                .ok_or_else(|| format!("departure {first} has no starts_at: {}", reply.body))?;
            // One departure a day from `from` (UTC): the range covers them all.
            let to = from + chrono::Duration::days(fixtures.departures.len() as i64);
            Ok(ReadTarget {
                path: format!(
                    "/v1/tours/{}/availability?from={from}&to={to}",
                    fixtures.tour_id
                ),
                operator: false,
                check: ReadCheck::Departures(
                    fixtures.departures.iter().map(|d| d.id.clone()).collect(),
                ),
            })
        }
        (Scenario::Manifest, Some(fixtures)) => {
            let departure = fixtures.departures[0].id.clone();
            let references =
                place_untimed(api, fixtures, ledger, &departure, config.bookings.max(1)).await?;
            Ok(ReadTarget {
                path: format!("/v1/departures/{departure}/manifest"),
                operator: true,
                check: ReadCheck::Manifest(references.into_iter().collect()),
            })
        }
        (Scenario::Revenue, _) => {
            // A year: the report's widest window (366 days, both ends included).
            let from = today - chrono::Duration::days(365);
            Ok(ReadTarget {
                path: format!("/v1/reports/revenue?from={from}&to={today}"),
                operator: true,
                check: ReadCheck::Revenue {
                    from: from.to_string(),
                    to: today.to_string(),
                },
            })
        }
        (Scenario::Search, Some(fixtures)) => {
            let departure = fixtures.departures[0].id.clone();
            let made = place_untimed(api, fixtures, ledger, &departure, 5).await?;
            let limit = 50;
            let path = match &config.query {
                Some(query) => format!("/v1/bookings?limit={limit}&{query}"),
                None => format!("/v1/bookings?limit={limit}"),
            };
            Ok(ReadTarget {
                path,
                operator: true,
                check: ReadCheck::Search {
                    limit,
                    // Without filters the newest page holds at least the bookings just made.
                    at_least: if config.query.is_none() {
                        made.len()
                    } else {
                        0
                    },
                },
            })
        }
        (scenario, _) => Err(format!(
            "{} is not a read scenario with fixtures",
            scenario.as_str()
        )),
    }
}

/// What is wrong with a 200 answer, if anything (`None` also when the list it checks is missing:
/// [`read`] reports that apart).
pub fn judge(check: &ReadCheck, body: &Value) -> Option<String> {
    match check {
        ReadCheck::Departures(expected) => {
            let listed: Vec<&str> = body["departures"]
                .as_array()?
                .iter()
                .filter_map(|d| d["id"].as_str())
                .collect();
            let wanted: Vec<&str> = expected.iter().map(String::as_str).collect();
            (listed != wanted).then(|| {
                format!(
                    "availability listed {} departures, expected the {} fixture departures in order",
                    listed.len(),
                    wanted.len()
                )
            })
        }
        ReadCheck::Manifest(expected) => {
            let listed: std::collections::BTreeSet<String> = body["bookings"]
                .as_array()?
                .iter()
                .filter_map(|b| b["reference"].as_str().map(str::to_owned))
                .collect();
            (listed != *expected).then(|| {
                format!(
                    "manifest listed {} bookings, expected the {} made",
                    listed.len(),
                    expected.len()
                )
            })
        }
        ReadCheck::Revenue { from, to } => {
            let ok = body["from"].as_str() == Some(from.as_str())
                && body["to"].as_str() == Some(to.as_str())
                && body["currencies"].is_array();
            (!ok).then(|| {
                format!(
                    "revenue report for {from}..{to} answered {}",
                    crate::api::truncate(&body.to_string(), 200)
                )
            })
        }
        ReadCheck::Search { limit, at_least } => {
            let page = body["bookings"].as_array()?;
            // Compared as instants: RFC 3339 text drops a zero fraction, so it does not sort.
            let created: Vec<chrono::DateTime<chrono::FixedOffset>> = page
                .iter()
                .filter_map(|b| b["created_at"].as_str())
                .filter_map(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .collect();
            let newest_first = created.windows(2).all(|w| w[0] >= w[1]);
            (page.len() > *limit || page.len() < *at_least || !newest_first).then(|| {
                format!(
                    "search answered {} bookings (limit {limit}, at least {at_least}), newest first: {newest_first}",
                    page.len()
                )
            })
        }
    }
}

/// A read path, as fast as the clients go: every answer must be 200 and pass its check.
pub async fn read(ctx: Arc<Context>, target: Arc<ReadTarget>) {
    closed_loop(ctx, move |ctx, _, _| {
        let target = target.clone();
        async move {
            let request = if target.operator {
                ctx.api.operator_get(&target.path)
            } else {
                ctx.api.get(&target.path)
            };
            let (outcome, latency) = Api::send(request).await;
            ctx.recorder.record("read", &outcome, latency, false);
            if let Ok(reply) = &outcome {
                if reply.status == 200 {
                    let problem = judge(&target.check, &reply.body).or_else(|| {
                        // A body that is not the expected shape at all.
                        judge_shape(&target.check, &reply.body)
                    });
                    if let Some(problem) = problem {
                        ctx.ledger
                            .wrong_answer(format!("GET {}: {problem}", target.path));
                    }
                }
            }
        }
    })
    .await;
}

/// `judge` returns `None` when the list it looks for is missing: that is wrong too.
fn judge_shape(check: &ReadCheck, body: &Value) -> Option<String> {
    let key = match check {
        ReadCheck::Departures(_) => "departures",
        ReadCheck::Manifest(_) | ReadCheck::Search { .. } => "bookings",
        ReadCheck::Revenue { .. } => return None,
    };
    (!body[key].is_array()).then(|| format!("no {key} list in the answer"))
}
