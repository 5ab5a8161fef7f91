//! `GET /book/{departure}`: the booking form of one departure (quantities per unit, then name,
//! email and an optional phone). `POST /book/{departure}` with `step=quote` shows the total the
//! server computes (`domain::pricing::quote`, the API's pricing); with `step=hold` it holds the
//! seats through `service::holds::place_hold_for`, the function behind `POST /v1/bookings`,
//! under the form's idempotency key (a double-click holds once), and goes on to the hold's
//! page. An optional promo code is checked on both steps by `service::promos::claim` (the check
//! the hold itself makes): the quote shows the subtotal, the discount and the total to pay, and
//! that total is the one the hold step compares. Every refusal renders this form again with the
//! traveler's input (see [`failure`]). On a sold-out departure the page offers the departure's
//! waiting line instead, in a form with the same fields (see [`waitlist`]).
//!
//! [`failure`]: super::failure
//! [`waitlist`]: super::waitlist

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::context;
use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar};
use rocket::response::Redirect;
use rocket::{get, post, Either, State};
use serde::{Deserialize, Serialize};

use super::failure::{self, Notice, NoticeView};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::capacity::SalesStatus;
use crate::domain::embed::EmbedOrigin;
use crate::domain::ids::DepartureId;
use crate::domain::pricing::{quote, ItemRequest, Quote};
use crate::domain::records::{BookingRecord, DepartureRecord, TourRecord};
use crate::error::{AppError, FieldErrors};
use crate::http::rate_limit::{ClientIp, RateLimited};
use crate::i18n::Lang;
use crate::service::idempotency::{self, Begin};
use crate::service::payments::{PaymentSummary, Payments};
use crate::service::promos::{self, PromoClaim};
use crate::service::{catalogue, holds, operators};
use crate::storage::Store;
use crate::web::{CookieContext, CsrfForm, Page, WebError};

/// Where a traveler's hold pages live; the hold's access cookie is scoped to it.
pub const BASE: &str = "/book";

/// The idempotency scope of holds made through the pages (apart from the API's keys).
const SCOPE: &str = "web:holds";

/// What the form posts. Quantities stay text so that a wrong one is marked on its field rather
/// than refusing the whole form.
#[derive(Debug, Default, Clone, FromForm, Serialize)]
pub struct BookingForm {
    /// `items[<unit code>]` = quantity.
    #[field(default = HashMap::new())]
    pub items: HashMap<String, String>,
    #[field(default = String::new())]
    pub name: String,
    #[field(default = String::new())]
    pub email: String,
    #[field(default = String::new())]
    pub phone: String,
    /// A promo code as typed (empty: none).
    #[field(default = String::new())]
    pub promo_code: String,
    /// Set when the form was rendered; a resubmission of the same form replays the hold.
    #[field(default = String::new())]
    pub idempotency_key: String,
    /// The total the traveler was shown (minor units, after any discount), so a hold never
    /// charges another.
    pub quoted_total: Option<i64>,
    /// `quote` or `hold`.
    #[field(default = String::new())]
    pub step: String,
}

impl BookingForm {
    /// The form of a booking whose hold ended: the traveler's choices and details, kept.
    pub fn from_booking(booking: &BookingRecord) -> BookingForm {
        BookingForm {
            items: booking
                .items
                .iter()
                .map(|line| (line.unit.clone(), line.quantity.to_string()))
                .collect(),
            name: booking.customer.name.clone(),
            email: booking.customer.email.clone(),
            phone: booking.customer.phone.clone().unwrap_or_default(),
            promo_code: booking
                .promo
                .as_ref()
                .map(|promo| promo.code.clone())
                .unwrap_or_default(),
            ..<BookingForm as Default>::default()
        }
    }

    /// The requested items in the tour's unit order (a zero or empty quantity asks for none),
    /// or the fields whose quantity is not a number.
    pub(super) fn item_requests(&self, tour: &TourRecord) -> Result<Vec<ItemRequest>, FieldErrors> {
        let mut items = Vec::new();
        let mut errors = FieldErrors::new();
        for unit in &tour.tour.units {
            let text = self.items.get(&unit.code).map_or("", |q| q.trim());
            if text.is_empty() {
                continue;
            }
            match text.parse::<i64>() {
                Ok(0) => {}
                Ok(quantity) => items.push(ItemRequest {
                    unit: unit.code.clone(),
                    quantity,
                }),
                Err(_) => {
                    errors.insert(format!("items.{}", unit.code), "not a number".into());
                }
            }
        }
        if errors.is_empty() {
            Ok(items)
        } else {
            Err(errors)
        }
    }

