//! The waiting line from the booking page. On a sold-out departure `/book/{departure}` offers a
//! "Join the waiting list" form (the booking form's quantities, name, email and phone);
//! `POST /book/{departure}/waitlist` joins through `service::waitlist::join`, the function behind
//! `POST /v1/departures/{id}/waitlist`, in the page's language, once per rendered form (a
//! double-click or a reload joins once and leads to the same page). It then shows
//! `GET /book/{departure}/waitlist?entry=…&key=…`: where the traveler stands (read from the line
//! as it is now: the URL names the entry, under a key only berth makes, never the position), how
//! berth will tell them and how long the seats are then held. A refusal is the booking page again with the
//! input kept (see `failure`): the booking form when the seats are for sale after all, else the
//! waiting-line form with the field marked or a notice.

use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::booking::{self, BookingForm, FormPage};
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::domain::ids::WaitlistEntryId;
use crate::domain::waitlist::Entry;
use crate::http::rate_limit::RateLimited;
use crate::i18n::Lang;
use crate::secrets::{constant_time_eq, Keyring};
use crate::service::operators;
use crate::service::waitlist::{self, JoinRequest};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

/// How berth reaches a traveler who joined: `email`, `sms` or `both`.
fn via(entry: &Entry) -> &'static str {
    let customer = &entry.customer;
    match (customer.email.is_empty(), customer.phone.is_some()) {
        (false, true) => "both",
        (true, _) => "sms",
        (false, false) => "email",
    }
}

/// The key of an entry's place-in-line page: only berth makes one, so a URL cannot name an entry
/// it was not given.
fn place_key(keys: &Keyring, entry: &WaitlistEntryId) -> String {
    keys.hash("waitlist-place", entry.as_str())[..32].to_owned()
}

/// Joins the departure's waiting line with the form's quantities and contact.
#[post("/book/<departure>/waitlist", data = "<form>")]
pub async fn join(
    rate: Result<RateLimited, ()>,
    departure: &str,
    form: CsrfForm<BookingForm>,
    lang: Lang,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Either<Page, Redirect>, WebError> {
    let now = clock.now();
    let form = form.0;
    let booking::Posted {
        departure: record,
        page,
        items,
        ..
    } = match booking::posted(store, now, departure, &form, rate.is_err()).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(Either::Left(answer)),
    };
    // What the form sent, for the key's fingerprint: the same key with other input is refused.
    let fields = serde_json::json!([
        items
            .iter()
            .map(|i| (&i.unit, i.quantity))
            .collect::<Vec<_>>(),
        form.name,
        form.email,
        form.phone,
        lang.code(),
    ])
    .to_string();
    let request = JoinRequest {
        name: form.name.clone(),
        email: Some(form.email.clone()),
        phone: Some(form.phone.clone()),
        language: Some(lang.code().to_owned()),
        items,
    };
    let scope = format!("web:waitlist:{}", record.id);
    let joined = once::once(
        store,
        config,
        now,
        &scope,
        &form.idempotency_key,
        &fields,
        || async {
            let joined = waitlist::join(store, now, departure, request).await?;
            let entry = &joined.entry.id;
            Ok(format!(
                "{}/{}/waitlist?entry={entry}&key={}",
                booking::BASE,
                record.id,
                place_key(&config.keyring(), entry)
            ))
        },
    )
    .await;
    match joined {
        Ok(location) => Ok(Either::Right(Redirect::to(location))),
        Err(error) => Ok(Either::Left(page.failed(&error).page())),
    }
}

/// Where a traveler who joined stands: nothing of theirs but their place in line as it is now
/// (and only the channel, never the address, berth writes to). Without a valid entry and key, or
/// once the entry no longer waits: the booking page.
#[get("/book/<departure>/waitlist?<entry>&<key>")]
pub async fn joined(
    _rate: RateLimited,
    departure: &str,
    entry: Option<&str>,
    key: Option<&str>,
    store: &State<Store>,
    clock: &State<Clock>,
    config: &State<AppConfig>,
) -> Result<Either<Page, Redirect>, WebError> {
    let now = clock.now();
    let (tour, record) = booking::load(store, now, departure).await?;
    let back = || {
        Ok(Either::Right(Redirect::to(format!(
            "{}/{}",
            booking::BASE,
            record.id
        ))))
    };
    let Some(entry) = entry.and_then(WaitlistEntryId::parse) else {
        return back();
    };
    let expected = place_key(&config.keyring(), &entry);
    if !key.is_some_and(|key| constant_time_eq(key, &expected)) {
        return back();
    }
    let Some((entry, position)) = waitlist::place_in_line(store, &entry).await? else {
        return back();
    };
    if entry.departure_id != record.id {
        return back();
    }
    let framing = operators::embed_origins(store, &tour.operator_id).await?;
    let minutes = config.waitlist_offer_ttl().num_minutes();
    let position = u32::try_from(position).unwrap_or(u32::MAX);
    Ok(Either::Left(
        FormPage::new(&tour, &record, now, BookingForm::default())
            .framed_by(framing)
            .joined(position, via(&entry), minutes),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::DepartureId;
    use crate::domain::records::Customer;
    use crate::domain::waitlist::EntryStatus;

    fn joined(email: &str, phone: Option<&str>) -> Entry {
        Entry {
            id: WaitlistEntryId::generate(),
            departure_id: DepartureId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            customer: Customer {
                name: "Ada".to_owned(),
                email: email.to_owned(),
                phone: phone.map(str::to_owned),
                language: Lang::En,
            },
            items: Vec::new(),
            seats: 1,
            status: EntryStatus::Waiting,
            booking: None,
            joined_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_page_names_the_channels_the_traveler_gave() {
        assert_eq!(via(&joined("ada@example.com", None)), "email");
        assert_eq!(via(&joined("", Some("+351912345678"))), "sms");
        assert_eq!(
            via(&joined("ada@example.com", Some("+351912345678"))),
            "both"
        );
    }
}
