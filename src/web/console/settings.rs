//! The operator's settings in the console (owners, as `/v1/operator`): the sender of traveler
//! emails (an address in a domain the instance owner approved, and where replies go), the
//! sites allowed to frame its booking pages (the widget), whether berth writes to resellers'
//! travellers (as `/v1/operator/reseller-messages`), and its own Stripe keys (as
//! `/v1/operator/payments`); and the audit log (admins, as `GET /v1/audit`), a page at a time.

use std::collections::BTreeMap;

use minijinja::{context, Value};
use rocket::form::FromForm;
use rocket::response::Redirect;
use rocket::{get, post, Either, State};

use super::{frame, Console};
use crate::domain::payment_keys::KeyMode;
use crate::domain::reseller::ResaleMessages;
use crate::error::AppError;
use crate::http::context::Ctx;
use crate::http::guards::{Admin, Owner};
use crate::http::rate_limit::RateLimited;
use crate::service::auth::Principal;
use crate::service::payments::{self, AccountCheck, PaymentSettings, Payments, SettingsSource};
use crate::service::{audit, operators};
use crate::storage::Store;
use crate::web::{once, CsrfForm, Page, WebError};

type Problems = BTreeMap<String, String>;

/// The notices a change leads to (catalogue keys `console-settings-notice-…`).
pub const NOTICES: [&str; 5] = [
    "sender",
    "origins",
    "reseller-messages",
    "payments",
    "payments-removed",
];

pub fn notice_key(notice: &str) -> String {
    format!("console-settings-notice-{notice}")
}

/// The forms as typed, when one was refused.
/// The secret keys are never written back into the page: a refused form keeps the publishable
/// key only, and the secret fields are marked to be typed again.
#[derive(Default)]
struct Typed {
    mail_from: Option<String>,
    reply_to: Option<String>,
    origins: Option<String>,
    publishable_key: Option<String>,
}

/// What the page shows besides the forms: a notice after a change, or a key check's result.
#[derive(Default)]
struct Shown<'a> {
    notice: Option<&'a str>,
    check: Option<AccountCheck>,
}

async fn render(
    ctx: Ctx<'_>,
    payments: &Payments,
    principal: &Principal,
    shown: Shown<'_>,
    typed: Typed,
    problems: Problems,
) -> Result<Page, WebError> {
    let store = ctx.store;
    let operator = &principal.operator;
    let settings = payments::payment_settings(store, payments, operator).await?;
    let profile = operators::profile(store, operator).await?;
    let domains = operators::sender_domains(store, operator).await?;
    let origins: Vec<String> = operators::embed_origins(store, operator)
        .await?
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    let reseller_messages = operators::reseller_messages(store, operator).await?;
    Ok(Page::new(
        "console/settings.html",
        context! {
            console => frame(store, principal, "/console/settings").await,
            operator => context! { name => profile.name, email => profile.email },
            domains => domains,
            mail_from => typed.mail_from.unwrap_or_else(|| profile.mail_from.unwrap_or_default()),
            reply_to => typed.reply_to.unwrap_or_else(|| profile.reply_to.unwrap_or_default()),
            origins => typed.origins.unwrap_or_else(|| origins.join("\n")),
            reseller_messages => reseller_messages.as_str(),
            payments => payments_view(&settings, ctx.config.public_url()),
            publishable_key => typed.publishable_key.unwrap_or_default(),
            check => shown.check.map(|c| context! {
                ok => c.ok, account => c.account, problem => c.problem,
            }),
            sender_key => once::new_key(),
            origins_key => once::new_key(),
            reseller_messages_key => once::new_key(),
            payments_key => once::new_key(),
            notice_key => shown.notice.filter(|n| NOTICES.contains(n)).map(notice_key),
            errors => problems,
        },
    )
    .refused_if(!problems.is_empty()))
}

/// Where a settings form leads: the page its change named, or, refused, the settings page again
/// with the problems beside the fields and what was typed (`typed`; it may add problems).
async fn settle(
    ctx: Ctx<'_>,
    payments: &Payments,
    principal: &Principal,
    done: Result<String, AppError>,
    typed: impl FnOnce(&mut Problems) -> Typed,
) -> Result<Either<Redirect, Page>, WebError> {
    match done {
        Ok(location) => Ok(Either::Left(Redirect::to(location))),
        Err(AppError::Validation(mut problems)) => {
            let typed = typed(&mut problems);
            let page = render(ctx, payments, principal, Shown::default(), typed, problems);
            Ok(Either::Right(page.await?))
        }
        Err(other) => Err(other.into()),
    }
}

/// The scope of the settings forms' once-only keys.
fn form_scope(principal: &Principal) -> String {
    format!("console:{}:settings", principal.operator)
}