    /// The request `POST /v1/bookings` would get for this form.
    /// `lang` is the page's: the traveler's messages are written in it.
    fn hold_request(
        &self,
        departure: &DepartureId,
        items: Vec<ItemRequest>,
        lang: Lang,
    ) -> holds::HoldRequest {
        holds::HoldRequest {
            departure_id: departure.to_string(),
            items,
            customer: holds::CustomerRequest {
                name: self.name.clone(),
                email: self.email.clone(),
                phone: Some(self.phone.clone()).filter(|p| !p.trim().is_empty()),
                language: Some(lang.code().to_owned()),
            },
            promo_code: self.promo(),
        }
    }

    /// The promo code typed, if any.
    fn promo(&self) -> Option<String> {
        Some(self.promo_code.trim().to_owned()).filter(|code| !code.is_empty())
    }
}

/// A departure with its tour, as the booking pages load it (unknown, malformed or of an
/// archived tour: 404).
pub async fn load(
    store: &Store,
    now: DateTime<Utc>,
    departure: &str,
) -> Result<(TourRecord, DepartureRecord), AppError> {
    let id = DepartureId::parse(departure).ok_or(AppError::NotFound)?;
    catalogue::public_departure(store, now, &id).await
}

/// A posted booking form (a hold's or a waiting line's) read against its departure: the tour,
/// the departure, the page that answers (framed as the operator allows) and the units asked for.
pub(super) struct Posted {
    pub(super) tour: TourRecord,
    pub(super) departure: DepartureRecord,
    pub(super) page: FormPage,
    pub(super) items: Vec<ItemRequest>,
}

/// Reads a posted form; `Err` is the page that answers at once: the rate limit (`limited`),
/// before any work, with the form as it was sent, or the fields the form got wrong.
pub(super) async fn posted(
    store: &Store,
    now: DateTime<Utc>,
    departure: &str,
    form: &BookingForm,
    limited: bool,
) -> Result<Result<Posted, Page>, AppError> {
    let (tour, departure) = load(store, now, departure).await?;
    let framing = operators::embed_origins(store, &tour.operator_id).await?;
    let page = FormPage::new(&tour, &departure, now, form.clone()).framed_by(framing);
    if limited {
        return Ok(Err(page.notice(Notice::RateLimited).page()));
    }
    Ok(match form.item_requests(&tour) {
        Ok(items) => Ok(Posted {
            tour,
            departure,
            page,
            items,
        }),
        Err(fields) => Err(page.failed(&AppError::Validation(fields)).page()),
    })
}

#[get("/book/<departure>")]
pub async fn form(
    _rate: RateLimited,
    departure: &str,
    store: &State<Store>,
    clock: &State<Clock>,
) -> Result<Page, WebError> {
    let now = clock.now();
    let (tour, departure) = load(store, now, departure).await?;
    let framing = operators::embed_origins(store, &tour.operator_id).await?;
    Ok(
        FormPage::new(&tour, &departure, now, <BookingForm as Default>::default())
            .framed_by(framing)
            .page(),
    )
}

