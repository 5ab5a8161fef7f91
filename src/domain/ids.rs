//! Opaque identifiers. Entity ids are ULIDs (sortable, unguessable enough not to enumerate);
//! booking references are short codes a traveler can read over the phone.

use std::fmt;

use rand::Rng;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A fresh id; ULIDs sort by creation time, which keeps inserts index-friendly.
            pub fn generate() -> Self {
                Self(ulid::Ulid::new().to_string())
            }

            /// Accepts a ULID in any letter case; anything else is `None` (answered as 404).
            pub fn parse(text: &str) -> Option<Self> {
                if text.len() != 26 {
                    return None;
                }
                ulid::Ulid::from_string(text).ok().map(|id| Self(id.to_string()))
            }

            /// Wraps a value read back from our own database.
            pub fn from_stored(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

ulid_id!(
    /// A tenant: the company that runs tours.
    OperatorId
);
ulid_id!(TourId);
ulid_id!(ScheduleId);
ulid_id!(DepartureId);
ulid_id!(BookingId);
ulid_id!(
    /// An operator's outbound webhook endpoint.
    WebhookEndpointId
);
ulid_id!(TokenId);
ulid_id!(
    /// A secret calendar feed of a tour or a guide.
    CalendarFeedId
);
ulid_id!(
    /// An operator's promo code.
    PromoCodeId
);
ulid_id!(
    /// Something departures share and may not overfill: a boat, a bus, a guide.
    ResourceId
);
ulid_id!(
    /// One resource drawn on by a tour's departures (or one schedule's).
    ResourceAssignmentId
);
ulid_id!(
    /// A traveler's place in the waiting line of a sold-out departure.
    WaitlistEntryId
);
ulid_id!(
    /// An operator's own payment-provider account: its keys, kept from the moment they were
    /// set until they are replaced (then kept for the payments made under them).
    PaymentAccountId
);
ulid_id!(
    /// A reseller selling an operator's seats through the OCTO channel API.
    ResellerId
);
ulid_id!(
    /// A person who signs in for an operator.
    UserId
);
ulid_id!(
    /// One login: a family of access and refresh tokens.
    SessionId
);

/// Characters a human will not confuse: no 0/O, 1/I/L, and no U (accidental words).
const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const REFERENCE_LEN: usize = 8;

/// A booking reference such as `K7M2Q9PX`: 30^8 ≈ 6.6·10^11 values. It names a booking but never
/// grants access on its own; that takes the access token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookingRef(String);

impl BookingRef {
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        let code = (0..REFERENCE_LEN)
            .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
            .collect();
        Self(code)
    }

    /// Case-insensitive, so a reference typed in lower case still finds the booking.
    pub fn parse(text: &str) -> Option<Self> {
        let upper = text.to_ascii_uppercase();
        let valid =
            upper.len() == REFERENCE_LEN && upper.bytes().all(|b| REFERENCE_ALPHABET.contains(&b));
        valid.then_some(Self(upper))
    }

    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BookingRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = TourId::generate();
        assert_eq!(TourId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(TourId::parse(&id.as_str().to_lowercase()), Some(id));
        assert_eq!(TourId::parse("not-a-ulid"), None);
        assert_eq!(TourId::parse("1; DROP TABLE tours; --xxxx"), None);
        assert_eq!(TourId::parse(""), None);
    }

    #[test]
    fn references_use_only_unambiguous_characters() {
        for _ in 0..200 {
            let reference = BookingRef::generate();
            assert_eq!(reference.as_str().len(), 8);
            assert!(!reference.as_str().contains(['0', 'O', '1', 'I', 'L', 'U']));
            assert_eq!(
                BookingRef::parse(&reference.as_str().to_lowercase()),
                Some(reference)
            );
        }
        assert_eq!(BookingRef::parse("ABCDEFG0"), None);
        assert_eq!(BookingRef::parse("ABCDEFG"), None);
    }
}