/// The words for whose keys are in force (catalogue keys `console-payments-in-force-…`).
pub fn in_force_key(source: SettingsSource) -> String {
    format!("console-payments-in-force-{}", source.as_str())
}

/// The words for a key's mode (`console-payments-mode-test`, `…-live`).
pub fn mode_key(mode: KeyMode) -> String {
    format!("console-payments-mode-{}", mode.as_str())
}

/// The payment settings as the page shows them: whose keys, their mode, masks, and the URL
/// the operator's Stripe webhook endpoint must call.
fn payments_view(settings: &PaymentSettings, public_url: &str) -> Value {
    let account = settings.account.as_ref().map(|a| {
        context! {
            secret_key => a.secret_key_mask, publishable_key => a.publishable_key,
            webhook_secret => a.webhook_secret_mask,
            set_at => a.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    });
    context! {
        in_force_key => in_force_key(settings.source),
        mode => settings.mode.map(|m| m.as_str()),
        mode_key => settings.mode.map(mode_key),
        account => account,
        webhook_url => format!("{}{}", public_url.trim_end_matches('/'), settings.webhook_path),
    }
}

/// `GET /console/settings`: the operator's sender, widget and payment settings. Owners.
#[get("/console/settings?<notice>")]
pub async fn page(
    _rate: RateLimited,
    user: Console<Owner>,
    notice: Option<&str>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Page, WebError> {
    let shown = Shown {
        notice,
        check: None,
    };
    render(
        ctx,
        payments,
        &user.0,
        shown,
        Typed::default(),
        Problems::new(),
    )
    .await
}

#[derive(FromForm)]
pub struct SenderForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    mail_from: String,
    #[field(default = String::new())]
    reply_to: String,
}

/// An empty field clears the setting, as `null` does on the API.
fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// `POST /console/settings/sender`: who traveler emails come from and where replies go, as
/// `PATCH /v1/operator`. A refusal shows the form again with what was typed.
#[post("/console/settings/sender", data = "<form>")]
pub async fn sender(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<SenderForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let f = form.0;
    let scope = form_scope(&principal);
    let fields = format!("sender:{}:{}", f.mail_from.trim(), f.reply_to.trim());
    let done = once::once(store, config, now, &scope, &f.form_key, &fields, || async {
        let (from, reply) = (optional(&f.mail_from), optional(&f.reply_to));
        operators::set_mail_identity(store, now, &principal, from, reply).await?;
        Ok("/console/settings?notice=sender".to_owned())
    })
    .await;
    settle(ctx, payments, &principal, done, |_| Typed {
        mail_from: Some(f.mail_from.clone()),
        reply_to: Some(f.reply_to.clone()),
        ..Typed::default()
    })
    .await
}

#[derive(FromForm)]
pub struct OriginsForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    origins: String,
}

/// `POST /console/settings/origins`: the sites that may frame the booking pages, one per line,
/// as `PUT /v1/operator/embed-origins`; an empty box stops all framing.
#[post("/console/settings/origins", data = "<form>")]
pub async fn origins(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<OriginsForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let f = form.0;
    let list: Vec<String> = f.origins.split_whitespace().map(str::to_owned).collect();
    let scope = form_scope(&principal);
    let fields = format!("origins:{}", list.join(" "));
    let done = once::once(store, config, now, &scope, &f.form_key, &fields, || async {
        operators::set_embed_origins(store, now, &principal, &list).await?;
        Ok("/console/settings?notice=origins".to_owned())
    })
    .await;
    settle(ctx, payments, &principal, done, |_| Typed {
        origins: Some(f.origins.clone()),
        ..Typed::default()
    })
    .await
}

#[derive(FromForm)]
pub struct ResellerMessagesForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    messages: String,
}

/// `POST /console/settings/reseller-messages`: whether berth writes to the travellers of
/// reseller bookings, as `PUT /v1/operator/reseller-messages`.
#[post("/console/settings/reseller-messages", data = "<form>")]
pub async fn reseller_messages(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<ResellerMessagesForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let f = form.0;
    let scope = form_scope(&principal);
    let fields = format!("reseller-messages:{}", f.messages);
    let done = once::once(store, config, now, &scope, &f.form_key, &fields, || async {
        let messages = ResaleMessages::parse(&f.messages).ok_or_else(|| {
            AppError::invalid("messages", "must be one of never, on_request, always")
        })?;
        operators::set_reseller_messages(store, now, &principal, messages).await?;
        Ok("/console/settings?notice=reseller-messages".to_owned())
    })
    .await;
    settle(ctx, payments, &principal, done, |_| Typed::default()).await
}