/// The two steps of the form: see the total, then hold.
#[post("/book/<departure>", data = "<form>")]
#[expect(clippy::too_many_arguments, reason = "Rocket guards, each one thing")]
pub async fn submit(
    rate: Result<RateLimited, ()>,
    client: ClientIp,
    departure: &str,
    form: CsrfForm<BookingForm>,
    lang: Lang,
    cookies: &CookieJar<'_>,
    cookie_context: CookieContext,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
    payments: &State<Payments>,
) -> Result<Either<Page, Redirect>, WebError> {
    let now = clock.now();
    let form = form.0;
    let Posted {
        tour,
        departure,
        page,
        items,
    } = match posted(store, now, departure, &form, rate.is_err()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(Either::Left(answer)),
    };
    let priced = match quote(&tour.tour, &departure.prices(&tour), &items) {
        Ok(priced) => priced,
        Err(error) => return Ok(Either::Left(page.failed(&error).page())),
    };
    // The hold checks the code again (and counts its uses under its lock); this is the same
    // check, so the total shown is the total held.
    let claim = match promos::claim(store, &tour, priced.total, form.promo().as_deref(), now).await
    {
        Ok(claim) => claim,
        Err(error) => {
            return Ok(Either::Left(
                page.quoted(priced, None, None).failed(&error).page(),
            ))
        }
    };
    let to_pay = priced.total - claim.as_ref().map_or(0, |claim| claim.discount);
    if form.step != "hold" || form.quoted_total != Some(to_pay) {
        // A quote (or quantities or the code's discount changed since the total shown): show
        // the total, hold nothing.
        let notice = (form.step == "hold").then_some(Notice::TotalChanged);
        return Ok(Either::Left(
            page.quoted(priced, claim.as_ref(), notice).page(),
        ));
    }
    let request = form.hold_request(&departure.id, items, lang);
    match hold(store, config, payments, now, client, &form, request).await {
        Ok(held) => {
            remember(cookies, cookie_context, &held.reference, &held.access_token);
            Ok(Either::Right(Redirect::to(format!(
                "{BASE}/hold/{}",
                held.reference
            ))))
        }
        Err(error) => Ok(Either::Left(
            page.quoted(priced, claim.as_ref(), None)
                .failed(&error)
                .page(),
        )),
    }
}

/// What a hold made through the form answered: the stored response of its idempotency key.
#[derive(Serialize, Deserialize)]
struct Held {
    reference: String,
    access_token: String,
}

