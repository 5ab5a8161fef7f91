//! Outbound webhooks: operators' endpoints (`webhook_endpoints`), the events written with the
//! changes they describe (`webhook_events`), the delivery queue (`webhook_deliveries`, claimed
//! like the outbox) and the delivery log (`webhook_attempts`).

mod availability;
mod deliveries;
mod endpoints;
mod events;

pub use availability::*;
pub use deliveries::*;
pub use endpoints::*;
pub use events::*;
