//! Tours and their unit types (adult, child, …), validated as a whole.

use chrono_tz::Tz;
use serde::Deserialize;

use super::money::{parse_price, Currency};
use super::refund::{CancellationPolicy, RefundRule};
use crate::error::{AppError, Problems};

/// Most unit types a tour may offer; also bounds the items of one booking.
pub const MAX_UNITS: usize = 20;
/// Most seats one booking may take, whatever the tour says.
pub const MAX_SEATS_PER_BOOKING: i64 = 100;

/// A tour as an operator sends it (`POST /v1/tours`); all rules are checked by [`TourDraft::validate`].
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Lisbon harbour sunset cruise", "description": "Ninety minutes along the Tagus.", "meeting_point": "Cais do Sodré, pier 2", "timezone": "Europe/Lisbon", "duration_minutes": 90, "currency": "EUR", "cutoff_minutes": 30, "min_per_booking": 1, "max_per_booking": 8, "units": [{"code": "adult", "label": "Adult", "price": 3500}, {"code": "child", "label": "Child (4-12)", "price": 1500}]}))]
pub struct TourDraft {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub meeting_point: String,
    pub timezone: String,
    pub duration_minutes: i64,
    pub currency: String,
    #[serde(default)]
    pub cutoff_minutes: i64,
    #[serde(default = "one")]
    pub min_per_booking: i64,
    #[serde(default = "ten")]
    pub max_per_booking: i64,
    pub units: Vec<UnitDraft>,
    /// Refund rules for travelers' cancellations (see the README); none: a full refund until
    /// the departure starts.
    #[serde(default)]
    pub cancellation_policy: Vec<RefundRule>,
    /// Whether travelers may move a confirmed booking to another departure of this tour
    /// themselves (until their departure starts; the target must be on sale). Default: true.
    #[serde(default = "yes")]
    pub reschedule_allowed: bool,
    /// Participants a departure needs to run (0, the default: none). See the README's
    /// guaranteed departures.
    #[serde(default)]
    pub min_participants: i64,
    /// How many hours before each departure berth decides whether it runs (1 to 720; default
    /// 48).
    #[serde(default = "decision_hours")]
    pub decision_hours: i64,
}

fn decision_hours() -> i64 {
    i64::from(super::minimum::DEFAULT_DECISION_HOURS)
}

fn yes() -> bool {
    true
}
fn one() -> i64 {
    1
}
fn ten() -> i64 {
    10
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitDraft {
    pub code: String,
    pub label: String,
    pub price: i64,
}

/// Changes to a tour (`PATCH /v1/tours/{id}`). Time zone and currency are fixed at creation:
/// changing them would move existing departures or re-price existing bookings.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TourPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub meeting_point: Option<String>,
    pub duration_minutes: Option<i64>,
    pub cutoff_minutes: Option<i64>,
    pub min_per_booking: Option<i64>,
    pub max_per_booking: Option<i64>,
    pub units: Option<Vec<UnitDraft>>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
    /// Applies to bookings cancelled from now on, whenever they were made.
    pub cancellation_policy: Option<Vec<RefundRule>>,
    pub reschedule_allowed: Option<bool>,
    /// Applies to departures not yet decided.
    pub min_participants: Option<i64>,
    pub decision_hours: Option<i64>,
}

/// A validated tour.
#[derive(Debug, Clone, PartialEq)]
pub struct Tour {
    pub name: String,
    pub description: String,
    pub meeting_point: String,
    pub timezone: Tz,
    pub duration_minutes: u32,
    pub currency: Currency,
    pub cutoff_minutes: u32,
    pub min_per_booking: u32,
    pub max_per_booking: u32,
    pub units: Vec<Unit>,
    pub cancellation_policy: CancellationPolicy,
    pub reschedule_allowed: bool,
    /// Participants each departure needs to run (0: none), and how many hours before it starts
    /// that is decided; a departure may set its own.
    pub min_participants: u32,
    pub decision_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub code: String,
    pub label: String,
    pub price: i64,
}

