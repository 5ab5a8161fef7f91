//! The one place a test decides what to do when the machine lacks something outside Rust that it
//! needs: a MySQL server, aiosmtpd, Chromium (and whatever a browser test needs). Shared by
//! `#[path]` with berth-load's tests.
//!
//! A missing requirement FAILS the test, with what is missing and how to get it, so that a
//! passing run is one where everything ran. To accept skipping it instead, name it in
//! `BERTH_ALLOW_SKIP` (`BERTH_ALLOW_SKIP=mysql,chromium`, or `all`): the test then returns
//! early as a pass and a `*** SKIPPED` line goes straight to stderr, past libtest's capture,
//! once per requirement. `BERTH_REQUIRE_<NAME>=1` (CI sets them) fails even when skipping is
//! allowed.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// What the test needs: `found` is it, or why it is missing and how to get it. `Some` when it
/// is there; `None` when it is missing and `BERTH_ALLOW_SKIP` names it (the caller returns);
/// otherwise a panic that says what is missing.
#[track_caller]
pub fn require<T>(name: &str, found: Result<T, String>) -> Option<T> {
    let why = match found {
        Ok(it) => return Some(it),
        Err(why) => why.replace('\n', " | "),
    };
    let required = format!("BERTH_REQUIRE_{}", name.to_uppercase());
    if std::env::var(&required).is_ok_and(|v| v == "1") {
        panic!("{required}=1 but {name} is missing: {why}");
    }
    if !skip_allowed(name) {
        panic!(
            "{name} is missing: {why}. Install it, or set BERTH_ALLOW_SKIP={name} (or all) to \
             let the tests that need it pass without running"
        );
    }
    static NOTICED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut noticed = NOTICED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if noticed.insert(name.to_owned()) {
        // Straight to the stderr handle (not eprintln!) so libtest's output capture can't hide it.
        let line =
            format!("*** SKIPPED the tests that need {name} (BERTH_ALLOW_SKIP): {why} ***\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    None
}

/// Whether `BERTH_ALLOW_SKIP` (a comma-separated list, or `all`) names `name`.
fn skip_allowed(name: &str) -> bool {
    let allowed = std::env::var("BERTH_ALLOW_SKIP").unwrap_or_default();
    allowed
        .split(',')
        .map(str::trim)
        .any(|entry| entry.eq_ignore_ascii_case(name) || entry.eq_ignore_ascii_case("all"))
}
