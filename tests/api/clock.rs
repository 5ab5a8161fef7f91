//! The clock the tests and berth read. `.ci/run` runs the date-sensitive tests with the system
//! clock two years ahead (faketime) and sets `BERTH_TEST_CLOCK_AFTER` to the Unix time the shift
//! must have passed, so the shifted run proves it was shifted rather than trusting faketime.

use chrono::{DateTime, Duration, Utc};

use crate::support::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berth_and_the_tests_read_one_clock_even_when_it_is_shifted() {
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("sqlite always available");
    let reply = app.get("/health").await;
    reply.expect(200);
    let date = reply.headers["date"].to_str().expect("an ASCII Date");
    let served = DateTime::parse_from_rfc2822(date)
        .expect("an HTTP date")
        .to_utc();
    let (tests, berth) = (Utc::now(), app.clock.now());
    let near = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).abs() < Duration::seconds(5);
    assert!(
        near(served, tests),
        "berth's HTTP server dates {served}, the tests read {tests}"
    );
    assert!(
        near(berth, tests),
        "berth's clock reads {berth}, the tests read {tests}"
    );
    if let Ok(after) = std::env::var("BERTH_TEST_CLOCK_AFTER") {
        let after = after
            .parse()
            .expect("BERTH_TEST_CLOCK_AFTER is a Unix time");
        let after = DateTime::from_timestamp(after, 0).expect("a representable time");
        assert!(
            tests > after && served > after,
            "the clock was to be shifted past {after}, but the tests read {tests} and berth {served}: \
             is faketime's library preloaded?"
        );
    }
}