impl Tour {
    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|unit| unit.code == code)
    }

    /// The draft this tour was validated from, for re-validation after a patch.
    pub fn to_draft(&self) -> TourDraft {
        TourDraft {
            name: self.name.clone(),
            description: self.description.clone(),
            meeting_point: self.meeting_point.clone(),
            timezone: self.timezone.name().to_owned(),
            duration_minutes: i64::from(self.duration_minutes),
            currency: self.currency.to_string(),
            cutoff_minutes: i64::from(self.cutoff_minutes),
            min_per_booking: i64::from(self.min_per_booking),
            max_per_booking: i64::from(self.max_per_booking),
            units: self
                .units
                .iter()
                .map(|u| UnitDraft {
                    code: u.code.clone(),
                    label: u.label.clone(),
                    price: u.price,
                })
                .collect(),
            cancellation_policy: self.cancellation_policy.rules().to_vec(),
            reschedule_allowed: self.reschedule_allowed,
            min_participants: i64::from(self.min_participants),
            decision_hours: i64::from(self.decision_hours),
        }
    }

    /// Applies a patch and re-validates the whole tour.
    pub fn patched(&self, patch: TourPatch) -> Result<Tour, AppError> {
        let mut problems = Problems::new();
        if patch.timezone.is_some_and(|tz| tz != self.timezone.name()) {
            problems.add("timezone", "cannot be changed after creation");
        }
        if patch.currency.is_some_and(|c| c != self.currency.as_str()) {
            problems.add("currency", "cannot be changed after creation");
        }
        problems.into_result()?;
        let mut draft = self.to_draft();
        draft.name = patch.name.unwrap_or(draft.name);
        draft.description = patch.description.unwrap_or(draft.description);
        draft.meeting_point = patch.meeting_point.unwrap_or(draft.meeting_point);
        draft.duration_minutes = patch.duration_minutes.unwrap_or(draft.duration_minutes);
        draft.cutoff_minutes = patch.cutoff_minutes.unwrap_or(draft.cutoff_minutes);
        draft.min_per_booking = patch.min_per_booking.unwrap_or(draft.min_per_booking);
        draft.max_per_booking = patch.max_per_booking.unwrap_or(draft.max_per_booking);
        draft.units = patch.units.unwrap_or(draft.units);
        draft.cancellation_policy = patch
            .cancellation_policy
            .unwrap_or(draft.cancellation_policy);
        draft.reschedule_allowed = patch.reschedule_allowed.unwrap_or(draft.reschedule_allowed);
        draft.min_participants = patch.min_participants.unwrap_or(draft.min_participants);
        draft.decision_hours = patch.decision_hours.unwrap_or(draft.decision_hours);
        draft.validate()
    }
}

