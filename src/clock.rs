//! The one source of "now". Production reads the system clock; tests move a manual clock
//! forward to expire holds without sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, DurationRound, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Offset added to the system time; only ever non-zero in tests.
    offset: Option<Arc<Mutex<Duration>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { offset: None }
    }

    /// A clock that follows the system time plus an offset the caller can advance.
    pub fn adjustable() -> Self {
        Self {
            offset: Some(Arc::new(Mutex::new(Duration::zero()))),
        }
    }

    /// Moves an adjustable clock forward; a no-op on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.offset {
            let mut offset = offset
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *offset += by;
        }
    }

    /// Now, truncated to milliseconds: the precision both databases store, so a value read
    /// back compares equal to the one written.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = match &self.offset {
            Some(offset) => *offset
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => Duration::zero(),
        };
        let now = Utc::now() + offset;
        now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now)
    }
}
