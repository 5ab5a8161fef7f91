//! What the booking pages say when something goes wrong: the one place where a service error
//! becomes a marked field or a notice on the form (with the traveler's input kept). The status
//! and `Retry-After` come from the API's own mapping (`http::responder`), so a page and the API
//! answer the same failure alike.

use std::collections::HashMap;

use rocket::http::Status;

use crate::error::AppError;

/// A notice as the booking form's template reads it.
#[derive(serde::Serialize)]
pub struct NoticeView {
    pub key: &'static str,
    pub count: u32,
    pub seconds: u64,
}

/// A notice above the booking form (or on the hold page): what happened and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Not as many seats left as asked for (`count`: seats left, 0 when none).
    SoldOut { available: u32 },
    /// Sales closed by the tour's cutoff (or the departure left or was cancelled).
    SalesClosed,
    /// This traveler already holds as many seats as allowed; one lapses in `seconds`.
    HoldLimit { seconds: u64 },
    /// Stripe could not be reached; nothing was held.
    PaymentUnavailable,
    /// The hold lapsed before it was paid or confirmed; its seats went back on sale.
    HoldExpired,
    /// The payment failed (or was cancelled) and the hold was released.
    PaymentFailed,
    /// Too many requests; the page says how long to wait.
    RateLimited,
    /// The quantities changed after the total was shown: here is the new total.
    TotalChanged,
    /// The database stayed busy; try again in a moment.
    Busy,
    /// Anything else the form cannot fix by itself.
    Failed,
    /// A join of the waiting line refused: the seats are for sale now (`seats_available`).
    SeatsAvailable,
    /// A join of the waiting line refused: this email or phone already waits.
    AlreadyWaiting,
    /// A join of the waiting line refused: the line is full.
    WaitlistFull,
}

impl Notice {
    pub fn status(self) -> Status {
        match self {
            Notice::SoldOut { .. }
            | Notice::SalesClosed
            | Notice::HoldExpired
            | Notice::SeatsAvailable
            | Notice::AlreadyWaiting
            | Notice::WaitlistFull => Status::Conflict,
            Notice::HoldLimit { .. } | Notice::RateLimited => Status::TooManyRequests,
            Notice::PaymentUnavailable => Status::BadGateway,
            Notice::PaymentFailed => Status::PaymentRequired,
            Notice::TotalChanged => Status::Ok,
            Notice::Busy => Status::ServiceUnavailable,
            Notice::Failed => Status::UnprocessableEntity,
        }
    }

    pub fn view(self) -> NoticeView {
        let (key, count, seconds) = match self {
            Notice::SoldOut { available } => ("notice-sold-out", available, 0),
            Notice::SalesClosed => ("notice-sales-closed", 0, 0),
            Notice::HoldLimit { seconds } => ("notice-hold-limit", 0, seconds),
            Notice::PaymentUnavailable => ("notice-payment-unavailable", 0, 0),
            Notice::HoldExpired => ("notice-hold-expired", 0, 0),
            Notice::PaymentFailed => ("notice-payment-failed", 0, 0),
            Notice::RateLimited => ("notice-rate-limited", 0, 0),
            Notice::TotalChanged => ("notice-total-changed", 0, 0),
            Notice::Busy => ("notice-busy", 0, 1),
            Notice::Failed => ("notice-failed", 0, 0),
            Notice::SeatsAvailable => ("notice-seats-available", 0, 0),
            Notice::AlreadyWaiting => ("notice-already-waiting", 0, 0),
            Notice::WaitlistFull => ("notice-waitlist-full", 0, 0),
        };
        NoticeView {
            key,
            count,
            seconds,
        }
    }
}

/// How the form shows an error.
pub struct Outcome {
    pub status: Status,
    pub retry_after: Option<u64>,
    /// Form field → message key, for fields the traveler can correct.
    pub fields: HashMap<String, &'static str>,
    /// The promo code's minimum spend, when the booking did not reach it (the message says it).
    pub promo_min_spend: Option<i64>,
    pub notice: Option<Notice>,
}

/// The form field a service's field name belongs to, with its message key (a hold names the
/// traveler's fields `customer.…`, a waitlist join names them bare).
fn field(name: &str) -> (&'static str, &'static str) {
    match name {
        "customer.name" | "name" => ("name", "field-name"),
        "customer.email" | "email" => ("email", "field-email"),
        "customer.phone" | "phone" => ("phone", "field-phone"),
        _ => ("items", "field-quantities"),
    }
}

/// The message key of a refused promo code, by the refusal's stable code
/// (`domain::promo::Refusal::code`).
pub fn promo_key(code: &str) -> &'static str {
    match code {
        "promo_code_not_valid_now" => "field-promo-not-valid-now",
        "promo_code_not_applicable" => "field-promo-not-applicable",
        "promo_code_minimum_spend" => "field-promo-minimum-spend",
        "promo_code_exhausted" => "field-promo-exhausted",
        "promo_code_customer_limit" => "field-promo-customer-limit",
        _ => "field-promo-unknown",
    }
}

