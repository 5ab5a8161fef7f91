//! Money is an integer amount of minor units (cents) in an ISO 4217 currency. No floats anywhere.

use std::fmt;

/// Active ISO 4217 codes. A typo such as `EUR ` or `EU` must not become a tour's currency.
const ISO_4217: &str =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR \
FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES \
KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR \
MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR \
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH \
UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, String> {
        let known = code.len() == 3 && ISO_4217.split_ascii_whitespace().any(|c| c == code);
        if !known {
            return Err("must be an ISO 4217 currency code such as EUR or USD".into());
        }
        let bytes = code.as_bytes();
        Ok(Self([bytes[0], bytes[1], bytes[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from an entry of ISO_4217, which is ASCII.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most a single unit may cost, in minor units (10 million in a two-decimal currency).
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000;

/// Validates a unit price in minor units.
pub fn parse_price(minor: i64) -> Result<i64, String> {
    if (0..=MAX_UNIT_PRICE).contains(&minor) {
        Ok(minor)
    } else {
        Err(format!(
            "must be between 0 and {MAX_UNIT_PRICE} minor units"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse_and_others_do_not() {
        assert_eq!(
            Currency::parse("EUR").map(|c| c.to_string()),
            Ok("EUR".to_owned())
        );
        assert!(Currency::parse("JPY").is_ok());
        for bad in ["eur", "EU", "EURO", "XXX", "", "E R", "ABC"] {
            assert!(Currency::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn prices_are_bounded() {
        assert_eq!(parse_price(0), Ok(0));
        assert_eq!(parse_price(3500), Ok(3500));
        assert!(parse_price(-1).is_err());
        assert!(parse_price(MAX_UNIT_PRICE + 1).is_err());
    }
}

/// Digits after the decimal point in a currency's major unit (ISO 4217 "minor unit").
pub fn minor_digits(currency: &str) -> u32 {
    const ZERO: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if ZERO.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// `7000, "EUR"` → `70.00 EUR`; `1500, "JPY"` → `1500 JPY`.
pub fn format_amount(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_major(minor, currency))
}

/// The amount in major units as typed in a form, without the currency: `7000, "EUR"` →
/// `70.00`; `1500, "JPY"` → `1500`.
pub fn format_major(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let (major, fraction) = (minor.abs() / scale, minor.abs() % scale);
    format!("{sign}{major}.{fraction:0width$}", width = digits as usize)
}

/// Reads a non-negative amount typed in major units (`70`, `70.5`, `70.50`) as minor units of
/// `currency`, never through a float. More decimals than the currency has are refused, not
/// rounded.
pub fn parse_major(text: &str, currency: &str) -> Result<i64, String> {
    let digits = minor_digits(currency) as usize;
    let text = text.trim();
    let (major, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shape_ok = !major.is_empty()
        && major.len() <= 12
        && all_digits(major)
        && all_digits(fraction)
        && (fraction.len() <= digits)
        && !(text.contains('.') && fraction.is_empty());
    if !shape_ok {
        return Err(match digits {
            0 => format!("must be a whole amount in {currency}, like 1500"),
            n => format!("must be an amount in {currency} with at most {n} decimals, like 25.50"),
        });
    }
    let scale = 10i64.pow(digits as u32);
    let padded = format!("{fraction:0<digits$}");
    let major: i64 = major.parse().map_err(|e| format!("{e}"))?;
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|e| format!("{e}"))?
    };
    Ok(major * scale + fraction)
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_minor_unit() {
        assert_eq!(format_amount(7000, "EUR"), "70.00 EUR");
        assert_eq!(format_amount(5, "EUR"), "0.05 EUR");
        assert_eq!(format_amount(1500, "JPY"), "1500 JPY");
        assert_eq!(format_amount(12345, "KWD"), "12.345 KWD");
        assert_eq!(format_amount(-250, "USD"), "-2.50 USD");
    }

    #[test]
    fn typed_amounts_read_as_minor_units_without_rounding() {
        assert_eq!(parse_major("70", "EUR"), Ok(7000));
        assert_eq!(parse_major(" 70.5 ", "EUR"), Ok(7050));
        assert_eq!(parse_major("0.05", "EUR"), Ok(5));
        assert_eq!(parse_major("1500", "JPY"), Ok(1500));
        assert_eq!(parse_major("12.345", "KWD"), Ok(12345));
        for bad in [
            "",
            "-1",
            "1.234",
            "1.",
            ".5",
            "1,50",
            "abc",
            "1e3",
            "9999999999999",
        ] {
            assert!(parse_major(bad, "EUR").is_err(), "{bad:?} accepted");
        }
        assert!(parse_major("10.5", "JPY").is_err());
        for minor in [0, 5, 7050, 123_456] {
            assert_eq!(parse_major(&format_major(minor, "EUR"), "EUR"), Ok(minor));
        }
    }
}
