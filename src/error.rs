//! `AppError`: everything that can go wrong, in domain terms. The mapping to HTTP statuses and
//! stable error codes lives in one place, `http::responder`.

use std::collections::BTreeMap;

use crate::domain::booking::{BookingEvent, BookingStatus};

/// Field name → human message, for 422 `validation_failed`.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed JSON but some fields break the rules.
    #[error("{}", summarize(.0))]
    Validation(FieldErrors),
    /// The request could not be understood at all (malformed JSON, wrong types, bad query).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A JSON route was sent a body without `Content-Type: application/json`.
    #[error("send the body as JSON, with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// Authenticated, but the role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    /// Too many failed sign-ins from this address; try again after `retry_after` seconds.
    #[error("too many failed sign-in attempts; retry later")]
    TooManyAttempts { retry_after: i64 },
    /// The operator requires two-factor sign-in and this user has not enabled it yet.
    #[error("your operator requires two-factor sign-in: enable it at /v1/auth/2fa/setup")]
    TwoFactorRequired,
    /// Also answered for another tenant's object, so existence never leaks.
    #[error("not found")]
    NotFound,
    #[error("not enough seats left: {available} available")]
    SoldOut { available: u32 },
    /// One client (an address, or a customer email) already holds so many seats that this hold
    /// would take it past a hold limit; its first hold lapses in `retry_after` seconds.
    #[error("{} already holds {held} seats {} (at most {limit} at once); pay for or cancel a hold, or try again when one expires", if *.identity == "email" { "this customer email" } else { "this client address" }, if *.scope == "departure" { "on this departure" } else { "in unpaid holds" })]
    HoldLimitReached {
        /// `address` or `email`.
        identity: &'static str,
        /// `departure` or `overall`.
        scope: &'static str,
        held: u32,
        limit: u32,
        retry_after: i64,
    },
    #[error("sales are closed for this departure: {reason}")]
    SalesClosed { reason: &'static str },
    #[error("the booking is {from} and cannot be {}", .event.past_tense())]
    InvalidTransition {
        from: BookingStatus,
        event: BookingEvent,
    },
    #[error("the hold expired before it was confirmed; its seats were released")]
    HoldExpired,
    #[error("the departure has started; the booking can no longer be cancelled by the traveler")]
    CancellationClosed,
    #[error("the departure is already cancelled")]
    DepartureCancelled,
    /// A rule refused the change (409 with `code`; e.g. `reschedule_not_allowed`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// A promo code that does not apply (422, on the `promo_code` field); `code` is one of
    /// `domain::promo::Refusal`'s; `min_spend` is the code's minimum (minor units of the
    /// booking's currency) when that is what the booking did not reach, for pages that say it.
    #[error("{message}")]
    PromoCodeRefused {
        code: &'static str,
        message: String,
        min_spend: Option<i64>,
    },
    #[error("capacity cannot go below the {taken} seats already taken")]
    CapacityBelowTaken { taken: u32 },
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still in progress; retry shortly")]
    IdempotencyInProgress,
    #[error("this booking is paid online; it is confirmed when the payment succeeds")]
    PaymentRequired,
    /// The payment provider could not be reached; the hold was released.
    #[error("the payment provider is unavailable; no seats were held, try again shortly")]
    PaymentUnavailable,
    /// Deadlock, lock wait timeout or SQLite busy, still failing after bounded retries.
    #[error("the database is busy, try again shortly")]
    Busy,
    /// The database connection was lost while a change was being committed: it may or may not
    /// have been saved. Not retried in-process, where running it again could apply it twice.
    #[error("the database connection was lost while saving; the change may have been saved: check before retrying")]
    CommitUnknown,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn summarize(fields: &FieldErrors) -> String {
    match fields.iter().next() {
        Some((field, message)) if fields.len() == 1 => format!("{field}: {message}"),
        Some((field, message)) => {
            format!(
                "{field}: {message} (and {} more problems)",
                fields.len() - 1
            )
        }
        None => "invalid request".to_owned(),
    }
}

impl AppError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.into(), message.into());
        Self::Validation(fields)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
}

/// Collects validation problems across a whole request so the client sees them all at once.
#[derive(Debug, Default)]
pub struct Problems(FieldErrors);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// Records the error of `result` under `field` and returns its value, if any.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
