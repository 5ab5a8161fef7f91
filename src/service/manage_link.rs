//! The traveler's manage link: `{BERTH_PUBLIC_URL}/manage/{reference}/{token}`, a capability
//! that opens one booking's manage page (see, cancel, reschedule, download the `.ics`).
//!
//! The token is `{expiry}.{mac}`: `expiry` in Unix seconds (hex), [`VALID_DAYS`] days after
//! the departure the link was made for, and `mac` the first 128 bits of HMAC-SHA256 under
//! `BERTH_SECRET_KEY` over the purpose `manage-link`, the reference and the expiry
//! ([`Keyring::hash`]: the purpose keeps it apart from every other MAC berth makes with the
//! same key). Nothing is stored: rotating the key voids every link. The link is checked in
//! constant time; a wrong one answers 404, an outdated one 410. It lives in the path, so
//! `logging` prints `/manage/{reference}/…` instead of it.

use chrono::{DateTime, Duration, Utc};

use crate::domain::records::{BookingRecord, DepartureRecord};
use crate::secrets::{constant_time_eq, Keyring};

/// Days after its departure that a manage link still opens the booking (to see a refund or
/// download a receipt after the trip).
pub const VALID_DAYS: i64 = 30;

/// The path prefix of manage pages.
pub const BASE: &str = "/manage";

const PURPOSE: &str = "manage-link";

/// The token for `reference`, valid until `VALID_DAYS` after `starts_at`.
pub fn token(keys: &Keyring, reference: &str, starts_at: DateTime<Utc>) -> String {
    let expiry = (starts_at + Duration::days(VALID_DAYS)).timestamp();
    let expiry = format!("{expiry:x}");
    format!("{expiry}.{}", mac(keys, reference, &expiry))
}

fn mac(keys: &Keyring, reference: &str, expiry: &str) -> String {
    let mut mac = keys.hash(PURPOSE, &format!("{reference}\0{expiry}"));
    mac.truncate(32);
    mac
}

/// The manage page's path for a booking on `departure` (its current one).
pub fn path(keys: &Keyring, booking: &BookingRecord, departure: &DepartureRecord) -> String {
    let token = token(
        keys,
        booking.reference.as_str(),
        departure.occupancy.starts_at,
    );
    format!("{BASE}/{}/{token}", booking.reference)
}

/// The absolute manage link every message about a booking carries; `public_url` is
/// `BERTH_PUBLIC_URL`. The confirmation page links [`path`] too.
pub fn url(
    public_url: &str,
    keys: &Keyring,
    booking: &BookingRecord,
    departure: &DepartureRecord,
) -> String {
    format!(
        "{}{}",
        public_url.trim_end_matches('/'),
        path(keys, booking, departure)
    )
}

/// What a presented link is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Genuine, but past its expiry: 410.
    Expired,
    /// Altered, made for another booking or under another key, or malformed: 404.
    Invalid,
}

/// Checks `token` for `reference` at `now`.
pub fn verify(keys: &Keyring, reference: &str, token: &str, now: DateTime<Utc>) -> Verdict {
    let Some((expiry, presented)) = token.split_once('.') else {
        return Verdict::Invalid;
    };
    if expiry.is_empty() || expiry.len() > 16 || !expiry.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Verdict::Invalid;
    }
    if !constant_time_eq(&mac(keys, reference, expiry), presented) {
        return Verdict::Invalid;
    }
    match i64::from_str_radix(expiry, 16) {
        Ok(expiry) if now.timestamp() < expiry => Verdict::Valid,
        Ok(_) => Verdict::Expired,
        Err(_) => Verdict::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn keys() -> Keyring {
        Keyring::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_link_opens_its_booking_until_thirty_days_after_the_departure() {
        let starts = Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap();
        let token = token(&keys(), "BK7X2M", starts);
        assert_eq!(verify(&keys(), "BK7X2M", &token, starts), Verdict::Valid);
        let last = starts + Duration::days(VALID_DAYS) - Duration::seconds(1);
        assert_eq!(verify(&keys(), "BK7X2M", &token, last), Verdict::Valid);
        let after = starts + Duration::days(VALID_DAYS);
        assert_eq!(verify(&keys(), "BK7X2M", &token, after), Verdict::Expired);
    }

    #[test]
    fn a_link_for_another_booking_key_or_expiry_is_refused() {
        let starts = Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap();
        let token = token(&keys(), "BK7X2M", starts);
        assert_eq!(verify(&keys(), "BK7X2N", &token, starts), Verdict::Invalid);
        let other = Keyring::new(b"another key, also thirty-two bytes!");
        assert_eq!(verify(&other, "BK7X2M", &token, starts), Verdict::Invalid);
        // Pushing the expiry out breaks the MAC.
        let (expiry, mac) = token.split_once('.').unwrap();
        let later = i64::from_str_radix(expiry, 16).unwrap() + 86_400;
        let forged = format!("{later:x}.{mac}");
        assert_eq!(verify(&keys(), "BK7X2M", &forged, starts), Verdict::Invalid);
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            verify(&keys(), "BK7X2M", &flipped, starts),
            Verdict::Invalid
        );
        for junk in ["", ".", "zz.00", "abc", &format!("{}.", expiry)] {
            assert_eq!(
                verify(&keys(), "BK7X2M", junk, starts),
                Verdict::Invalid,
                "{junk}"
            );
        }
    }
}
