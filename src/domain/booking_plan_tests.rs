//! Plans checked without a database: a model departure executes plans the way the service
//! does, and every step keeps its seats and its money consistent.

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::capacity::DepartureStatus;

#[derive(Debug, Clone)]
struct ModelBooking {
    status: BookingStatus,
    lapsed: bool,
    seats: u32,
    total: i64,
    paid: i64,
    paid_online: bool,
    cancel_reason: Option<CancelReason>,
}

#[derive(Debug, Clone)]
enum Step {
    Request(usize, Change, Option<Role>, i64),
    ReleaseUnpaid(usize),
    Paid(usize, i64),
    Lapse(usize),
}

struct Model {
    capacity: u32,
    seats_taken: i64,
    bookings: Vec<ModelBooking>,
    policy: CancellationPolicy,
}

fn starts_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 1, 9, 0, 0).unwrap()
}

impl Model {
    fn facts(&self, i: usize) -> Facts {
        let b = &self.bookings[i];
        Facts {
            status: b.status,
            lapsed: b.lapsed && b.status == BookingStatus::Held,
            seats: b.seats,
            total: b.total,
            paid: b.paid,
            paid_online: b.paid_online,
            on_account: false,
            starts_at: starts_at(),
        }
    }

    fn occupied(&self) -> i64 {
        self.bookings
            .iter()
            .filter(|b| b.status.occupies_seats())
            .map(|b| i64::from(b.seats))
            .sum()
    }

    fn release_lapsed(&mut self) {
        for b in &mut self.bookings {
            if b.status == BookingStatus::Held && b.lapsed {
                b.status = BookingStatus::Expired;
                self.seats_taken -= i64::from(b.seats);
            }
        }
    }

    /// Executes a plan as the service does, checking what every plan promises.
    fn execute(&mut self, i: usize, plan: Plan, event: Option<BookingEvent>) {
        let facts = self.facts(i);
        assert_eq!(
            plan.from, facts.status,
            "a plan starts where the booking is"
        );
        if let Some(event) = event {
            assert_eq!(
                Ok(plan.to),
                plan.from.apply(event),
                "plans follow the state machine"
            );
        }
        if plan.to == BookingStatus::Cancelled && plan.from != BookingStatus::Cancelled {
            assert!(plan.cancel_reason.is_some(), "a cancellation says why");
        }
        if plan.to != BookingStatus::Cancelled {
            assert_eq!(plan.cancel_reason, None);
            assert_eq!(plan.refund, None, "only a cancellation refunds");
        }
        if let Some(collected) = plan.collect_offline {
            assert_eq!(plan.to, BookingStatus::CheckedIn);
            assert!(!facts.paid_online, "nothing is collected twice");
            assert_eq!(collected, facts.total);
        }
        let b = &mut self.bookings[i];
        b.status = plan.to;
        if plan.cancel_reason.is_some() {
            b.cancel_reason = plan.cancel_reason;
        }
        if let Some(refund) = plan.refund {
            let amount = refund.amount.unwrap_or(b.paid);
            assert!(amount > 0 || refund.amount.is_none(), "no empty refund");
            assert!(
                amount <= b.paid,
                "refund {amount} above what was paid {}",
                b.paid
            );
            b.paid -= amount.min(b.paid);
        }
        if let Some(collected) = plan.collect_offline {
            b.paid += collected;
        }
        self.seats_taken += plan.seat_delta;
    }

    fn occupancy(&self) -> Occupancy {
        Occupancy {
            starts_at: starts_at(),
            status: DepartureStatus::Scheduled,
            capacity: self.capacity,
            seats_taken: u32::try_from(self.seats_taken).unwrap(),
            seats_expired: 0,
            resource_room: None,
            held_for_waitlist: 0,
        }
    }

