//! Money, dates and times written the way each page language writes them. Amounts arrive as
//! integer minor units with their ISO 4217 code (see `domain::money`); no floats anywhere.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use fluent_bundle::FluentArgs;

use super::{Catalogue, Lang};
use crate::domain::money::minor_digits;

/// The symbol a language uses for a currency, when it has one (CLDR's), else the code.
fn symbol(lang: Lang, currency: &str) -> &str {
    match (lang, currency) {
        (_, "EUR") => "€",
        (Lang::En, "USD") => "$",
        (Lang::Es, "USD") => "US$",
        (Lang::En, "GBP") => "£",
        (Lang::En, "JPY") => "¥",
        _ => currency,
    }
}

/// `digits` grouped by threes with `separator`, unless the number is shorter than
/// `min_digits` (Spanish writes 1234 but 12.345).
fn group(digits: &str, separator: char, min_digits: usize) -> String {
    if digits.len() < min_digits {
        return digits.to_owned();
    }
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// `3500, "EUR"` → `€35.00` (English) or `35,00 €` (Spanish); `1500, "JPY"` → `¥1,500` or
/// `1500 JPY`. Unknown symbols fall back to the code: `CHF 35.00` / `35,00 CHF`.
pub fn money(minor: i64, currency: &str, lang: Lang) -> String {
    let digits = minor_digits(currency);
    let scale = 10u64.pow(digits);
    let magnitude = minor.unsigned_abs();
    let (major, fraction) = (magnitude / scale, magnitude % scale);
    let sign = if minor < 0 { "-" } else { "" };
    let symbol = symbol(lang, currency);
    let is_code = symbol.len() == 3 && symbol.chars().all(|c| c.is_ascii_uppercase());
    const NBSP: char = '\u{a0}';
    match lang {
        Lang::En => {
            let mut number = group(&major.to_string(), ',', 4);
            if digits > 0 {
                number = format!("{number}.{fraction:0width$}", width = digits as usize);
            }
            if is_code {
                format!("{sign}{symbol}{NBSP}{number}")
            } else {
                format!("{sign}{symbol}{number}")
            }
        }
        Lang::Es => {
            let mut number = group(&major.to_string(), '.', 5);
            if digits > 0 {
                number = format!("{number},{fraction:0width$}", width = digits as usize);
            }
            format!("{sign}{number}{NBSP}{symbol}")
        }
    }
}

/// A local clock time: `9:30 AM` (English) or `9:30` (Spanish).
pub fn time(at: NaiveTime, lang: Lang) -> String {
    let minute = at.minute();
    match lang {
        Lang::En => {
            let (pm, hour) = at.hour12();
            let suffix = if pm { "PM" } else { "AM" };
            format!("{hour}:{minute:02}\u{a0}{suffix}")
        }
        Lang::Es => format!("{}:{minute:02}", at.hour()),
    }
}

/// `Friday, 14 May 2027` / `viernes, 14 de mayo de 2027`: the names and the order come from the
/// catalogue (`weekday-N`, `month-N`, `date-long`).
pub fn date_long(date: NaiveDate, lang: Lang, catalogue: &Catalogue) -> String {
    let mut args = FluentArgs::new();
    let weekday = date.weekday().number_from_monday();
    args.set(
        "weekday",
        catalogue.message(lang, &format!("weekday-{weekday}"), None),
    );
    args.set("day", date.day());
    args.set(
        "month",
        catalogue.message(lang, &format!("month-{}", date.month()), None),
    );
    args.set("year", date.year().to_string());
    catalogue.message(lang, "date-long", Some(&args))
}

/// `May 2027` / `mayo de 2027`.
pub fn month_title(year: i32, month: u32, lang: Lang, catalogue: &Catalogue) -> String {
    let mut args = FluentArgs::new();
    args.set(
        "month",
        catalogue.message(lang, &format!("month-{month}"), None),
    );
    args.set("year", year.to_string());
    catalogue.message(lang, "month-title", Some(&args))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NBSP: char = '\u{a0}';

    #[test]
    fn english_money_puts_the_symbol_first_and_groups_thousands() {
        assert_eq!(money(3500, "EUR", Lang::En), "€35.00");
        assert_eq!(money(123_456_789, "USD", Lang::En), "$1,234,567.89");
        assert_eq!(money(5, "GBP", Lang::En), "£0.05");
        assert_eq!(money(150_000, "JPY", Lang::En), "¥150,000");
        assert_eq!(money(12_345, "KWD", Lang::En), format!("KWD{NBSP}12.345"));
        assert_eq!(money(-250, "EUR", Lang::En), "-€2.50");
        assert_eq!(money(0, "CHF", Lang::En), format!("CHF{NBSP}0.00"));
    }

    #[test]
    fn spanish_money_uses_a_decimal_comma_and_groups_from_five_digits() {
        assert_eq!(money(3500, "EUR", Lang::Es), format!("35,00{NBSP}€"));
        assert_eq!(money(123_400, "EUR", Lang::Es), format!("1234,00{NBSP}€"));
        assert_eq!(
            money(1_234_500, "EUR", Lang::Es),
            format!("12.345,00{NBSP}€")
        );
        assert_eq!(money(150_000, "JPY", Lang::Es), format!("150.000{NBSP}JPY"));
        assert_eq!(money(999, "USD", Lang::Es), format!("9,99{NBSP}US$"));
        assert_eq!(money(-250, "EUR", Lang::Es), format!("-2,50{NBSP}€"));
    }

    #[test]
    fn the_largest_amounts_format_without_overflow() {
        assert_eq!(
            money(i64::MIN, "EUR", Lang::En),
            "-€92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn times_follow_the_language_clock() {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(time(at(9, 5), Lang::En), format!("9:05{NBSP}AM"));
        assert_eq!(time(at(0, 30), Lang::En), format!("12:30{NBSP}AM"));
        assert_eq!(time(at(18, 0), Lang::En), format!("6:00{NBSP}PM"));
        assert_eq!(time(at(18, 0), Lang::Es), "18:00");
        assert_eq!(time(at(7, 45), Lang::Es), "7:45");
    }

    #[test]
    fn dates_use_the_catalogue_names_and_order() {
        let catalogue = Catalogue::load().unwrap();
        let date = NaiveDate::from_ymd_opt(2027, 5, 14).unwrap();
        assert_eq!(date_long(date, Lang::En, &catalogue), "Friday, 14 May 2027");
        assert_eq!(
            date_long(date, Lang::Es, &catalogue),
            "viernes, 14 de mayo de 2027"
        );
        assert_eq!(month_title(2027, 5, Lang::En, &catalogue), "May 2027");
        assert_eq!(month_title(2027, 5, Lang::Es, &catalogue), "mayo de 2027");
    }
}
