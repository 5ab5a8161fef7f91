//! The default of each setting that has one (the README's configuration table lists them).

pub fn database_max_connections() -> u32 {
    16
}
pub fn file() -> String {
    "file".into()
}
pub fn mail_from() -> String {
    "berth <no-reply@localhost>".into()
}
pub fn mail_dir() -> String {
    "data/mail".into()
}
pub fn sms_dir() -> String {
    "data/sms".into()
}
pub fn twilio_api_base() -> String {
    "https://api.twilio.com".into()
}
pub fn twilio_timeout_seconds() -> u32 {
    15
}
pub fn payments() -> String {
    "offline".into()
}
pub fn stripe_api_base() -> String {
    "https://api.stripe.com".into()
}
pub fn stripe_timeout_seconds() -> u32 {
    10
}
pub fn reminder_hours() -> u32 {
    24
}
pub fn outbox_max_attempts() -> u32 {
    8
}
pub fn hold_batch() -> u32 {
    32
}
pub fn database_lock_timeout_seconds() -> u32 {
    5
}
pub fn idempotency_ttl_hours() -> u32 {
    24
}
pub fn hold_ttl_seconds() -> u32 {
    900
}
pub fn waitlist_offer_seconds() -> u32 {
    3600
}
pub fn hold_max_seconds() -> u32 {
    3600
}
pub fn schedule_horizon_days() -> u32 {
    180
}
pub fn background_workers() -> bool {
    true
}
pub fn access_token_minutes() -> u32 {
    15
}
pub fn session_idle_hours() -> u32 {
    24
}
pub fn client_ipv6_prefix() -> u8 {
    64
}
pub fn webhook_timeout_seconds() -> u32 {
    10
}
