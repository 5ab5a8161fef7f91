//! The events written with the changes they describe (`webhook_events`), a delivery per
//! subscribing endpoint, and who subscribes.

use chrono::{DateTime, Utc};

use crate::domain::ids::{BookingId, OperatorId, WebhookEndpointId};
use crate::domain::webhook::EventType;
use crate::storage::{at, on_tx, StorageError, WriteTx};

/// An endpoint an event goes to; a disabled one keeps it parked until it is enabled again.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: WebhookEndpointId,
    pub enabled: bool,
}

/// The operator's endpoints (enabled or not, never deleted) with the event types each takes.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions(Vec<(Subscriber, String)>);

impl Subscriptions {
    /// The endpoints that subscribe to `kind`.
    pub fn to(&self, kind: EventType) -> Vec<Subscriber> {
        self.0
            .iter()
            .filter(|(_, types)| types.split_whitespace().any(|t| t == kind.as_str()))
            .map(|(subscriber, _)| subscriber.clone())
            .collect()
    }
}

/// The operator's endpoints and what they subscribe to, in one plain read (no lock): it runs
/// inside holds, where a locking read would make an endpoint's edit wait for a rush.
pub async fn subscriptions(
    tx: &mut WriteTx,
    operator: &OperatorId,
) -> Result<Subscriptions, StorageError> {
    let rows: Vec<(String, String, i64)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT id, event_types, enabled FROM webhook_endpoints \
         WHERE operator_id = ? AND deleted_at IS NULL")
        .bind(operator.as_str()).fetch_all(conn).await)?;
    Ok(Subscriptions(
        rows.into_iter()
            .filter_map(|(id, types, enabled)| {
                let subscriber = Subscriber {
                    id: WebhookEndpointId::parse(&id)?,
                    enabled: enabled != 0,
                };
                Some((subscriber, types))
            })
            .collect(),
    ))
}

/// The operator's endpoints that subscribe to `kind` (see [`subscriptions`]).
pub async fn subscribers(
    tx: &mut WriteTx,
    operator: &OperatorId,
    kind: EventType,
) -> Result<Vec<Subscriber>, StorageError> {
    Ok(subscriptions(tx, operator).await?.to(kind))
}

/// The booking's next event number (the caller holds the booking's row).
pub async fn next_sequence(tx: &mut WriteTx, booking: &BookingId) -> Result<i64, StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE bookings SET webhook_sequence = webhook_sequence + 1 WHERE id = ?")
        .bind(booking.as_str()).execute(conn).await.map(|r| r.rows_affected()))?;
    let sequence: i64 = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT webhook_sequence FROM bookings WHERE id = ?")
        .bind(booking.as_str()).fetch_one(conn).await)?;
    Ok(sequence)
}

/// An event and its delivery to each endpoint, due at once.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub operator: &'a OperatorId,
    pub kind: EventType,
    pub subject: Option<&'a str>,
    pub payload: &'a str,
    pub endpoints: &'a [Subscriber],
    pub give_up_at: DateTime<Utc>,
}

pub async fn insert_event(
    tx: &mut WriteTx,
    event: &NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO webhook_events (id, operator_id, type, subject_id, payload, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)")
        .bind(event.id).bind(event.operator.as_str()).bind(event.kind.as_str()).bind(event.subject)
        .bind(event.payload).bind(at(now))
        .execute(conn).await.map(|r| r.rows_affected()))?;
    for endpoint in event.endpoints {
        let status = if endpoint.enabled {
            "pending"
        } else {
            "paused"
        };
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, operator_id, status, attempts, \
             next_attempt_at, give_up_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)")
            .bind(ulid::Ulid::new().to_string()).bind(event.id).bind(endpoint.id.as_str())
            .bind(event.operator.as_str()).bind(status).bind(at(now)).bind(at(event.give_up_at)).bind(at(now))
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}