fn bounded_text(value: &str, min: usize, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        return Err(format!("must be {min} to {max} characters"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

fn in_range(value: i64, min: i64, max: i64) -> Result<u32, String> {
    if (min..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

/// Parses an IANA time zone name such as `Europe/Lisbon`.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| "must be an IANA time zone name such as Europe/Lisbon".to_owned())
}

fn valid_unit_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The longest tour: a week.
pub const MAX_DURATION_MINUTES: i64 = 10_080;

impl TourDraft {
    pub fn validate(self) -> Result<Tour, AppError> {
        let mut p = Problems::new();
        let name = p.check("name", bounded_text(&self.name, 1, 200));
        let description = p.check("description", bounded_text(&self.description, 0, 5000));
        let meeting_point = p.check("meeting_point", bounded_text(&self.meeting_point, 0, 500));
        let timezone = p.check("timezone", parse_timezone(&self.timezone));
        let duration = p.check(
            "duration_minutes",
            in_range(self.duration_minutes, 1, MAX_DURATION_MINUTES),
        );
        let currency = p.check("currency", Currency::parse(&self.currency));
        let cutoff = p.check("cutoff_minutes", in_range(self.cutoff_minutes, 0, 43_200));
        let min = p.check(
            "min_per_booking",
            in_range(self.min_per_booking, 1, MAX_SEATS_PER_BOOKING),
        );
        let max = p.check(
            "max_per_booking",
            in_range(self.max_per_booking, 1, MAX_SEATS_PER_BOOKING),
        );
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                p.add("min_per_booking", "must not exceed max_per_booking");
            }
        }
        if self.units.is_empty() || self.units.len() > MAX_UNITS {
            p.add("units", format!("must list 1 to {MAX_UNITS} unit types"));
        }
        let mut units = Vec::with_capacity(self.units.len());
        for (i, unit) in self.units.iter().enumerate() {
            if !valid_unit_code(&unit.code) {
                p.add(
                    format!("units[{i}].code"),
                    "must be 1 to 32 characters of a-z, 0-9, _ or -",
                );
            } else if self.units[..i].iter().any(|u| u.code == unit.code) {
                p.add(format!("units[{i}].code"), "is listed twice");
            }
            let label = p.check(
                &format!("units[{i}].label"),
                bounded_text(&unit.label, 1, 100),
            );
            let price = p.check(&format!("units[{i}].price"), parse_price(unit.price));
            if let (Some(label), Some(price)) = (label, price) {
                units.push(Unit {
                    code: unit.code.clone(),
                    label,
                    price,
                });
            }
        }
        let policy =
            CancellationPolicy::parse(&self.cancellation_policy, "cancellation_policy", &mut p);
        let min_participants = p.check(
            "min_participants",
            super::minimum::parse_participants(self.min_participants),
        );
        let decision_hours = p.check(
            "decision_hours",
            super::minimum::parse_decision_hours(self.decision_hours),
        );
        p.into_result()?;
        match (
            name,
            description,
            meeting_point,
            timezone,
            duration,
            currency,
            cutoff,
            min,
            max,
            policy,
        ) {
            (
                Some(name),
                Some(description),
                Some(meeting_point),
                Some(timezone),
                Some(duration_minutes),
                Some(currency),
                Some(cutoff_minutes),
                Some(min_per_booking),
                Some(max_per_booking),
                Some(cancellation_policy),
            ) => Ok(Tour {
                name,
                description,
                meeting_point,
                timezone,
                duration_minutes,
                currency,
                cutoff_minutes,
                min_per_booking,
                max_per_booking,
                units,
                cancellation_policy,
                reschedule_allowed: self.reschedule_allowed,
                min_participants: min_participants.unwrap_or(0),
                decision_hours: decision_hours.unwrap_or(super::minimum::DEFAULT_DECISION_HOURS),
            }),
            _ => Err(AppError::invalid("tour", "is invalid")),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid tour draft (adults 35.00, children 15.00 EUR, Lisbon) other modules' tests share.
    pub(crate) fn draft() -> TourDraft {
        TourDraft {
            name: "Harbour cruise".into(),
            description: String::new(),
            meeting_point: "Pier 3".into(),
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
                    label: "Child".into(),
                    price: 1500,
                },
            ],
            cancellation_policy: Vec::new(),
            reschedule_allowed: true,
            min_participants: 0,
            decision_hours: 48,
        }
    }

    fn fields(error: AppError) -> Vec<String> {
        match error {
            AppError::Validation(fields) => fields.into_keys().collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_draft_validates() {
        let tour = draft().validate().unwrap();
        assert_eq!(tour.timezone, chrono_tz::Europe::Lisbon);
        assert_eq!(tour.unit("child").map(|u| u.price), Some(1500));
    }

    #[test]
    fn every_problem_is_reported_by_field() {
        let mut bad = draft();
        bad.timezone = "Mars/Olympus".into();
        bad.currency = "EURO".into();
        bad.min_per_booking = 9;
        bad.units[1].code = "adult".into();
        bad.units[0].price = -5;
        assert_eq!(
            fields(bad.validate().unwrap_err()),
            [
                "currency",
                "min_per_booking",
                "timezone",
                "units[0].price",
                "units[1].code"
            ]
        );
    }

    #[test]
    fn patches_revalidate_and_keep_zone_and_currency() {
        let tour = draft().validate().unwrap();
        let patched = tour
            .patched(TourPatch {
                name: Some("Sunset cruise".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(patched.name, "Sunset cruise");
        assert_eq!(patched.units, tour.units);
        let error = tour
            .patched(TourPatch {
                timezone: Some("Europe/Paris".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(fields(error), ["timezone"]);
        let error = tour.patched(TourPatch {
            max_per_booking: Some(0),
            ..Default::default()
        });
        assert_eq!(fields(error.unwrap_err()), ["max_per_booking"]);
    }
}
