//! A departure's waiting line on its console page: each entry in join order, and admins taking
//! a waiting traveler out of it.

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{post, Either};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::auth::Role;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::Admin;
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::waitlist::{self, State as WaitlistState};
use crate::storage::Store;
use crate::web::console::Console;
use crate::web::{once, CsrfForm, Page, WebError};

use super::{render, Shown};

/// Every state an entry is shown in (each a catalogue key `console-waitlist-state-…`).
pub const WAITLIST_STATES: [WaitlistState; 6] = [
    WaitlistState::Waiting,
    WaitlistState::Offered,
    WaitlistState::Booked,
    WaitlistState::Lapsed,
    WaitlistState::Removed,
    WaitlistState::Closed,
];

pub fn waitlist_state_key(state: WaitlistState) -> String {
    format!("console-waitlist-state-{}", state.as_str())
}

/// The line as the departure page shows it; `None` for guides, who see no travelers' contacts
/// beyond the manifest. `refused` is an entry whose removal was refused, with the message key.
pub(super) async fn waitlist_section(
    store: &Store,
    now: DateTime<Utc>,
    principal: &Principal,
    departure: &str,
    tz: Tz,
    refused: Option<&(String, &'static str)>,
) -> Result<Option<Value>, AppError> {
    if !principal.role.at_least(Role::Staff) {
        return Ok(None);
    }
    let manage = principal.role.at_least(Role::Admin);
    let local = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let entries: Vec<Value> = waitlist::list(store, now, principal, departure)
        .await?
        .iter()
        .map(|listed| {
            let entry = &listed.entry;
            let id = entry.id.to_string();
            let items: Vec<String> = entry
                .items
                .iter()
                .map(|i| format!("{} × {}", i.quantity, i.unit))
                .collect();
            let problem = refused
                .filter(|(refused, _)| *refused == id)
                .map(|(_, key)| *key);
            context! {
                id => id,
                name => entry.customer.name,
                email => Some(entry.customer.email.as_str()).filter(|e| !e.is_empty()),
                phone => entry.customer.phone,
                seats => entry.seats,
                items => items.join(", "),
                state => listed.state.as_str(),
                state_key => waitlist_state_key(listed.state),
                joined_at => local(entry.joined_at),
                reference => listed.hold.as_ref().map(|(r, _)| r.to_string()),
                expires_at => listed.hold.as_ref().and_then(|(_, at)| at.map(local)),
                can_remove => manage && listed.state == WaitlistState::Waiting,
                form_key => once::new_key(),
                problem => problem,
            }
        })
        .collect();
    Ok(Some(context! { entries => entries, manage => manage }))
}

/// The remove button's form: its key, so a double-click removes once.
#[derive(FromForm)]
pub struct RemoveFromWaitlist {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/departures/<id>/waitlist/<entry>/remove`: admins. An entry already offered
/// or removed (`not_waiting`) shows the page again with the reason beside it.
#[post("/console/departures/<id>/waitlist/<entry>/remove", data = "<form>")]
pub async fn remove_from_waitlist(
    _rate: RateLimited,
    user: Console<Admin>,
    id: &str,
    entry: &str,
    form: CsrfForm<RemoveFromWaitlist>,
    ctx: Ctx<'_>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let scope = format!("console:{}:waitlist", principal.operator);
    let removed = once::once(
        ctx.store,
        ctx.config,
        ctx.now(),
        &scope,
        &form.0.form_key,
        &format!("{id}:{entry}"),
        || async {
            waitlist::remove(ctx.store, ctx.now(), &principal, id, entry).await?;
            Ok(format!(
                "/console/departures/{id}?notice=waitlist-removed#waitlist"
            ))
        },
    )
    .await;
    match removed {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Refused {
            code: "not_waiting",
            ..
        }) => {
            let shown = Shown {
                waitlist: Some((entry.to_owned(), "console-waitlist-not-waiting")),
                ..Shown::default()
            };
            let page = render(ctx.store, ctx.now(), &principal, id, shown).await?;
            Ok(Either::Right(page.status(rocket::http::Status::Conflict)))
        }
        Err(other) => Err(other.into()),
    }
}
