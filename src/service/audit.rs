//! The audit log: every change an operator's people or tokens make, with who, what and when.
//! Entries are written in the same transaction as the change, so one never exists without the
//! other.

use chrono::{DateTime, Utc};

use super::principal::Principal;
use crate::domain::booking::BookingEvent;
use crate::domain::ids::{OperatorId, UserId};
use crate::error::AppError;
use crate::storage::accounts::{self, AuditRow};
use crate::storage::{Store, WriteTx};

/// Every action the audit log records, and its stored spelling: the one list of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TourCreate,
    TourUpdate,
    TourArchive,
    TourRestore,
    ScheduleCreate,
    ScheduleUpdate,
    DepartureCreate,
    DepartureCapacity,
    DepartureCancel,
    DepartureGuides,
    DepartureGuarantee,
    DepartureMinimum,
    BookingConfirm,
    BookingCheckIn,
    BookingCancel,
    BookingRefund,
    BookingReschedule,
    BookingResend,
    MessageRetry,
    TokenCreate,
    TokenRevoke,
    CalendarFeedCreate,
    CalendarFeedRevoke,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookEndpointDelete,
    WebhookEndpointRotateSecret,
    WebhookEndpointTest,
    WebhookEndpointReplay,
    ResellerCreate,
    ResellerRevoke,
    PromoCodeCreate,
    PromoCodeUpdate,
    TourPriceRules,
    DeparturePrices,
    ResourceCreate,
    ResourceUpdate,
    ResourceAssign,
    ResourceUnassign,
    WaitlistRemove,
    OperatorMailIdentity,
    OperatorEmbedOrigins,
    OperatorResellerMessages,
    OperatorRequireTwoFactor,
    OperatorSenderDomainAllow,
    OperatorSenderDomainRevoke,
    OperatorPaymentAccountSet,
    OperatorPaymentAccountRemove,
    UserCreate,
    UserRole,
    UserDeactivate,
    UserPasswordChange,
    UserPasswordReset,
    UserTwoFactorEnable,
    UserTwoFactorReset,
}

impl Action {
    /// Every action, in the order of the enum.
    pub const ALL: [Action; 55] = [
        Action::TourCreate,
        Action::TourUpdate,
        Action::TourArchive,
        Action::TourRestore,
        Action::ScheduleCreate,
        Action::ScheduleUpdate,
        Action::DepartureCreate,
        Action::DepartureCapacity,
        Action::DepartureCancel,
        Action::DepartureGuides,
        Action::DepartureGuarantee,
        Action::DepartureMinimum,
        Action::BookingConfirm,
        Action::BookingCheckIn,
        Action::BookingCancel,
        Action::BookingRefund,
        Action::BookingReschedule,
        Action::BookingResend,
        Action::MessageRetry,
        Action::TokenCreate,
        Action::TokenRevoke,
        Action::CalendarFeedCreate,
        Action::CalendarFeedRevoke,
        Action::WebhookEndpointCreate,
        Action::WebhookEndpointUpdate,
        Action::WebhookEndpointDelete,
        Action::WebhookEndpointRotateSecret,
        Action::WebhookEndpointTest,
        Action::WebhookEndpointReplay,
        Action::ResellerCreate,
        Action::ResellerRevoke,
        Action::PromoCodeCreate,
        Action::PromoCodeUpdate,
        Action::TourPriceRules,
        Action::DeparturePrices,
        Action::ResourceCreate,
        Action::ResourceUpdate,
        Action::ResourceAssign,
        Action::ResourceUnassign,
        Action::WaitlistRemove,
        Action::OperatorMailIdentity,
        Action::OperatorEmbedOrigins,
        Action::OperatorResellerMessages,
        Action::OperatorRequireTwoFactor,
        Action::OperatorSenderDomainAllow,
        Action::OperatorSenderDomainRevoke,
        Action::OperatorPaymentAccountSet,
        Action::OperatorPaymentAccountRemove,
        Action::UserCreate,
        Action::UserRole,
        Action::UserDeactivate,
        Action::UserPasswordChange,
        Action::UserPasswordReset,
        Action::UserTwoFactorEnable,
        Action::UserTwoFactorReset,
    ];

