//! Stripe's webhook signatures: verifying a `Stripe-Signature` header over the raw body, and
//! signing a payload the same way (for tests and tooling).

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature in Stripe-Signature matches")]
    Mismatch,
}

/// Verifies a `Stripe-Signature` header (`t=…,v1=…[,v1=…][,v0=…]`) over the raw body: an
/// HMAC-SHA256, keyed with the endpoint's signing secret, of `"{t}.{body}"`, compared in
/// constant time against every `v1` (there are several while a secret is being rolled). The
/// timestamp must be within `tolerance` seconds of `now` either way, so a captured request
/// cannot be replayed later. The distance is computed without overflow: a timestamp near
/// `i64::MIN` or `i64::MAX` is merely stale, never a panic.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    use hmac::{Hmac, Mac};
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_unix.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mac = {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::Malformed)?;
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    };
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs a payload the way Stripe does; for tests and for `berth`'s own tooling.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_is_checked_against_every_v1_and_the_clock() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let now = 1_700_000_000;
        let good = sign(SECRET, now, body);
        let header = format!("t={now},v1={good}");
        assert_eq!(verify_signature(SECRET, &header, body, now, 300), Ok(()));
        // Secret rotation: the valid signature may come second, after one from the old secret.
        let rotated = format!(
            "t={now},v1={},v1={good},v0=abc",
            sign("whsec_old", now, body)
        );
        assert_eq!(verify_signature(SECRET, &rotated, body, now, 300), Ok(()));
        assert_eq!(
            verify_signature(SECRET, &header, body, now + 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(SECRET, &header, body, now - 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(SECRET, &header, b"{\"id\":\"evt_2\"}", now, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_other", &header, body, now, 300),
            Err(SignatureError::Mismatch)
        );
        // A signature over a different timestamp does not verify with this one.
        let moved = format!("t={},v1={good}", now + 1);
        assert_eq!(
            verify_signature(SECRET, &moved, body, now, 300),
            Err(SignatureError::Mismatch)
        );
        for malformed in ["", "t=abc,v1=00", &format!("t={now}"), "v1=00", "garbage"] {
            assert_eq!(
                verify_signature(SECRET, malformed, body, now, 300),
                Err(SignatureError::Malformed),
                "{malformed:?}"
            );
        }
        assert_eq!(
            verify_signature(SECRET, &format!("t={now},v1=zz"), body, now, 300),
            Err(SignatureError::Mismatch)
        );
    }

    /// `now - t` overflows for a timestamp far enough from now; such a header must be stale,
    /// whether or not its signature is valid, and never panic (a panic would be a 500).
    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_not_an_overflow() {
        let body = br#"{"id":"evt_1"}"#;
        for now in [0, 1_700_000_000, i64::MAX, i64::MIN, -1] {
            for timestamp in [
                i64::MIN,
                i64::MIN + 1,
                i64::MAX,
                i64::MAX - 1,
                -1_700_000_000,
            ] {
                if now.abs_diff(timestamp) <= 300 {
                    continue;
                }
                let header = format!("t={timestamp},v1={}", sign(SECRET, timestamp, body));
                assert_eq!(
                    verify_signature(SECRET, &header, body, now, 300),
                    Err(SignatureError::Stale),
                    "now {now}, t {timestamp}"
                );
            }
        }
        // At the very ends, a timestamp within the tolerance still verifies.
        let header = format!("t={},v1={}", i64::MAX, sign(SECRET, i64::MAX, body));
        assert_eq!(
            verify_signature(SECRET, &header, body, i64::MAX - 300, 300),
            Ok(())
        );
        let header = format!("t={},v1={}", i64::MIN, sign(SECRET, i64::MIN, body));
        assert_eq!(
            verify_signature(SECRET, &header, body, i64::MIN + 300, 300),
            Ok(())
        );
        // An out-of-range number is not a timestamp at all.
        let header = format!("t=9223372036854775808,v1={}", sign(SECRET, 0, body));
        assert_eq!(
            verify_signature(SECRET, &header, body, 0, 300),
            Err(SignatureError::Malformed)
        );
    }

    /// Computed independently with Python's `hmac` module:
    /// `hmac.new(b"whsec_test_secret", b"1700000000." + body, hashlib.sha256).hexdigest()`.
    #[test]
    fn signatures_match_an_independent_implementation() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        assert_eq!(
            sign(SECRET, 1_700_000_000, body),
            "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"
        );
    }
}
