//! How berth's catalogue reads in OCTO's words (the channel API resellers speak): rules that do
//! not depend on the wire format's plumbing.

use super::capacity::SalesStatus;

/// The OCTO unit type of a tour's unit, from its code: the usual ticket names map to OCTO's
/// types, anything else is `OTHER` (a reseller then shows the unit's own name).
pub fn unit_type(code: &str) -> &'static str {
    match code.trim().to_ascii_lowercase().as_str() {
        "adult" | "adults" => "ADULT",
        "youth" | "teen" | "teenager" => "YOUTH",
        "child" | "children" | "kid" | "kids" => "CHILD",
        "infant" | "baby" => "INFANT",
        "family" => "FAMILY",
        "senior" | "seniors" => "SENIOR",
        "student" | "students" => "STUDENT",
        "military" => "MILITARY",
        _ => "OTHER",
    }
}

/// A departure's (or a day's) status as OCTO names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlotStatus {
    // Declared from best to worst: a day takes the best status among its departures.
    Available,
    Limited,
    SoldOut,
    Closed,
}

impl SlotStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SlotStatus::Available => "AVAILABLE",
            SlotStatus::Limited => "LIMITED",
            SlotStatus::SoldOut => "SOLD_OUT",
            SlotStatus::Closed => "CLOSED",
        }
    }

    /// Whether seats can be bought (`available` in OCTO).
    pub const fn is_open(self) -> bool {
        matches!(self, SlotStatus::Available | SlotStatus::Limited)
    }
}

/// A departure's OCTO status from berth's own sales status (the one rule of when a departure
/// sells): cancelled or past its cutoff is `CLOSED`, no seats `SOLD_OUT`, less than half its
/// seats left `LIMITED`, else `AVAILABLE`.
pub fn slot_status(sales: SalesStatus, available: u32, capacity: u32) -> SlotStatus {
    match sales {
        SalesStatus::Cancelled | SalesStatus::Closed => SlotStatus::Closed,
        SalesStatus::SoldOut => SlotStatus::SoldOut,
        SalesStatus::Open if u64::from(available) * 2 < u64::from(capacity) => SlotStatus::Limited,
        SalesStatus::Open => SlotStatus::Available,
    }
}

/// A day's status: the best of its departures' (`CLOSED` for a day without any).
pub fn day_status(slots: impl IntoIterator<Item = SlotStatus>) -> SlotStatus {
    slots.into_iter().min().unwrap_or(SlotStatus::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_departure_reads_as_octo_says() {
        use SalesStatus::*;
        assert_eq!(
            slot_status(Open, 10, 20),
            SlotStatus::Available,
            "half left"
        );
        assert_eq!(slot_status(Open, 9, 20), SlotStatus::Limited, "under half");
        assert_eq!(slot_status(SoldOut, 0, 20), SlotStatus::SoldOut);
        assert_eq!(slot_status(Closed, 15, 20), SlotStatus::Closed);
        assert_eq!(slot_status(Cancelled, 20, 20), SlotStatus::Closed);
        assert!(SlotStatus::Limited.is_open() && !SlotStatus::SoldOut.is_open());
    }

    #[test]
    fn a_day_takes_its_best_departure() {
        use SlotStatus::*;
        assert_eq!(day_status([SoldOut, Limited, Closed]), Limited);
        assert_eq!(day_status([SoldOut, Available]), Available);
        assert_eq!(day_status([Closed, SoldOut]), SoldOut);
        assert_eq!(day_status([]), Closed);
    }

    #[test]
    fn unit_codes_map_to_octo_types() {
        assert_eq!(unit_type("adult"), "ADULT");
        assert_eq!(unit_type(" Child "), "CHILD");
        assert_eq!(unit_type("senior"), "SENIOR");
        assert_eq!(unit_type("kayak-double"), "OTHER");
    }
}
