//! Resellers: the channels (OTAs, marketplaces, concierges) that sell an operator's seats through
//! berth's OCTO API with a key of their own. A reseller sees and sells only its operator's tours
//! (all of them, or those it is limited to) and only its own bookings; it earns a commission,
//! the share of the retail price it keeps (its net price is the rest).

use std::collections::BTreeSet;

use super::customer::{Email, Phone};
use super::ids::{OperatorId, ResellerId, TourId};
use super::lang::Lang;
use super::records::Customer;
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

/// Whether berth itself messages the travellers of an operator's reseller bookings (the
/// operator's setting): the reseller may tell them itself, and one message from each is enough.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResaleMessages {
    /// Never: the reseller tells its travellers itself.
    Never,
    /// An email receipt when the reseller asks for one (OCTO's `emailReceipt: true`).
    #[default]
    OnRequest,
    /// An email and an SMS whenever the contact has a usable address or number.
    Always,
}

impl ResaleMessages {
    pub const ALL: [ResaleMessages; 3] = [
        ResaleMessages::Never,
        ResaleMessages::OnRequest,
        ResaleMessages::Always,
    ];

    /// The stored and API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResaleMessages::Never => "never",
            ResaleMessages::OnRequest => "on_request",
            ResaleMessages::Always => "always",
        }
    }

    pub fn parse(text: &str) -> Option<ResaleMessages> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// The traveller of a reseller's booking as the booking row keeps them: the contact's name
    /// (else the seller's, in brackets), and only the address and number berth may write to,
    /// in the first of the contact's locales berth speaks.
    pub fn customer(self, contact: &Contact, seller: &str, email_receipt: bool) -> Customer {
        // The booking row keeps at most 200 characters of a name.
        let name: String = contact
            .display_name()
            .unwrap_or_else(|| format!("({seller})"))
            .chars()
            .take(200)
            .collect();
        let (email, sms) = match self {
            ResaleMessages::Never => (false, false),
            ResaleMessages::OnRequest => (email_receipt, false),
            ResaleMessages::Always => (true, true),
        };
        let email = contact
            .email_address
            .as_deref()
            .filter(|_| email)
            .and_then(|e| Email::parse(e).ok())
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default();
        let phone = contact
            .phone_number
            .as_deref()
            .filter(|_| sms)
            .and_then(|p| Phone::parse(p).ok())
            .map(|p| p.as_str().to_owned());
        Customer {
            name,
            email,
            phone,
            language: contact
                .locales
                .iter()
                .find_map(|l| Lang::parse(l))
                .unwrap_or(Lang::En),
        }
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

    #[test]
    fn the_operators_setting_decides_what_berth_may_write_to() {
        let contact = Contact {
            first_name: Some("Ana".into()),
            last_name: Some("Silva".into()),
            email_address: Some("ana@example.com".into()),
            phone_number: Some("+351 912 345 678".into()),
            locales: vec!["fr".into(), "es-ES".into()],
            ..Contact::default()
        };
        let reach = |messages: ResaleMessages, receipt: bool| {
            let c = messages.customer(&contact, "OTA", receipt);
            (c.email, c.phone)
        };
        assert_eq!(reach(ResaleMessages::Never, true), (String::new(), None));
        assert_eq!(
            reach(ResaleMessages::OnRequest, false),
            (String::new(), None)
        );
        assert_eq!(
            reach(ResaleMessages::OnRequest, true),
            ("ana@example.com".to_owned(), None)
        );
        assert_eq!(
            reach(ResaleMessages::Always, false),
            (
                "ana@example.com".to_owned(),
                Some("+351912345678".to_owned())
            )
        );
        let always = ResaleMessages::Always.customer(&contact, "OTA", false);
        assert_eq!(always.name, "Ana Silva");
        assert_eq!(always.language, Lang::Es, "the first locale berth speaks");
        let unusable = Contact {
            email_address: Some("not an address".into()),
            phone_number: Some("12".into()),
            ..Contact::default()
        };
        let none = ResaleMessages::Always.customer(&unusable, "OTA", true);
        assert_eq!((none.email.as_str(), none.phone), ("", None));
        assert_eq!((none.name.as_str(), none.language), ("(OTA)", Lang::En));
    }

    #[test]
    fn the_setting_reads_back_what_it_writes() {
        for messages in ResaleMessages::ALL {
            assert_eq!(ResaleMessages::parse(messages.as_str()), Some(messages));
        }
        assert_eq!(ResaleMessages::parse("sometimes"), None);
    }
}
