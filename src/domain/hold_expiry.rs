//! How long a hold lasts: what the client asks for (or the instance's default), never longer
//! than the instance's maximum, and never past the departure's sales cutoff, when seats stop
//! selling anyway.

use chrono::{DateTime, Duration, Utc};

/// The instance's hold lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldTimes {
    /// A hold's length when the client names none (`BERTH_HOLD_TTL_SECONDS`).
    pub default: Duration,
    /// The longest a client may ask for, at a hold or an extension (`BERTH_HOLD_MAX_SECONDS`).
    pub max: Duration,
}

impl HoldTimes {
    /// When a hold made `now` lapses.
    pub fn expiry(
        &self,
        now: DateTime<Utc>,
        asked: Option<Duration>,
        sales_close: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let length = asked.unwrap_or(self.default).min(self.max);
        (now + length).min(sales_close)
    }

    /// A live hold's new expiry when its client extends it `now`: `asked` (or the default)
    /// from now, within the same bounds, and never more than the maximum after the hold was
    /// `made` (so extending again and again cannot keep seats from sale). Refused when that is
    /// no later than the hold already runs, which is the case at the sales cutoff and at the
    /// maximum.
    pub fn extended(
        &self,
        now: DateTime<Utc>,
        made: DateTime<Utc>,
        current: DateTime<Utc>,
        asked: Option<Duration>,
        sales_close: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ExtendRefused> {
        let limit = made + self.max;
        let until = self.expiry(now, asked, sales_close).min(limit);
        if until <= current {
            return Err(if until >= sales_close {
                ExtendRefused::AtCutoff
            } else if until >= limit {
                ExtendRefused::AtMaximum
            } else {
                ExtendRefused::NotLonger
            });
        }
        Ok(until)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendRefused {
    /// The hold already runs until the departure's sales cutoff.
    AtCutoff,
    /// The hold already runs the longest a hold may, counted from when it was made.
    AtMaximum,
    /// The hold already runs longer than the extension asked for.
    NotLonger,
}

impl ExtendRefused {
    pub const fn message(self) -> &'static str {
        match self {
            ExtendRefused::AtCutoff => {
                "the hold already lasts until the departure's sales cutoff and cannot be extended"
            }
            ExtendRefused::AtMaximum => {
                "the hold already lasts the longest a hold may (BERTH_HOLD_MAX_SECONDS from when it was made)"
            }
            ExtendRefused::NotLonger => {
                "the hold already lasts longer than that; ask for more minutes"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn times() -> HoldTimes {
        HoldTimes {
            default: Duration::minutes(15),
            max: Duration::minutes(60),
        }
    }

    #[test]
    fn a_hold_lasts_what_is_asked_within_the_maximum_and_the_cutoff() {
        let now = Utc.with_ymd_and_hms(2030, 5, 1, 10, 0, 0).unwrap();
        let far = now + Duration::days(3);
        assert_eq!(times().expiry(now, None, far), now + Duration::minutes(15));
        assert_eq!(
            times().expiry(now, Some(Duration::minutes(40)), far),
            now + Duration::minutes(40)
        );
        assert_eq!(
            times().expiry(now, Some(Duration::minutes(600)), far),
            now + Duration::minutes(60),
            "capped by the maximum"
        );
        let close = now + Duration::minutes(10);
        assert_eq!(
            times().expiry(now, None, close),
            close,
            "never past the cutoff"
        );
    }

    #[test]
    fn an_extension_runs_from_now_and_stops_at_the_cutoff() {
        let now = Utc.with_ymd_and_hms(2030, 5, 1, 10, 0, 0).unwrap();
        let current = now + Duration::minutes(5);
        let far = now + Duration::days(3);
        assert_eq!(
            times().extended(now, now, current, Some(Duration::minutes(31)), far),
            Ok(now + Duration::minutes(31))
        );
        let close = now + Duration::minutes(20);
        assert_eq!(
            times().extended(now, now, current, Some(Duration::minutes(31)), close),
            Ok(close),
            "up to the cutoff, not past it"
        );
        assert_eq!(
            times().extended(now, now, close, Some(Duration::minutes(31)), close),
            Err(ExtendRefused::AtCutoff)
        );
        assert_eq!(
            times().extended(
                now,
                now,
                now + Duration::minutes(50),
                Some(Duration::minutes(10)),
                far
            ),
            Err(ExtendRefused::NotLonger)
        );
        // Made 40 minutes ago: at most 20 more, whatever is asked; then no more.
        let made = now - Duration::minutes(40);
        assert_eq!(
            times().extended(now, made, current, Some(Duration::minutes(31)), far),
            Ok(now + Duration::minutes(20))
        );
        assert_eq!(
            times().extended(
                now,
                made,
                now + Duration::minutes(20),
                Some(Duration::minutes(31)),
                far
            ),
            Err(ExtendRefused::AtMaximum)
        );
    }
}
