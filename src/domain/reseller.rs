//! Resellers: the channels (OTAs, marketplaces, concierges) that sell an operator's seats through
//! berth's OCTO API with a key of their own. A reseller sees and sells only its operator's tours
//! (all of them, or those it is limited to) and only its own bookings; it earns a commission,
//! the share of the retail price it keeps (its net price is the rest).

use std::collections::BTreeSet;

use super::ids::{OperatorId, ResellerId, TourId};
use crate::error::Problems;

/// A reseller as berth knows it (never its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reseller {
    pub id: ResellerId,
    pub operator_id: OperatorId,
    pub name: String,
    /// Percent of the retail price the reseller keeps, 0–100.
    pub commission_percent: u8,
    /// The tours it may sell; empty: every tour of the operator.
    pub tours: BTreeSet<TourId>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Reseller {
    /// Whether the reseller may sell (and see) this tour of its operator.
    pub fn sells(&self, operator: &OperatorId, tour: &TourId) -> bool {
        &self.operator_id == operator && (self.tours.is_empty() || self.tours.contains(tour))
    }

    /// The reseller's price for a retail amount: retail less its commission, rounded so the
    /// operator never gets less than its share (the commission is rounded down).
    pub fn net(&self, retail: i64) -> i64 {
        retail - commission(retail, self.commission_percent)
    }
}

/// A reseller's commission on a retail amount: `percent` of it, rounded down (toward zero).
pub fn commission(retail: i64, percent: u8) -> i64 {
    retail * i64::from(percent) / 100
}

/// What a reseller owes for a booking sold on account, as its receivable rows must add up to:
/// the retail price still charged and the commission on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    pub gross: i64,
    pub commission: i64,
}

impl Owed {
    pub fn on(retail: i64, percent: u8) -> Owed {
        Owed {
            gross: retail,
            commission: commission(retail, percent),
        }
    }

    /// What a booking of these lines owes: the commission is taken per traveller and
    /// multiplied, as OCTO's `net` prices show it, so the two always agree.
    pub fn of_lines(lines: &[super::pricing::QuoteLine], percent: u8) -> Owed {
        lines.iter().fold(
            Owed {
                gross: 0,
                commission: 0,
            },
            |sum, line| {
                let quantity = i64::from(line.quantity);
                Owed {
                    gross: sum.gross + line.unit_price * quantity,
                    commission: sum.commission + commission(line.unit_price, percent) * quantity,
                }
            },
        )
    }

    /// The row that takes what was recorded (`recorded`) to `self`; `None` when nothing changes.
    pub fn minus(self, recorded: Owed) -> Option<Owed> {
        let delta = Owed {
            gross: self.gross - recorded.gross,
            commission: self.commission - recorded.commission,
        };
        (delta
            != Owed {
                gross: 0,
                commission: 0,
            })
        .then_some(delta)
    }
}

/// A new reseller's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReseller {
    pub name: String,
    pub commission_percent: u8,
    pub tours: BTreeSet<TourId>,
}

impl NewReseller {
    /// Checks a name (1–100 characters, no control characters), a commission (0–100) and tour
    /// ids (each a tour id; whether they are the operator's is the service's to check).
    pub fn parse(
        name: &str,
        commission_percent: Option<i64>,
        tours: &[String],
    ) -> Result<NewReseller, crate::error::AppError> {
        let mut problems = Problems::new();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            problems.add("name", "must be 1 to 100 characters");
        }
        let commission = commission_percent.unwrap_or(0);
        if !(0..=100).contains(&commission) {
            problems.add(
                "commission_percent",
                "must be a whole percent from 0 to 100",
            );
        }
        if tours.len() > 200 {
            problems.add("tours", "at most 200 tours");
        }
        let mut parsed = BTreeSet::new();
        for tour in tours {
            match TourId::parse(tour) {
                Some(id) => {
                    parsed.insert(id);
                }
                None => problems.add("tours", format!("{tour:?} is not a tour id")),
            }
        }
        problems.into_result()?;
        Ok(NewReseller {
            name: name.to_owned(),
            commission_percent: u8::try_from(commission).unwrap_or(0),
            tours: parsed,
        })
    }
}