    /// The stored spelling (`GET /v1/audit` shows it); never change an existing one.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::TourCreate => "tour.create",
            Action::TourUpdate => "tour.update",
            Action::TourArchive => "tour.archive",
            Action::TourRestore => "tour.restore",
            Action::ScheduleCreate => "schedule.create",
            Action::ScheduleUpdate => "schedule.update",
            Action::DepartureCreate => "departure.create",
            Action::DepartureCapacity => "departure.capacity",
            Action::DepartureCancel => "departure.cancel",
            Action::DepartureGuides => "departure.guides",
            Action::DepartureGuarantee => "departure.guarantee",
            Action::DepartureMinimum => "departure.minimum",
            Action::BookingConfirm => "booking.confirm",
            Action::BookingCheckIn => "booking.check_in",
            Action::BookingCancel => "booking.cancel",
            Action::BookingRefund => "booking.refund",
            Action::BookingReschedule => "booking.reschedule",
            Action::BookingResend => "booking.resend_confirmation",
            Action::MessageRetry => "message.retry",
            Action::TokenCreate => "token.create",
            Action::TokenRevoke => "token.revoke",
            Action::CalendarFeedCreate => "calendar_feed.create",
            Action::CalendarFeedRevoke => "calendar_feed.revoke",
            Action::WebhookEndpointCreate => "webhook_endpoint.create",
            Action::WebhookEndpointUpdate => "webhook_endpoint.update",
            Action::WebhookEndpointDelete => "webhook_endpoint.delete",
            Action::WebhookEndpointRotateSecret => "webhook_endpoint.rotate_secret",
            Action::WebhookEndpointTest => "webhook_endpoint.test",
            Action::WebhookEndpointReplay => "webhook_endpoint.replay",
            Action::ResellerCreate => "reseller.create",
            Action::ResellerRevoke => "reseller.revoke",
            Action::PromoCodeCreate => "promo_code.create",
            Action::PromoCodeUpdate => "promo_code.update",
            Action::TourPriceRules => "tour.price_rules",
            Action::DeparturePrices => "departure.prices",
            Action::ResourceCreate => "resource.create",
            Action::ResourceUpdate => "resource.update",
            Action::ResourceAssign => "resource.assign",
            Action::ResourceUnassign => "resource.unassign",
            Action::WaitlistRemove => "waitlist.remove",
            Action::OperatorMailIdentity => "operator.mail_identity",
            Action::OperatorEmbedOrigins => "operator.embed_origins",
            Action::OperatorResellerMessages => "operator.reseller_messages",
            Action::OperatorRequireTwoFactor => "operator.require_two_factor",
            Action::OperatorSenderDomainAllow => "operator.sender_domain_allow",
            Action::OperatorSenderDomainRevoke => "operator.sender_domain_revoke",
            Action::OperatorPaymentAccountSet => "operator.payment_account.set",
            Action::OperatorPaymentAccountRemove => "operator.payment_account.remove",
            Action::UserCreate => "user.create",
            Action::UserRole => "user.role",
            Action::UserDeactivate => "user.deactivate",
            Action::UserPasswordChange => "user.password_change",
            Action::UserPasswordReset => "user.password_reset",
            Action::UserTwoFactorEnable => "user.two_factor.enable",
            Action::UserTwoFactorReset => "user.two_factor.reset",
        }
    }

    /// The action of an operator moving a booking by `event`; `None` for the events only
    /// berth itself causes (expiry, payments arriving late), which no operator is audited for.
    pub const fn of_booking(event: BookingEvent) -> Option<Action> {
        match event {
            BookingEvent::Confirm => Some(Action::BookingConfirm),
            BookingEvent::CheckIn => Some(Action::BookingCheckIn),
            BookingEvent::Cancel => Some(Action::BookingCancel),
            BookingEvent::Expire | BookingEvent::Reinstate | BookingEvent::PaidTooLate => None,
        }
    }
}

/// What an action was done to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Operator(&'a OperatorId),
    Tour(&'a str),
    Schedule(&'a str),
    Departure(&'a str),
    Booking(&'a str),
    Token(&'a str),
    CalendarFeed(&'a str),
    WebhookEndpoint(&'a str),
    Reseller(&'a str),
    PromoCode(&'a str),
    Resource(&'a str),
    WaitlistEntry(&'a str),
    User(&'a UserId),
    Message(&'a str),
}

impl Target<'_> {
    /// How the target is stored (`booking:K7M2Q9PX` …).
    pub fn spelled(&self) -> String {
        match self {
            Target::Operator(id) => format!("operator:{id}"),
            Target::Tour(id) => format!("tour:{id}"),
            Target::Schedule(id) => format!("schedule:{id}"),
            Target::Departure(id) => format!("departure:{id}"),
            Target::Booking(reference) => format!("booking:{reference}"),
            Target::Token(id) => format!("token:{id}"),
            Target::CalendarFeed(id) => format!("calendar_feed:{id}"),
            Target::WebhookEndpoint(id) => format!("webhook_endpoint:{id}"),
            Target::Reseller(id) => format!("reseller:{id}"),
            Target::PromoCode(id) => format!("promo_code:{id}"),
            Target::Resource(id) => format!("resource:{id}"),
            Target::WaitlistEntry(id) => format!("waitlist_entry:{id}"),
            Target::User(id) => format!("user:{id}"),
            Target::Message(id) => format!("message:{id}"),
        }
    }
}

/// Records `action` by `by` on `target` in the change's own transaction.
/// `detail` is a small JSON object of what changed; never personal data or secrets.
pub async fn record(
    tx: &mut WriteTx,
    by: &Principal,
    now: DateTime<Utc>,
    action: Action,
    target: Target<'_>,
    detail: Option<&str>,
) -> Result<(), AppError> {
    let entry = AuditRow {
        id: ulid::Ulid::new().to_string(),
        actor: by.actor.audit_name(),
        action: action.as_str().to_owned(),
        target: target.spelled(),
        detail: detail.map(str::to_owned),
        created_at: now,
    };
    accounts::insert_audit(tx, &by.operator, &entry).await?;
    Ok(())
}

/// A page of the operator's audit log, newest first; `before` is the last id of the previous page.
pub async fn list(
    store: &Store,
    operator: &OperatorId,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditRow>, AppError> {
    if before.is_some_and(|id| ulid::Ulid::from_string(id).is_err()) {
        return Err(AppError::invalid(
            "before",
            "must be an entry id from a previous page",
        ));
    }
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200"));
    }
    Ok(accounts::list_audit(store, operator, before, i64::from(limit)).await?)
}
