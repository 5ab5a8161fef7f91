//! Server-side quotes: what a booking costs is computed here from the tour's prices, never
//! taken from the client.

use serde::Deserialize;

use super::price_rules::UnitPrices;
use super::tour::{Tour, MAX_UNITS};
use crate::error::{AppError, Problems};

/// One line of a booking request: a unit code and how many seats of it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    pub unit: String,
    pub quantity: i64,
}

/// One priced line: the unit price is frozen at booking time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    pub unit: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub seats: u32,
    pub total: i64,
}

/// Prices the requested items against the tour at a departure's `prices` (what
/// `DepartureRecord::prices` says each unit sells at there), enforcing the per-booking seat
/// limits.
pub fn quote(tour: &Tour, prices: &UnitPrices, items: &[ItemRequest]) -> Result<Quote, AppError> {
    let mut p = Problems::new();
    if items.is_empty() || items.len() > MAX_UNITS {
        return Err(AppError::invalid(
            "items",
            format!("must list 1 to {MAX_UNITS} items"),
        ));
    }
    let mut lines: Vec<QuoteLine> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(unit) = tour.unit(&item.unit) else {
            p.add(
                format!("items[{i}].unit"),
                "is not a unit type of this tour",
            );
            continue;
        };
        if lines.iter().any(|line| line.unit == unit.code) {
            p.add(format!("items[{i}].unit"), "is listed twice");
            continue;
        }
        let max = i64::from(tour.max_per_booking);
        if !(1..=max).contains(&item.quantity) {
            p.add(
                format!("items[{i}].quantity"),
                format!("must be between 1 and {max}"),
            );
            continue;
        }
        lines.push(QuoteLine {
            unit: unit.code.clone(),
            quantity: item.quantity as u32,
            unit_price: prices.get(&unit.code).copied().unwrap_or(unit.price),
        });
    }
    p.into_result()?;
    let seats: u32 = lines.iter().map(|line| line.quantity).sum();
    if seats < tour.min_per_booking || seats > tour.max_per_booking {
        return Err(AppError::invalid(
            "items",
            format!(
                "a booking takes {} to {} seats; this one asks for {seats}",
                tour.min_per_booking, tour.max_per_booking
            ),
        ));
    }
    // Bounded: at most 100 seats of at most 10^9 each.
    let total = lines
        .iter()
        .map(|line| i64::from(line.quantity) * line.unit_price)
        .sum();
    Ok(Quote {
        lines,
        seats,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tour::tests::draft;
    use crate::domain::tour::TourDraft;

    fn tour(min: i64, max: i64) -> Tour {
        TourDraft {
            min_per_booking: min,
            max_per_booking: max,
            ..draft()
        }
        .validate()
        .unwrap()
    }

    fn item(unit: &str, quantity: i64) -> ItemRequest {
        ItemRequest {
            unit: unit.into(),
            quantity,
        }
    }

    #[test]
    fn totals_come_from_the_tour_prices() {
        let base = UnitPrices::new();
        let q = quote(&tour(1, 10), &base, &[item("adult", 2), item("child", 1)]).unwrap();
        assert_eq!((q.seats, q.total), (3, 8500));
        assert_eq!(
            q.lines[1],
            QuoteLine {
                unit: "child".into(),
                quantity: 1,
                unit_price: 1500
            }
        );
    }

    #[test]
    fn a_departures_prices_replace_the_base_ones_unit_by_unit() {
        let prices: UnitPrices = [("adult".to_owned(), 4000)].into();
        let q = quote(&tour(1, 10), &prices, &[item("adult", 2), item("child", 1)]).unwrap();
        assert_eq!((q.lines[0].unit_price, q.lines[1].unit_price), (4000, 1500));
        assert_eq!(q.total, 9500);
    }

    #[test]
    fn bad_items_are_rejected() {
        let t = tour(2, 4);
        for items in [
            vec![],
            vec![item("senior", 2)],
            vec![item("adult", 0)],
            vec![item("adult", -3)],
            vec![item("adult", i64::MAX)],
            vec![item("adult", 1), item("adult", 1)],
            vec![item("adult", 1)],
            vec![item("adult", 3), item("child", 2)],
        ] {
            assert!(
                matches!(
                    quote(&t, &UnitPrices::new(), &items),
                    Err(AppError::Validation(_))
                ),
                "{items:?}"
            );
        }
    }
}
