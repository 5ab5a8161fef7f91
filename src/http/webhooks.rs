//! Provider callbacks. The signature is verified before anything in the body is used.

use super::rate_limit::RateLimited;
use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::{post, State};

use super::guards::{Signature, SignatureHeader};
use super::responder::ErrorResponse;
use crate::config::AppConfig;
use crate::error::AppError;
use crate::integrations::sms::{parse_form, valid_signature, SmsSender};
use crate::service::notifications::{self, Transports};
use crate::storage::Store;

/// Where Twilio reports delivery (`StatusCallback` of every SMS berth sends).
pub const TWILIO_STATUS_PATH: &str = "/v1/webhooks/twilio/status";

/// Twilio signs its callbacks in `X-Twilio-Signature`.
pub struct TwilioHeader;

impl SignatureHeader for TwilioHeader {
    const NAME: &'static str = "X-Twilio-Signature";
}

/// The request's `X-Twilio-Signature` and source address, for verification and logging.
pub type TwilioSignature = Signature<TwilioHeader>;

#[utoipa::path(
    post,
    path = "/v1/webhooks/twilio/status",
    tag = "webhooks",
    summary = "Twilio delivery reports (form-encoded, signed with X-Twilio-Signature)",
    params(("X-Twilio-Signature" = String, Header, description = "Base64 HMAC-SHA1 of the URL and sorted parameters")),
    responses(
        (status = 204, description = "Recorded (or about a message berth does not know)"),
        (status = 400, description = "Missing or invalid signature (`invalid_signature`)", body = ErrorResponse),
        (status = 404, description = "SMS is not sent through Twilio here (`not_found`)", body = ErrorResponse),
        (status = 413, description = "Body too large (`payload_too_large`)", body = ErrorResponse)
    ),
    security(("twilio_signature" = []))
)]
#[post("/v1/webhooks/twilio/status", data = "<body>")]
pub async fn twilio_status(
    _rate: RateLimited,
    signature: TwilioSignature,
    body: Data<'_>,
    store: &State<Store>,
    transports: &State<std::sync::Arc<Transports>>,
    config: &State<AppConfig>,
) -> Result<Status, AppError> {
    let SmsSender::Twilio(twilio) = &transports.sms else {
        return Err(AppError::NotFound);
    };
    let raw = body
        .open(16.kibibytes())
        .into_string()
        .await
        .map_err(|_| AppError::bad_request("malformed_body", "unreadable body"))?;
    if !raw.is_complete() {
        return Err(AppError::PayloadTooLarge);
    }
    let params = parse_form(&raw);
    let url = format!(
        "{}{TWILIO_STATUS_PATH}",
        config.public_url().trim_end_matches('/')
    );
    let verified = signature
        .header
        .as_deref()
        .is_some_and(|s| valid_signature(twilio.auth_token(), &url, &params, s));
    if !verified {
        // The source address helps find a misconfigured proxy; the payload is not logged.
        tracing::warn!(source = ?signature.source, "Twilio callback with an invalid signature refused");
        return Err(AppError::bad_request(
            "invalid_signature",
            "the X-Twilio-Signature does not match",
        ));
    }
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let (Some(sid), Some(status)) = (field("MessageSid"), field("MessageStatus")) {
        let status: String = status
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(32)
            .collect();
        notifications::record_delivery(store, sid, &status).await?;
    }
    Ok(Status::NoContent)
}