/// The page's answer to `error`.
pub fn classify(error: &AppError) -> Outcome {
    let (status, _) = error.status_and_code();
    let retry_after = error.retry_after().and_then(|s| s.parse().ok());
    let mut fields = HashMap::new();
    let mut promo_min_spend = None;
    let notice = match error {
        AppError::Validation(problems) => {
            for name in problems.keys() {
                let (field, key) = field(name);
                fields.insert(field.to_owned(), key);
            }
            None
        }
        // The API names the same field (`fields.promo_code`).
        AppError::PromoCodeRefused {
            code, min_spend, ..
        } => {
            fields.insert("promo_code".to_owned(), promo_key(code));
            promo_min_spend = *min_spend;
            None
        }
        AppError::SoldOut { available } => Some(Notice::SoldOut {
            available: *available,
        }),
        AppError::SalesClosed { .. } | AppError::DepartureCancelled => Some(Notice::SalesClosed),
        AppError::HoldLimitReached { retry_after, .. } => Some(Notice::HoldLimit {
            seconds: u64::try_from(*retry_after).unwrap_or(1).max(1),
        }),
        AppError::PaymentUnavailable => Some(Notice::PaymentUnavailable),
        AppError::HoldExpired => Some(Notice::HoldExpired),
        // The waiting line's refusals (`service::waitlist::join`), by their stable codes.
        AppError::Refused {
            code: "seats_available",
            ..
        } => Some(Notice::SeatsAvailable),
        AppError::Refused {
            code: "already_waiting",
            ..
        } => Some(Notice::AlreadyWaiting),
        AppError::Refused {
            code: "waitlist_full",
            ..
        } => Some(Notice::WaitlistFull),
        AppError::Busy | AppError::CommitUnknown | AppError::IdempotencyInProgress => {
            Some(Notice::Busy)
        }
        _ => Some(Notice::Failed),
    };
    if let AppError::Internal(inner) = error {
        tracing::error!(error = %inner, "booking form failed");
    }
    Outcome {
        status,
        retry_after,
        fields,
        promo_min_spend,
        notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_keep_the_apis_status_and_mark_the_traveler_s_fields() {
        let mut problems = crate::error::FieldErrors::new();
        problems.insert("customer.email".into(), "bad".into());
        problems.insert("items[0].quantity".into(), "bad".into());
        let outcome = classify(&AppError::Validation(problems));
        assert_eq!(outcome.status, Status::UnprocessableEntity);
        assert_eq!(outcome.fields.get("email"), Some(&"field-email"));
        assert_eq!(outcome.fields.get("items"), Some(&"field-quantities"));
        assert!(outcome.notice.is_none());

        let sold_out = classify(&AppError::SoldOut { available: 1 });
        assert_eq!(sold_out.status, Status::Conflict);
        assert_eq!(sold_out.notice, Some(Notice::SoldOut { available: 1 }));
        let closed = classify(&AppError::SalesClosed { reason: "cutoff" });
        assert_eq!(
            (closed.status, closed.notice),
            (Status::Conflict, Some(Notice::SalesClosed))
        );
        let stripe = classify(&AppError::PaymentUnavailable);
        assert_eq!(stripe.status, Status::BadGateway);
        assert_eq!(stripe.retry_after, Some(5));
        let busy = classify(&AppError::Busy);
        assert_eq!(
            (busy.status, busy.retry_after),
            (Status::ServiceUnavailable, Some(1))
        );
        assert_eq!(Notice::RateLimited.status(), Status::TooManyRequests);
    }

    #[test]
    fn a_refused_waitlist_join_marks_the_bare_fields_and_says_why() {
        let mut problems = crate::error::FieldErrors::new();
        problems.insert("name".into(), "bad".into());
        problems.insert("phone".into(), "bad".into());
        let outcome = classify(&AppError::Validation(problems));
        assert_eq!(outcome.fields.get("name"), Some(&"field-name"));
        assert_eq!(outcome.fields.get("phone"), Some(&"field-phone"));
        for (code, notice) in [
            ("seats_available", Notice::SeatsAvailable),
            ("already_waiting", Notice::AlreadyWaiting),
            ("waitlist_full", Notice::WaitlistFull),
        ] {
            let outcome = classify(&AppError::Refused {
                code,
                message: String::new(),
            });
            assert_eq!(
                (outcome.status, outcome.notice),
                (Status::Conflict, Some(notice))
            );
        }
    }

    #[test]
    fn every_promo_refusal_marks_the_code_field_with_its_own_words_in_every_language() {
        use crate::domain::promo::Refusal;
        use crate::i18n::{Catalogue, Lang};
        let catalogue = Catalogue::load().unwrap();
        let refusals = [
            Refusal::Unknown,
            Refusal::NotValidNow,
            Refusal::NotApplicable,
            Refusal::BelowMinimumSpend { min_spend: 5000 },
            Refusal::Exhausted,
            Refusal::CustomerLimit,
        ];
        let mut keys = std::collections::BTreeSet::new();
        for refusal in refusals {
            let outcome = classify(&refusal.into_error("EUR"));
            assert_eq!(outcome.status, Status::UnprocessableEntity);
            assert!(outcome.notice.is_none());
            let key = outcome.fields["promo_code"];
            assert_eq!(key, promo_key(refusal.code()));
            let minimum = matches!(refusal, Refusal::BelowMinimumSpend { .. });
            assert_eq!(outcome.promo_min_spend, minimum.then_some(5000));
            keys.insert(key);
            for lang in Lang::ALL {
                assert!(catalogue.has(lang, key), "{key} missing in {}", lang.code());
            }
        }
        assert_eq!(keys.len(), refusals.len(), "each refusal says why");
    }
}
