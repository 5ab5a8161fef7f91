//! Background workers: spawned on liftoff, stopped on shutdown. Each exposes `run_once` so tests
//! drive it directly instead of sleeping.

use std::future::Future;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::Shutdown;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::AppConfig;
use crate::service::notifications::Transports;
use crate::storage::Store;

pub mod guarantees;
pub mod hold_expiry;
pub mod horizon;
pub mod idempotency_purge;
pub mod outbox;
pub mod refunds;
pub mod reminders;
pub mod waitlist;
pub mod webhooks;

/// Starts the workers when `workers` is on (the default).
pub fn stage() -> AdHoc {
    AdHoc::on_liftoff("Workers", |rocket| {
        Box::pin(async move {
            let (Some(store), Some(clock), Some(config)) = (
                rocket.state::<Store>(),
                rocket.state::<Clock>(),
                rocket.state::<AppConfig>(),
            ) else {
                return;
            };
            if !config.background_workers {
                return;
            }
            let shutdown = rocket.shutdown();
            let (store, clock, horizon_days) =
                (store.clone(), clock.clone(), config.schedule_horizon_days);
            spawn_loop("hold expiry", Duration::from_secs(5), shutdown.clone(), {
                let (store, clock) = (store.clone(), clock.clone());
                move || {
                    let (store, clock) = (store.clone(), clock.clone());
                    async move { hold_expiry::run_once(&store, clock.now()).await.map(|_| ()) }
                }
            });
            spawn_loop(
                "idempotency purge",
                Duration::from_secs(600),
                shutdown.clone(),
                {
                    let (store, clock) = (store.clone(), clock.clone());
                    move || {
                        let (store, clock) = (store.clone(), clock.clone());
                        async move {
                            idempotency_purge::run_once(&store, clock.now())
                                .await
                                .map(|_| ())
                        }
                    }
                },
            );
            spawn_loop(
                "guaranteed departures",
                Duration::from_secs(60),
                shutdown.clone(),
                {
                    let (store, clock) = (store.clone(), clock.clone());
                    move || {
                        let (store, clock) = (store.clone(), clock.clone());
                        async move { guarantees::run_once(&store, clock.now()).await.map(|_| ()) }
                    }
                },
            );
            if config.reminder_hours > 0 {
                let before = chrono::Duration::hours(i64::from(config.reminder_hours));
                spawn_loop("reminders", Duration::from_secs(60), shutdown.clone(), {
                    let (store, clock) = (store.clone(), clock.clone());
                    move || {
                        let (store, clock) = (store.clone(), clock.clone());
                        async move {
                            reminders::run_once(&store, clock.now(), before)
                                .await
                                .map(|_| ())
                        }
                    }
                });
            }
            if config.hold_expired_email {
                spawn_loop(
                    "hold-expired emails",
                    Duration::from_secs(60),
                    shutdown.clone(),
                    {
                        let (store, clock) = (store.clone(), clock.clone());
                        move || {
                            let (store, clock) = (store.clone(), clock.clone());
                            async move {
                                crate::service::notifications::enqueue_hold_expired(
                                    &store,
                                    clock.now(),
                                )
                                .await
                                .map(|_| ())
                            }
                        }
                    },
                );
            }
            if let Some(payments) = rocket.state::<crate::service::payments::Payments>() {
                let (store, clock, payments) = (store.clone(), clock.clone(), payments.clone());
                let offer_ttl = config.waitlist_offer_ttl();
                spawn_loop(
                    "waitlist offers",
                    Duration::from_secs(5),
                    shutdown.clone(),
                    move || {
                        let (store, clock, payments) =
                            (store.clone(), clock.clone(), payments.clone());
                        async move {
                            waitlist::run_once(&store, &payments, clock.now(), offer_ttl)
                                .await
                                .map(|_| ())
                        }
                    },
                );
            }
            // Always, whatever the instance's own setting: any operator may set keys of its own.
            if let Some(payments) = rocket.state::<crate::service::payments::Payments>() {
                let (store, clock, payments) = (store.clone(), clock.clone(), payments.clone());
                spawn_loop(
                    "refunds",
                    Duration::from_secs(10),
                    shutdown.clone(),
                    move || {
                        let (store, clock, payments) =
                            (store.clone(), clock.clone(), payments.clone());
                        async move {
                            refunds::run_once(&store, &payments, clock.now())
                                .await
                                .map(|_| ())
                        }
                    },
                );
            }
            if let Some(transports) = rocket.state::<Arc<Transports>>() {
                let (store, clock, transports) = (store.clone(), clock.clone(), transports.clone());
                spawn_loop(
                    "outbox",
                    Duration::from_secs(2),
                    shutdown.clone(),
                    move || {
                        let (store, clock, transports) =
                            (store.clone(), clock.clone(), transports.clone());
                        async move {
                            outbox::run_once(&store, &transports, clock.now())
                                .await
                                .map(|_| ())
                        }
                    },
                );
            }
            if let Some(webhooks) = rocket.state::<Arc<crate::service::webhooks::Webhooks>>() {
                let (store, clock, webhooks) = (store.clone(), clock.clone(), webhooks.clone());
                spawn_loop(
                    "webhooks",
                    Duration::from_secs(1),
                    shutdown.clone(),
                    move || {
                        let (store, clock, webhooks) =
                            (store.clone(), clock.clone(), webhooks.clone());
                        async move {
                            webhooks::run_once(&store, &webhooks, clock.now())
                                .await
                                .map(|_| ())
                        }
                    },
                );
            }
            spawn_loop(
                "waitlist purge",
                Duration::from_secs(3600),
                shutdown.clone(),
                {
                    let (store, clock) = (store.clone(), clock.clone());
                    move || {
                        let (store, clock) = (store.clone(), clock.clone());
                        async move { waitlist::purge_once(&store, clock.now()).await.map(|_| ()) }
                    }
                },
            );
            spawn_loop(
                "webhook log purge",
                Duration::from_secs(3600),
                shutdown.clone(),
                {
                    let (store, clock) = (store.clone(), clock.clone());
                    move || {
                        let (store, clock) = (store.clone(), clock.clone());
                        async move { webhooks::purge_once(&store, clock.now()).await.map(|_| ()) }
                    }
                },
            );
            spawn_loop(
                "schedule horizon",
                Duration::from_secs(3600),
                shutdown,
                move || {
                    let (store, clock) = (store.clone(), clock.clone());
                    async move {
                        horizon::run_once(&store, clock.now(), horizon_days)
                            .await
                            .map(|_| ())
                    }
                },
            );
        })
    })
}

/// Runs `work` every `period` until shutdown; a failed round is logged and retried next period.
fn spawn_loop<F, Fut>(name: &'static str, period: Duration, mut shutdown: Shutdown, mut work: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), crate::error::AppError>> + Send + 'static,
{
    rocket::tokio::spawn(async move {
        let mut ticker = rocket::tokio::time::interval(period);
        loop {
            rocket::tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {
                    // Each round in its own task: a panic ends that round, not the worker.
                    match rocket::tokio::spawn(work()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => tracing::warn!(worker = name, %error, "worker round failed"),
                        Err(panic) => tracing::error!(worker = name, %panic, "worker round panicked"),
                    }
                }
            }
        }
    });
}