#[derive(FromForm)]
pub struct PaymentsForm {
    #[field(default = String::new())]
    form_key: String,
    #[field(default = String::new())]
    secret_key: String,
    #[field(default = String::new())]
    publishable_key: String,
    #[field(default = String::new())]
    webhook_secret: String,
}

/// `POST /console/settings/payments`: the operator's own Stripe keys, as
/// `PUT /v1/operator/payments`. A refusal shows the form again with the publishable key kept;
/// the secret fields are never written back into the page.
#[post("/console/settings/payments", data = "<form>")]
pub async fn payment_keys(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<PaymentsForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Either<Redirect, Page>, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let f = form.0;
    let scope = form_scope(&principal);
    // Keyed (an HMAC under BERTH_SECRET_KEY) before it is stored: no key is kept in clear.
    let fields = format!(
        "payments:{}:{}:{}",
        f.secret_key.trim(),
        f.publishable_key.trim(),
        f.webhook_secret.trim()
    );
    let done = once::once(store, config, now, &scope, &f.form_key, &fields, || async {
        let keys = (&*f.secret_key, &*f.publishable_key, &*f.webhook_secret);
        payments::set_account(store, payments, config.is_release(), now, &principal, keys).await?;
        Ok("/console/settings?notice=payments".to_owned())
    })
    .await;
    settle(ctx, payments, &principal, done, |problems| {
        for secret in ["secret_key", "webhook_secret"] {
            if !problems.contains_key(secret) {
                problems.insert(secret.to_owned(), RETYPE.to_owned());
            }
        }
        Typed {
            publishable_key: Some(f.publishable_key.clone()),
            ..Typed::default()
        }
    })
    .await
}

/// Shown beside a secret field that was right but must be typed again after another field was
/// refused (the page never carries a secret back).
const RETYPE: &str = "type it again: secret keys are not shown back";

#[derive(FromForm)]
pub struct KeyedForm {
    #[field(default = String::new())]
    form_key: String,
}

/// `POST /console/settings/payments/remove`: stop using the operator's own keys, as
/// `DELETE /v1/operator/payments`.
#[post("/console/settings/payments/remove", data = "<form>")]
pub async fn remove_payment_keys(
    _rate: RateLimited,
    user: Console<Owner>,
    form: CsrfForm<KeyedForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Redirect, WebError> {
    let principal = user.0;
    let (store, config, now) = (ctx.store, ctx.config, ctx.now());
    let scope = form_scope(&principal);
    let location = once::once(
        store,
        config,
        now,
        &scope,
        &form.0.form_key,
        "payments-remove",
        || async {
            payments::remove_account(store, payments, now, &principal).await?;
            Ok("/console/settings?notice=payments-removed".to_owned())
        },
    )
    .await?;
    Ok(Redirect::to(location))
}

/// `POST /console/settings/payments/check`: one harmless Stripe call with the keys in force
/// (retrieve the account); the page shows what Stripe answered.
#[post("/console/settings/payments/check", data = "<_form>")]
pub async fn check_payment_keys(
    _rate: RateLimited,
    user: Console<Owner>,
    _form: CsrfForm<KeyedForm>,
    ctx: Ctx<'_>,
    payments: &State<Payments>,
) -> Result<Page, WebError> {
    let principal = user.0;
    let check = payments::check_account(ctx.store, payments, &principal).await?;
    let shown = Shown {
        notice: None,
        check: Some(check),
    };
    render(
        ctx,
        payments,
        &principal,
        shown,
        Typed::default(),
        Problems::new(),
    )
    .await
}

/// Entries per page of the audit log.
const AUDIT_PAGE: u32 = 50;

/// `GET /console/audit?before=…`: what the operator's users and tokens did, newest first, 50 at
/// a time. Admins, as `GET /v1/audit`.
#[get("/console/audit?<before>")]
pub async fn audit_log(
    _rate: RateLimited,
    user: Console<Admin>,
    before: Option<&str>,
    store: &State<Store>,
) -> Result<Page, WebError> {
    let principal = user.0;
    // A `before` that is not an entry id starts from the newest, rather than failing.
    let before = before.filter(|b| ulid::Ulid::from_string(b).is_ok());
    let entries = audit::list(store, &principal.operator, before, AUDIT_PAGE).await?;
    let next = (entries.len() == AUDIT_PAGE as usize)
        .then(|| entries.last().map(|e| e.id.clone()))
        .flatten();
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            context! {
                at => e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor => e.actor, action => e.action, target => e.target, detail => e.detail,
                booking => e.target.strip_prefix("booking:"),
            }
        })
        .collect();
    Ok(Page::new(
        "console/audit.html",
        context! {
            console => frame(store, &principal, "/console/audit").await,
            entries => rows,
            next => next,
        },
    ))
}
