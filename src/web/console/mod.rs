//! The operator console at `/console`: the same sessions, roles and service functions as the
//! API, in pages. Signed in by cookie ([`session`]); every page states the least role it serves
//! in its guard (`Console<Staff>` …), and the menu lists only the pages the user's role may open,
//! from the same table ([`MENU`]).

use minijinja::{context, Value};
use rocket::response::Redirect;
use rocket::{catch, Request};

use crate::domain::auth::Role;
use crate::service::auth::{self, Actor, Principal};
use crate::storage::Store;

pub mod account;
pub mod assignments;
pub mod bookings;
pub mod calendar;
pub mod departure;
pub mod messages;
pub mod pages;
pub mod prices;
pub mod promo_codes;
pub mod reports;
pub mod resources;
pub mod schedules;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod team;
pub mod tours;
pub mod webhooks;

pub use session::{Console, Enrolling};

/// Where the console lives (its pages' errors are HTML pages, see `web::PAGE_BASES`).
pub const BASE: &str = "/console";

/// The menu: path, label (a catalogue key), and the least role that may open the page. A page's
/// guard names the same role (`tests/web/console.rs` checks both for every role).
pub const MENU: [(&str, &str, Role); 14] = [
    ("/console", "console-today", Role::Guide),
    ("/console/calendar", "console-calendar", Role::Guide),
    (
        "/console/my-departures",
        "console-my-departures",
        Role::Guide,
    ),
    ("/console/bookings", "console-bookings", Role::Staff),
    ("/console/tours", "console-tours", Role::Staff),
    ("/console/promo-codes", "console-promo-codes", Role::Staff),
    ("/console/resources", "console-resources", Role::Staff),
    ("/console/messages", "console-messages", Role::Admin),
    ("/console/webhooks", "console-webhooks", Role::Admin),
    ("/console/reports", "console-reports", Role::Admin),
    ("/console/audit", "console-audit", Role::Admin),
    ("/console/team", "console-team", Role::Owner),
    ("/console/settings", "console-settings", Role::Owner),
    ("/console/account", "console-account", Role::Guide),
];

/// The console's routes.
pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        sign_in::page,
        sign_in::submit,
        sign_in::second_factor,
        sign_in::sign_out,
        sign_in::reset,
        sign_in::reset_request,
        sign_in::reset_confirm,
        pages::today,
        team::page,
        team::add_user,
        team::change_user,
        team::require_two_factor,
        team::create_token,
        team::revoke_token,
        team::create_reseller,
        team::revoke_reseller,
        settings::page,
        settings::sender,
        settings::origins,
        settings::reseller_messages,
        settings::payment_keys,
        settings::remove_payment_keys,
        settings::check_payment_keys,
        settings::audit_log,
        calendar::month,
        account::page,
        account::change_password,
        account::start_two_factor,
        account::confirm_two_factor,
        tours::list,
        tours::show,
        tours::new,
        tours::create,
        tours::edit,
        tours::update,
        tours::archive,
        prices::add_rule,
        prices::remove_rule,
        schedules::new,
        schedules::submit,
        schedules::edit,
        schedules::update,
        departure::manifest,
        departure::manifest_csv,
        departure::check_in,
        departure::set_capacity,
        departure::cancel_preview,
        departure::cancel,
        departure::set_guides,
        departure::guarantee,
        departure::set_minimum,
        prices::set_departure_prices,
        prices::clear_departure_prices,
        departure::remove_from_waitlist,
        assignments::page,
        assignments::create_feed,
        assignments::revoke_feed,
        bookings::list,
        bookings::show,
        bookings::resend,
        bookings::cancel,
        bookings::refund,
        bookings::move_booking,
        messages::list,
        messages::retry,
        webhooks::page,
        webhooks::create,
        webhooks::change,
        webhooks::rotate,
        promo_codes::page,
        promo_codes::create,
        promo_codes::change,
        resources::page,
        resources::create,
        resources::change,
        resources::assign,
        resources::unassign,
        reports::page,
        reports::download,
    ]
}

/// What every console page shows around its content: the menu for the user's role, and who is
/// signed in.
async fn frame(store: &Store, principal: &Principal, current: &str) -> Value {
    let menu: Vec<Value> = MENU
        .iter()
        .filter(|(_, _, least)| principal.role.at_least(*least))
        .map(|(path, label, _)| context! { path => path, label => label, current => *path == current })
        .collect();
    let email = match &principal.actor {
        Actor::User { user, .. } => auth::user(store, &principal.operator, user.as_str())
            .await
            .map(|user| user.email)
            .unwrap_or_default(),
        _ => String::new(),
    };
    context! { menu => menu, email => email, role_key => role_key(principal.role) }
}

/// The catalogue key that names a role (`role-owner` …).
pub fn role_key(role: Role) -> String {
    format!("role-{}", role.as_str())
}

/// Not signed in (or the session ended): to the sign-in page.
#[catch(401)]
pub fn sign_in_first(_request: &Request<'_>) -> Redirect {
    Redirect::to("/console/sign-in")
}

/// Signed in, but the operator requires two-factor sign-in and the user has not turned it on:
/// to the Account page, which says so and where they turn it on.
#[catch(428)]
pub fn enrol_first(_request: &Request<'_>) -> Redirect {
    Redirect::to("/console/account?notice=enrol")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use crate::i18n::{Catalogue, Lang};

    /// Keys the console builds at run time (the template check sees only literal ones).
    #[test]
    fn every_role_state_and_notice_has_its_words_in_every_language() {
        let catalogue = Catalogue::load().unwrap();
        let message_statuses = std::iter::once(messages::UNDELIVERED)
            .chain(crate::domain::message::STATUSES)
            .map(messages::status_key);
        let keys = Role::ALL
            .into_iter()
            .map(role_key)
            .chain(BookingStatus::ALL.into_iter().map(departure::status_key))
            .chain(message_statuses)
            .chain(bookings::NOTICES.into_iter().map(bookings::notice_key))
            .chain(team::NOTICES.into_iter().map(team::notice_key))
            .chain(settings::NOTICES.into_iter().map(settings::notice_key))
            .chain(
                promo_codes::NOTICES
                    .into_iter()
                    .map(promo_codes::notice_key),
            )
            .chain(resources::NOTICES.into_iter().map(resources::notice_key))
            .chain(
                departure::WAITLIST_STATES
                    .into_iter()
                    .map(departure::waitlist_state_key),
            )
            .chain(
                crate::service::payments::SettingsSource::ALL
                    .into_iter()
                    .map(settings::in_force_key),
            )
            .chain(
                crate::domain::payment_keys::KeyMode::ALL
                    .into_iter()
                    .map(settings::mode_key),
            );
        for key in keys {
            for lang in Lang::ALL {
                assert!(
                    catalogue.has(lang, &key),
                    "{key} missing in {}",
                    lang.code()
                );
            }
        }
    }
}
