//! What OCTO's booking endpoints read and write: the request bodies, the booking as OCTO
//! shapes it, and the answers the document lists.

use serde::{Deserialize, Serialize};

use crate::domain::reseller::Contact;
use crate::http::octo::availability::Availability;
use crate::http::octo::pricing::Pricing;
use crate::http::octo::OctoErrorBody;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnitItemBody {
    pub(super) unit_id: String,
    #[serde(default)]
    pub(super) uuid: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReserveBody {
    pub(super) product_id: String,
    pub(super) option_id: String,
    pub(super) availability_id: String,
    #[serde(default)]
    pub(super) unit_items: Option<Vec<UnitItemBody>>,
    #[serde(default)]
    pub(super) uuid: Option<String>,
    #[serde(default)]
    pub(super) expiration_minutes: Option<i64>,
    #[serde(default)]
    pub(super) notes: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // One currency: the tour's.
    pub(super) currency: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmBody {
    #[serde(default)]
    pub(super) contact: Option<Contact>,
    #[serde(default)]
    pub(super) reseller_reference: Option<String>,
    #[serde(default)]
    pub(super) email_receipt: Option<bool>,
    #[serde(default)]
    pub(super) unit_items: Option<Vec<UnitItemBody>>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtendBody {
    #[serde(default)]
    pub(super) expiration_minutes: Option<i64>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    #[serde(default)]
    pub(super) reseller_reference: Option<String>,
    #[serde(default)]
    pub(super) product_id: Option<String>,
    #[serde(default)]
    pub(super) option_id: Option<String>,
    #[serde(default)]
    pub(super) availability_id: Option<String>,
    #[serde(default)]
    pub(super) unit_items: Option<Vec<UnitItemBody>>,
    #[serde(default)]
    pub(super) contact: Option<Contact>,
    #[serde(default)]
    pub(super) notes: Option<String>,
    #[serde(default)]
    pub(super) expiration_minutes: Option<i64>,
    #[serde(default)]
    pub(super) email_receipt: Option<bool>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelBody {
    #[serde(default)]
    pub(super) reason: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // berth has no second, forced path: the policy decides the refund.
    pub(super) force: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OctoBooking {
    pub(super) id: String,
    pub(super) uuid: String,
    pub(super) test_mode: bool,
    pub(super) reseller_reference: Option<String>,
    pub(super) supplier_reference: String,
    #[schema(value_type = String)]
    pub(super) status: &'static str,
    pub(super) utc_created_at: String,
    pub(super) utc_updated_at: String,
    pub(super) utc_expires_at: Option<String>,
    pub(super) utc_redeemed_at: Option<String>,
    pub(super) utc_confirmed_at: Option<String>,
    pub(super) product_id: String,
    #[schema(value_type = Object)]
    pub(super) product: serde_json::Value,
    #[schema(value_type = String)]
    pub(super) option_id: &'static str,
    #[schema(value_type = Object)]
    pub(super) option: serde_json::Value,
    pub(super) cancellable: bool,
    pub(super) cancellation: Option<Cancellation>,
    pub(super) freesale: bool,
    pub(super) availability_id: String,
    pub(super) availability: Availability,
    pub(super) contact: Contact,
    pub(super) notes: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub(super) delivery_methods: [&'static str; 1],
    pub(super) voucher: Ticket,
    pub(super) unit_items: Vec<UnitItem>,
    /// With `octo/pricing`: the booking's total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pricing: Option<Pricing>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Cancellation {
    pub(super) refund: String,
    pub(super) reason: Option<String>,
    pub(super) utc_cancelled_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Ticket {
    #[schema(value_type = String)]
    pub(super) redemption_method: &'static str,
    pub(super) utc_redeemed_at: Option<String>,
    pub(super) delivery_options: Vec<DeliveryOption>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeliveryOption {
    #[schema(value_type = String)]
    pub(super) delivery_format: &'static str,
    pub(super) delivery_value: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct UnitItem {
    pub(super) uuid: String,
    pub(super) reseller_reference: Option<String>,
    pub(super) supplier_reference: String,
    pub(super) unit_id: String,
    #[schema(value_type = String)]
    pub(super) status: &'static str,
    pub(super) utc_redeemed_at: Option<String>,
    pub(super) contact: Contact,
    pub(super) ticket: Option<Ticket>,
    /// With `octo/pricing`: this traveller's price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pricing: Option<Pricing>,
}

/// What a booking endpoint answers. A type for the document only: never built, so its size
/// does not matter.
#[derive(utoipa::IntoResponses)]
#[allow(clippy::large_enum_variant, dead_code)]
pub enum BookingAnswer {
    /// The booking; `Octo-Capabilities` says the capabilities applied.
    #[response(status = 200)]
    Booking(#[to_schema] OctoBooking),
    /// An OCTO error (the operation's description lists its codes).
    #[response(status = 400)]
    Refused(#[to_schema] OctoErrorBody),
}

/// What the booking list answers (for the document only).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BookingsAnswer {
    /// The bookings; `Octo-Capabilities` says the capabilities applied.
    #[response(status = 200)]
    Bookings(Vec<OctoBooking>),
    /// An OCTO error (the operation's description lists its codes).
    #[response(status = 400)]
    Refused(#[to_schema] OctoErrorBody),
}

/// The booking's uuid, as a path parameter.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BookingUuid {
    /// The booking's uuid (the reseller's own, or the one berth gave it).
    #[allow(dead_code)] // Read by the document only: Rocket passes the path segment itself.
    pub(super) uuid: String,
}