    fn step(&mut self, step: &Step) {
        match *step {
            Step::Request(i, change, role, minutes_before) => {
                let now = starts_at() - Duration::minutes(minutes_before);
                let policy = self.policy.clone();
                let asker = match role {
                    Some(role) => Asker::Operator { role },
                    None => Asker::Traveler { policy: &policy },
                };
                match request(change, asker, &self.facts(i), now) {
                    Ok(Decision::Apply(plan)) => self.execute(i, plan, Some(change.event())),
                    Ok(Decision::ReleaseLapsed) => self.release_lapsed(),
                    Err(_) => {}
                }
            }
            Step::ReleaseUnpaid(i) => {
                match release_unpaid(&self.facts(i), CancelReason::PaymentFailed) {
                    Ok(Some(Decision::Apply(plan))) => {
                        self.execute(i, plan, Some(BookingEvent::Cancel))
                    }
                    Ok(Some(Decision::ReleaseLapsed)) => self.release_lapsed(),
                    Ok(None) | Err(_) => {}
                }
            }
            Step::Paid(i, minutes_before) => {
                let now = starts_at() - Duration::minutes(minutes_before);
                let total = self.bookings[i].total;
                let released = self.bookings[i]
                    .cancel_reason
                    .is_some_and(|r| CancelReason::released_by_payment(Some(r.as_str())));
                self.bookings[i].paid += total;
                self.bookings[i].paid_online = true;
                let decision =
                    payment_succeeded(&self.facts(i), (total, "EUR"), (total, "EUR"), released)
                        .unwrap();
                match decision {
                    PaymentDecision::Apply(plan) => {
                        self.execute(i, plan, Some(BookingEvent::Confirm))
                    }
                    PaymentDecision::LatePayment => {
                        self.release_lapsed();
                        let b = &self.bookings[i];
                        let plan = late_payment(b.status, b.seats, &self.occupancy(), now)
                            .expect("a late payment always has a plan");
                        self.execute(i, plan, None);
                    }
                    PaymentDecision::RefundOnly { .. } => self.bookings[i].paid = 0,
                    PaymentDecision::Record => {}
                }
            }
            Step::Lapse(i) => self.bookings[i].lapsed = true,
        }
    }
}

fn status() -> impl Strategy<Value = BookingStatus> {
    prop::sample::select(BookingStatus::ALL.to_vec())
}

fn booking() -> impl Strategy<Value = ModelBooking> {
    (
        status(),
        any::<bool>(),
        1u32..8,
        0i64..50_000,
        any::<bool>(),
    )
        .prop_map(|(status, lapsed, seats, total, paid_online)| ModelBooking {
            status,
            lapsed,
            seats,
            total,
            paid: if paid_online { total } else { 0 },
            paid_online,
            cancel_reason: None,
        })
}

