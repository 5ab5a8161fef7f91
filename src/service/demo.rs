//! Demo data for a first `cargo run`: one operator, one tour, a daily schedule, and a reseller
//! whose key opens the OCTO API.

use chrono::{DateTime, Utc};

use super::catalogue;
use super::passwords::Argon2Gate;
use crate::domain::ids::{DepartureId, TourId};
use crate::domain::price_rules::PriceRuleDraft;
use crate::domain::refund::RefundRule;
use crate::domain::schedule_draft::ScheduleDraft;
use crate::domain::tour::{TourDraft, UnitDraft};
use crate::error::AppError;
use crate::storage::Store;

/// The demo owner's sign-in email (the console's).
pub const OWNER_EMAIL: &str = "demo@example.com";

/// What was seeded, for the start-up banner.
/// The demo operator's promo code, printed at the first start.
pub const PROMO_CODE: &str = "WELCOME10";

pub struct DemoData {
    pub token: String,
    /// The demo owner's console password, random, shown once.
    pub owner_password: String,
    pub tour_id: TourId,
    pub first_departure: Option<DepartureId>,
    /// A reseller's OCTO API key (shown once).
    pub reseller_key: String,
}

/// Seeds the demo operator, tour and schedule, but only into an empty database.
pub async fn seed_if_empty(
    store: &Store,
    now: DateTime<Utc>,
    horizon_days: u32,
) -> Result<Option<DemoData>, AppError> {
    if crate::storage::catalogue::count_operators(store).await? > 0 {
        return Ok(None);
    }
    // A random password (20 characters of base32) passes the password policy and is printed once;
    // only its Argon2id hash is kept.
    let owner_password =
        crate::domain::auth::base32_encode(&crate::secrets::random_bytes(13)).to_lowercase();
    let (operator, token) = super::auth::create_operator_with_owner(
        store,
        &Argon2Gate::default(),
        now,
        "Demo Tours",
        OWNER_EMAIL,
        &owner_password,
    )
    .await?;
    let draft = TourDraft {
        name: "Lisbon harbour sunset cruise".into(),
        description: "Ninety minutes along the Tagus at golden hour.".into(),
        meeting_point: "Cais do Sodré, pier 2".into(),
        timezone: "Europe/Lisbon".into(),
        duration_minutes: 90,
        currency: "EUR".into(),
        cutoff_minutes: 30,
        min_per_booking: 1,
        max_per_booking: 8,
        units: vec![
            UnitDraft {
                code: "adult".into(),
                label: "Adult".into(),
                price: 3500,
            },
            UnitDraft {
                code: "child".into(),
                label: "Child (4-12)".into(),
                price: 1500,
            },
        ],
        cancellation_policy: vec![
            RefundRule {
                hours_before: 48,
                refund_percent: 100,
            },
            RefundRule {
                hours_before: 24,
                refund_percent: 50,
            },
        ],
        reschedule_allowed: true,
        min_participants: 0,
        decision_hours: 48,
    };
    let by = super::principal::Principal::cli(&operator);
    let tour = catalogue::create_tour(store, now, &by, draft).await?;
    let today = now.with_timezone(&tour.tour.timezone).date_naive();
    let schedule = ScheduleDraft {
        rrule: "FREQ=DAILY".into(),
        start_date: today.to_string(),
        until: None,
        times: vec!["10:00".into(), "17:30".into()],
        capacity: 20,
        exceptions: Vec::new(),
    };
    catalogue::create_schedule(store, now, horizon_days, &by, &tour.id, schedule).await?;
    // Weekend sunsets sell dearer; a welcome code takes 10 % off, once per traveler.
    let weekend = PriceRuleDraft {
        name: "Weekend sunsets".into(),
        weekdays: vec!["sat".into(), "sun".into()],
        from_time: Some("17:00".into()),
        prices: [("adult".to_owned(), 4200)].into(),
        ..Default::default()
    };
    super::prices::add_rule(store, now, &by, &tour.id, &weekend).await?;
    let welcome = super::promos::NewPromo {
        code: PROMO_CODE.into(),
        percent_off: Some(10),
        max_redemptions: Some(100),
        max_per_customer: Some(1),
        ..Default::default()
    };
    super::promos::create(store, now, &by, welcome).await?;
    let (_, upcoming) = catalogue::availability(store, now, &tour.id, None, None).await?;
    let first_departure = upcoming
        .into_iter()
        .find(|o| {
            o.occupancy
                .check_hold(1, tour.tour.cutoff_minutes, now)
                .is_ok()
        })
        .map(|o| o.id);
    let reseller = crate::domain::reseller::NewReseller::parse("Demo OTA", Some(20), &[])?;
    let (_, reseller_key) = super::resellers::create(store, now, &by, reseller).await?;
    Ok(Some(DemoData {
        token,
        owner_password,
        tour_id: tour.id,
        first_departure,
        reseller_key,
    }))
}