/// Holds through the API's service function and idempotency store. A resubmission of the same
/// form (a double-click, a reload) replays the first hold; a failure releases the key, and the
/// form shown again carries a new one.
async fn hold(
    store: &Store,
    config: &AppConfig,
    payments: &Payments,
    now: DateTime<Utc>,
    client: ClientIp,
    form: &BookingForm,
    request: holds::HoldRequest,
) -> Result<Held, AppError> {
    let keys = config.keyring();
    let limits = config
        .hold_limits()
        .map_err(|error| AppError::Internal(anyhow::anyhow!(error)))?;
    let requester = holds::Requester {
        address: client.0,
        limits: &limits,
        keys: Some(&keys),
    };
    // Every rendered form carries a key; a post without one holds like an API call without
    // `Idempotency-Key`.
    let key = Some(form.idempotency_key.as_str())
        .filter(|key| idempotency::validate_key(key).is_ok() && key.len() >= 16);
    let claim = match key {
        Some(key) => {
            let body = serde_json::json!({
                "departure_id": request.departure_id,
                "items": request.items.iter().map(|i| (&i.unit, i.quantity)).collect::<Vec<_>>(),
                "customer": [&request.customer.name, &request.customer.email, &request.customer.phone, &request.customer.language],
                "promo_code": request.promo_code,
            })
            .to_string();
            let print = idempotency::keyed_fingerprint(&keys, "POST", BASE, &body);
            let ttl = config.idempotency_ttl();
            match idempotency::begin(store, &keys, now, ttl, SCOPE, key, &print).await? {
                Begin::Replay { body, .. } => {
                    return serde_json::from_str(&body).map_err(|error| {
                        AppError::Internal(anyhow::anyhow!("stored hold: {error}"))
                    });
                }
                Begin::Proceed(claim) => Some(claim),
            }
        }
        None => None,
    };
    let render = |booking: &BookingRecord, token: &str, _: &PaymentSummary| {
        let held = Held {
            reference: booking.reference.to_string(),
            access_token: token.to_owned(),
        };
        (201u16, serde_json::to_string(&held).unwrap_or_default())
    };
    let stored = claim
        .as_ref()
        .map(|claim| (claim, &render as holds::RenderHold<'_>));
    let placed = holds::place_hold_for(
        store,
        payments,
        now,
        config.hold_ttl(),
        request,
        stored,
        requester,
    )
    .await;
    match placed {
        Ok(placed) => Ok(Held {
            reference: placed.booking.reference.to_string(),
            access_token: placed.access_token,
        }),
        Err(error) => {
            if let Some(claim) = &claim {
                if let Err(release) = idempotency::finish(store, claim, None).await {
                    tracing::warn!(error = %release, "could not release a failed form's key");
                }
            }
            Err(error)
        }
    }
}

/// The cookie that lets this browser open its hold's pages: the hold's access token, as the
/// API's `X-Booking-Token`, sent only to `/book` pages of this site.
pub fn cookie_name(reference: &str) -> String {
    format!("berth_booking_{reference}")
}

pub(super) fn remember(
    cookies: &CookieJar<'_>,
    context: CookieContext,
    reference: &str,
    token: &str,
) {
    cookies.add(
        context.apply(
            Cookie::build((cookie_name(reference), token.to_owned()))
                .path(BASE)
                .http_only(true)
                .max_age(rocket::time::Duration::days(2)),
        ),
    );
}

/// The access token this browser keeps for `reference`.
pub fn access_token(request_cookies: &CookieJar<'_>, reference: &str) -> Option<String> {
    request_cookies
        .get(&cookie_name(reference))
        .map(|cookie| cookie.value().to_owned())
}

/// The fields that can be marked in error (`items`: the quantities together).
const FIELDS: [&str; 5] = ["items", "name", "email", "phone", "promo_code"];

/// The booking form as rendered: the departure, the units with the traveler's quantities, the
/// total once quoted, the fields in error and a notice.
pub struct FormPage {
    view: FormView,
    status: rocket::http::Status,
    retry_after: Option<u64>,
    framed_by: Vec<EmbedOrigin>,
}

#[derive(Serialize)]
struct FormView {
    departure_id: String,
    tour_name: String,
    tour_path: String,
    date: String,
    local_time: String,
    starts_at: String,
    zone: String,
    currency: String,
    min_per_booking: u32,
    max_per_booking: u32,
    /// `open`, `sold_out`, `closed` or `cancelled`.
    sales: &'static str,
    available: u32,
    /// As the tour page: `scheduled`, `guaranteed` or `needs_participants` (`needs` more).
    run_status: &'static str,
    needs: u32,
    units: Vec<UnitField>,
    form: BookingForm,
    quote: Option<QuoteView>,
    /// Every field of the form, with the message key of its error (`None`: fine).
    errors: HashMap<&'static str, Option<&'static str>>,
    /// The promo code's minimum spend, when the booking did not reach it (its error says it).
    promo_min_spend: Option<i64>,
    notice: Option<NoticeView>,
}

#[derive(Serialize)]
struct UnitField {
    code: String,
    label: String,
    price: i64,
    quantity: String,
}

#[derive(Serialize)]
struct QuoteView {
    lines: Vec<QuoteLineView>,
    seats: u32,
    /// The items' prices.
    subtotal: i64,
    /// The promo code applied (normalized) and what it takes off.
    promo: Option<PromoView>,
    /// What the traveler pays: the subtotal less the discount.
    total: i64,
}

/// A promo code on a price: the code and what it takes off (minor units).
#[derive(Serialize)]
pub struct PromoView {
    pub code: String,
    pub discount: i64,
}

impl PromoView {
    /// The code a booking was made with, if any.
    pub fn of(booking: &BookingRecord) -> Option<PromoView> {
        booking.promo.as_ref().map(|promo| PromoView {
            code: promo.code.clone(),
            discount: promo.discount,
        })
    }
}

#[derive(Serialize)]
struct QuoteLineView {
    label: String,
    quantity: u32,
    unit_price: i64,
    amount: i64,
}

impl FormPage {
    pub fn new(
        tour: &TourRecord,
        departure: &DepartureRecord,
        now: DateTime<Utc>,
        mut form: BookingForm,
    ) -> FormPage {
        let tz = tour.tour.timezone;
        let local = departure.occupancy.starts_at.with_timezone(&tz);
        let prices = departure.prices(tour);
        let units = tour
            .tour
            .units
            .iter()
            .map(|unit| UnitField {
                code: unit.code.clone(),
                label: unit.label.clone(),
                price: prices.get(&unit.code).copied().unwrap_or(unit.price),
                quantity: form.items.get(&unit.code).cloned().unwrap_or_default(),
            })
            .collect();
        form.idempotency_key = hex::encode(crate::secrets::random_bytes(16));
        let sales = match departure
            .occupancy
            .sales_status(tour.tour.cutoff_minutes, now)
        {
            SalesStatus::Open => "open",
            SalesStatus::SoldOut => "sold_out",
            SalesStatus::Closed => "closed",
            SalesStatus::Cancelled => "cancelled",
        };
        FormPage {
            view: FormView {
                departure_id: departure.id.to_string(),
                tour_name: tour.tour.name.clone(),
                tour_path: super::tour::path(tour),
                date: local.date_naive().to_string(),
                local_time: local.format("%H:%M").to_string(),
                starts_at: local.to_rfc3339_opts(SecondsFormat::Secs, true),
                zone: tz.name().to_owned(),
                currency: tour.tour.currency.to_string(),
                min_per_booking: tour.tour.min_per_booking,
                max_per_booking: tour.tour.max_per_booking,
                sales,
                available: departure.occupancy.available(),
                run_status: crate::http::views::run_status(departure.standing(&tour.tour)),
                needs: departure.standing(&tour.tour).needs().unwrap_or(0),
                units,
                form,
                quote: None,
                errors: FIELDS.iter().map(|f| (*f, None)).collect(),
                promo_min_spend: None,
                notice: None,
            },
            status: rocket::http::Status::Ok,
            retry_after: None,
            framed_by: Vec::new(),
        }
    }

    /// The form with the server's total (less the code's discount, when one applies), ready to
    /// hold.
    fn quoted(
        mut self,
        priced: Quote,
        claim: Option<&PromoClaim>,
        notice: Option<Notice>,
    ) -> FormPage {
        let label = |code: &str| {
            self.view
                .units
                .iter()
                .find(|u| u.code == code)
                .map_or_else(|| code.to_owned(), |u| u.label.clone())
        };
        let lines = priced
            .lines
            .iter()
            .map(|line| QuoteLineView {
                label: label(&line.unit),
                quantity: line.quantity,
                unit_price: line.unit_price,
                amount: line.unit_price * i64::from(line.quantity),
            })
            .collect();
        let promo = claim.map(|claim| PromoView {
            code: claim.code.rules.code.clone(),
            discount: claim.discount,
        });
        let total = priced.total - promo.as_ref().map_or(0, |promo| promo.discount);
        self.view.quote = Some(QuoteView {
            lines,
            seats: priced.seats,
            subtotal: priced.total,
            promo,
            total,
        });
        self.view.form.quoted_total = Some(total);
        if let Some(notice) = notice {
            self.view.notice = Some(notice.view());
        }
        self
    }

    /// The form again after `error`: fields marked, or a notice saying what happened, with the
    /// status the API would answer.
    pub fn failed(mut self, error: &AppError) -> FormPage {
        let outcome = failure::classify(error);
        self.status = outcome.status;
        self.retry_after = outcome.retry_after;
        if !outcome.fields.is_empty() {
            // Quantities changed nothing yet: a wrong one takes the total away.
            if outcome.fields.keys().any(|f| f.starts_with("items")) {
                self.view.quote = None;
                self.view.form.quoted_total = None;
            }
            // A refused code takes nothing off: the total shown is the one without it.
            if outcome.fields.contains_key("promo_code") {
                if let Some(quote) = &mut self.view.quote {
                    quote.promo = None;
                    quote.total = quote.subtotal;
                    self.view.form.quoted_total = Some(quote.subtotal);
                }
            }
            self.view.promo_min_spend = outcome.promo_min_spend;
            for (field, key) in outcome.fields {
                if let Some(slot) = self.view.errors.get_mut(field.as_str()) {
                    *slot = Some(key);
                }
            }
        }
        if let Some(notice) = outcome.notice {
            self.view.notice = Some(notice.view());
        }
        self
    }

    /// The form with `notice` and the status that goes with it.
    pub fn notice(mut self, notice: Notice) -> FormPage {
        self.status = notice.status();
        self.view.notice = Some(notice.view());
        self
    }

    /// The origins that may frame the form (the tour operator's widget sites).
    pub fn framed_by(mut self, origins: Vec<EmbedOrigin>) -> FormPage {
        self.framed_by = origins;
        self
    }

    /// The page after joining the departure's waiting line: `position` in line, the channels
    /// berth writes through (`via`: `email`, `sms` or `both`) and how long an offer's hold lasts.
    pub fn joined(self, position: u32, via: &str, offer_minutes: i64) -> Page {
        let joined = context! { position => position, via => via, offer_minutes => offer_minutes };
        Page::new(
            "traveler/waitlist_joined.html",
            context! { page => self.view, joined => joined },
        )
        .framed_by(self.framed_by)
    }

    pub fn page(self) -> Page {
        let page = Page::new("traveler/book.html", context! { page => self.view })
            .status(self.status)
            .framed_by(self.framed_by);
        match self.retry_after {
            Some(seconds) => page.retry_after(seconds),
            None => page,
        }
    }
}