/// What a reseller's booking carries beyond the booking: the reseller's uuid for it (its
/// idempotency key), its own reference, the contact and notes as it sent them, and one uuid per
/// traveller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resale {
    pub reseller_id: ResellerId,
    pub uuid: String,
    pub reseller_reference: Option<String>,
    pub contact: Contact,
    pub notes: Option<String>,
    pub unit_items: Vec<ResaleUnit>,
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Once cancelled: what the tour's policy gave back then (`FULL`, `PARTIAL`, `NONE`).
    pub cancel_refund: Option<String>,
    /// Once cancelled: the reseller's reason, as sent.
    pub cancel_note: Option<String>,
}

/// One traveller of a reseller's booking: the unit (the tour's unit code) and its uuid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResaleUnit {
    pub uuid: String,
    pub unit_id: String,
}

/// A traveller's contact as a reseller sends it (OCTO's nine keys), kept as sent: it is echoed
/// back, and only what berth itself sends to (an email receipt) is checked.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase", default)]
pub struct Contact {
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
    pub phone_number: Option<String>,
    pub locales: Vec<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub notes: Option<String>,
}

/// The longest text berth keeps in one contact field, a uuid or a reference.
pub const MAX_TEXT: usize = 255;

impl Contact {
    /// The traveller's name as a booking shows it: the full name, else first and last name.
    pub fn display_name(&self) -> Option<String> {
        fn nonblank(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        if let Some(full) = nonblank(&self.full_name) {
            return Some(full.to_owned());
        }
        let parts: Vec<&str> = [nonblank(&self.first_name), nonblank(&self.last_name)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// Refuses a field longer than [`MAX_TEXT`] or holding control characters (notes may
    /// hold line breaks), or more than 10 locales; names the first field refused.
    pub fn check(&self) -> Result<(), &'static str> {
        let fields = [
            ("fullName", &self.full_name),
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
            ("emailAddress", &self.email_address),
            ("phoneNumber", &self.phone_number),
            ("postalCode", &self.postal_code),
            ("country", &self.country),
        ];
        for (name, value) in fields {
            if value.as_deref().is_some_and(|v| !short_text(v)) {
                return Err(name);
            }
        }
        if self.notes.as_deref().is_some_and(|n| !notes_text(n)) {
            return Err("notes");
        }
        if self.locales.len() > 10 || self.locales.iter().any(|l| !short_text(l)) {
            return Err("locales");
        }
        Ok(())
    }
}

/// A one-line text berth keeps: at most [`MAX_TEXT`] characters, no control characters.
pub fn short_text(text: &str) -> bool {
    text.chars().count() <= MAX_TEXT && !text.chars().any(char::is_control)
}

/// Notes: up to 2,000 characters; line breaks and tabs are the only control characters kept.
pub fn notes_text(text: &str) -> bool {
    text.chars().count() <= 2000
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reseller(commission: u8, tours: &[&TourId]) -> Reseller {
        Reseller {
            id: ResellerId::generate(),
            operator_id: OperatorId::from_stored("01HOPERATOR0000000000000000".into()),
            name: "Harbour OTA".into(),
            commission_percent: commission,
            tours: tours.iter().map(|t| (*t).clone()).collect(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            revoked_at: None,
        }
    }

    #[test]
    fn a_reseller_sells_its_operators_tours_or_only_those_it_is_limited_to() {
        let (a, b) = (TourId::generate(), TourId::generate());
        let all = reseller(20, &[]);
        let operator = all.operator_id.clone();
        assert!(all.sells(&operator, &a) && all.sells(&operator, &b));
        let other = OperatorId::generate();
        assert!(!all.sells(&other, &a), "never another operator's tour");
        let limited = reseller(20, &[&a]);
        assert!(limited.sells(&operator, &a) && !limited.sells(&operator, &b));
    }

    #[test]
    fn the_net_price_keeps_the_operators_share_whole() {
        assert_eq!(reseller(20, &[]).net(3500), 2800);
        assert_eq!(
            reseller(15, &[]).net(999),
            850,
            "149.85 commission rounds down to 149"
        );
        assert_eq!(reseller(0, &[]).net(3500), 3500);
        assert_eq!(reseller(100, &[]).net(3500), 0);
    }

    #[test]
    fn new_resellers_are_checked_field_by_field() {
        let ok = NewReseller::parse(" Harbour OTA ", Some(15), &[]).unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.commission_percent),
            ("Harbour OTA", 15)
        );
        let Err(crate::error::AppError::Validation(fields)) =
            NewReseller::parse("", Some(101), &["nope".into()])
        else {
            panic!("expected a validation error");
        };
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(names, ["commission_percent", "name", "tours"]);
    }
}