fn step(bookings: usize) -> impl Strategy<Value = Step> {
    let role = prop::option::of(prop::sample::select(Role::ALL.to_vec()));
    let event = prop::sample::select(Change::ALL.to_vec());
    let index = 0..bookings;
    prop_oneof![
        (index.clone(), event, role, -120i64..10_000)
            .prop_map(|(i, e, r, m)| Step::Request(i, e, r, m)),
        index.clone().prop_map(Step::ReleaseUnpaid),
        (index.clone(), -120i64..10_000).prop_map(|(i, m)| Step::Paid(i, m)),
        index.prop_map(Step::Lapse),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<ModelBooking>, u32, Vec<Step>)> {
    prop::collection::vec(booking(), 1..8).prop_flat_map(|bookings| {
        let n = bookings.len();
        (
            Just(bookings),
            0u32..10,
            prop::collection::vec(step(n), 1..40),
        )
    })
}

fn policy() -> CancellationPolicy {
    let mut problems = crate::error::Problems::new();
    let rules = [
        super::super::refund::RefundRule {
            hours_before: 48,
            refund_percent: 100,
        },
        super::super::refund::RefundRule {
            hours_before: 24,
            refund_percent: 50,
        },
    ];
    CancellationPolicy::parse(&rules, "cancellation_policy", &mut problems).unwrap()
}

proptest! {
    /// Seats never go below zero or above capacity, the counter always equals the seats of
    /// the bookings that occupy them, and no refund exceeds what was paid.
    #[test]
    fn plans_keep_seats_and_money_consistent((bookings, spare, steps) in scenario()) {
        let occupied: u32 = bookings
            .iter()
            .filter(|b| b.status.occupies_seats())
            .map(|b| b.seats)
            .sum();
        let mut model = Model {
            capacity: occupied + spare,
            seats_taken: i64::from(occupied),
            bookings,
            policy: policy(),
        };
        for step in &steps {
            model.step(step);
            prop_assert!(model.seats_taken >= 0, "seats below zero after {step:?}");
            prop_assert!(
                model.seats_taken <= i64::from(model.capacity),
                "seats above capacity after {step:?}"
            );
            prop_assert_eq!(model.seats_taken, model.occupied(), "counter drifted after {:?}", step);
            prop_assert!(model.bookings.iter().all(|b| b.paid >= 0));
        }
    }

    /// A traveler's refund follows the policy and never exceeds what was paid; an operator's
    /// is all of it, and only an admin may give it.
    #[test]
    fn cancellation_refunds_stay_within_what_was_paid(
        paid in 0i64..1_000_000,
        minutes_before in -60i64..10_000,
        role in prop::option::of(prop::sample::select(Role::ALL.to_vec())),
        from in status(),
    ) {
        let policy = policy();
        let asker = match role {
            Some(role) => Asker::Operator { role },
            None => Asker::Traveler { policy: &policy },
        };
        let facts = Facts {
            status: from,
            lapsed: false,
            seats: 2,
            total: paid,
            paid,
            paid_online: true,
            on_account: false,
            starts_at: starts_at(),
        };
        let now = starts_at() - Duration::minutes(minutes_before);
        match request(Change::Cancel, asker, &facts, now) {
            Ok(Decision::Apply(plan)) => {
                prop_assert_eq!(plan.to, BookingStatus::Cancelled);
                prop_assert_eq!(plan.seat_delta, -2);
                let refunded = plan.refund.and_then(|r| r.amount).unwrap_or(0);
                prop_assert!((0..=paid).contains(&refunded));
                if let Some(role) = role {
                    prop_assert_eq!(refunded, paid);
                    prop_assert!(paid == 0 || role.at_least(Role::Admin));
                }
            }
            Ok(Decision::ReleaseLapsed) => prop_assert!(false, "not lapsed"),
            Err(AppError::Forbidden) => {
                prop_assert!(matches!(role, Some(r) if !r.at_least(Role::Admin)) && paid > 0);
            }
            Err(_) => {}
        }
    }
}

#[test]
fn a_late_payment_takes_free_seats_back_and_refunds_when_there_are_none() {
    let now = starts_at() - Duration::hours(1);
    let occupancy = |seats_taken| Occupancy {
        starts_at: starts_at(),
        status: DepartureStatus::Scheduled,
        capacity: 4,
        seats_taken,
        seats_expired: 0,
        resource_room: None,
        held_for_waitlist: 0,
    };
    let plan = late_payment(BookingStatus::Expired, 2, &occupancy(2), now).unwrap();
    assert_eq!((plan.to, plan.seat_delta), (BookingStatus::Confirmed, 2));
    assert_eq!(plan.message, Some(MessageKind::BookingConfirmed));
    let plan = late_payment(BookingStatus::Expired, 2, &occupancy(3), now).unwrap();
    assert_eq!((plan.to, plan.seat_delta), (BookingStatus::Cancelled, 0));
    assert_eq!(plan.cancel_reason, Some(CancelReason::SoldOutAfterPayment));
    assert_eq!(
        plan.refund,
        Some(RefundDecision {
            amount: None,
            reason: "sold_out_after_payment"
        })
    );
}

#[test]
fn check_in_collects_at_the_desk_only_what_was_not_paid_online() {
    let facts = |paid_online| Facts {
        status: BookingStatus::Confirmed,
        lapsed: false,
        seats: 1,
        total: 4_500,
        paid: 0,
        paid_online,
        on_account: false,
        starts_at: starts_at(),
    };
    let operator = Asker::Operator { role: Role::Guide };
    let now = starts_at();
    let collect = |paid_online| match request(Change::CheckIn, operator, &facts(paid_online), now) {
        Ok(Decision::Apply(plan)) => plan.collect_offline,
        other => panic!("{other:?}"),
    };
    assert_eq!(collect(false), Some(4_500));
    assert_eq!(collect(true), None);
    // Sold by a reseller on account: nothing is taken at the desk either.
    let on_account = Facts {
        on_account: true,
        ..facts(false)
    };
    match request(Change::CheckIn, operator, &on_account, now) {
        Ok(Decision::Apply(plan)) => assert_eq!(plan.collect_offline, None),
        other => panic!("{other:?}"),
    }
    let policy = CancellationPolicy::default();
    let traveler = Asker::Traveler { policy: &policy };
    assert!(matches!(
        request(Change::CheckIn, traveler, &facts(false), now),
        Err(AppError::NotFound)
    ));
}
