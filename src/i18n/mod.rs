//! What berth writes, in each language: the Project Fluent catalogues in `locales/<code>/*.ftl`
//! (embedded), the formatting of money, dates and times per language ([`format`]), and the
//! template functions that pages and traveler messages share ([`add_template_functions`]).
//! Operators' tour text is shown as they wrote it.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, NaiveTime};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

pub mod format;

pub use crate::domain::lang::Lang;
use crate::embedded;

fn lang_of(state: &State<'_, '_>) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::En)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// A template keyword argument as a Fluent argument: numbers stay numbers (for plurals).
fn fluent_value(value: Value) -> FluentValue<'static> {
    match value.kind() {
        ValueKind::Number => match i64::try_from(value.clone()) {
            Ok(n) => FluentValue::from(n),
            Err(_) => FluentValue::from(value.to_string()),
        },
        _ => FluentValue::from(value.to_string()),
    }
}

/// Adds the functions templates call to write words and numbers in the template's `lang`
/// (a variable of its context, English when absent): `t(key, name=value, …)` (a catalogue
/// message; numbers stay numbers, for plurals), `money(minor, currency)`, `date("YYYY-MM-DD")`,
/// `month_title(year, month)` and `time("HH:MM")`.
pub fn add_template_functions(env: &mut Environment<'static>, catalogue: Arc<Catalogue>) {
    let messages = catalogue.clone();
    env.add_function(
        "t",
        move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, Error> {
            let mut args = FluentArgs::new();
            for name in kwargs.args() {
                args.set(name.to_owned(), fluent_value(kwargs.get::<Value>(name)?));
            }
            kwargs.assert_all_used()?;
            Ok(messages.message(lang_of(state), key, Some(&args)))
        },
    );
    env.add_function(
        "money",
        |state: &State, minor: i64, currency: &str| -> String {
            format::money(minor, currency, lang_of(state))
        },
    );
    let names = catalogue.clone();
    env.add_function(
        "date",
        move |state: &State, iso: &str| -> Result<String, Error> {
            let date = NaiveDate::parse_from_str(iso, "%Y-%m-%d")
                .map_err(|_| invalid(format!("not a date: {iso}")))?;
            Ok(format::date_long(date, lang_of(state), &names))
        },
    );
    let names = catalogue;
    env.add_function(
        "month_title",
        move |state: &State, year: i32, month: u32| -> String {
            format::month_title(year, month, lang_of(state), &names)
        },
    );
    env.add_function(
        "time",
        |state: &State, hh_mm: &str| -> Result<String, Error> {
            let at = NaiveTime::parse_from_str(hh_mm, "%H:%M")
                .map_err(|_| invalid(format!("not a time: {hh_mm}")))?;
            Ok(format::time(at, lang_of(state)))
        },
    );
}

/// The literal keys a template source passes to `t("…"`, for the tests that check every
/// catalogue has them (calls of other functions ending in t, such as `asset(`, are not `t`).
#[cfg(test)]
pub(crate) fn message_keys_in(source: &str) -> Vec<&str> {
    source
        .match_indices("t(\"")
        .filter(|(at, _)| {
            source[..*at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_')
        })
        .map(|(at, _)| source[at + 3..].split('"').next().unwrap_or_default())
        .collect()
}

/// The message catalogues, one Fluent bundle per language.
pub struct Catalogue {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

impl Catalogue {
    /// Loads every embedded `locales/<code>/*.ftl`; a syntax error or a message defined twice
    /// stops start-up (it is a bug in the shipped files, found by the unit tests first).
    pub fn load() -> Result<Catalogue, String> {
        let mut bundles = Vec::new();
        for lang in Lang::ALL {
            let id = lang
                .code()
                .parse()
                .map_err(|e| format!("language tag {}: {e}", lang.code()))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Unicode isolation marks are for mixing scripts in plain text; in HTML they only
            // get in the way of copy and paste and of tests.
            bundle.set_use_isolating(false);
            let prefix = format!("{}/", lang.code());
            for (path, source) in embedded::LOCALES {
                if !path.starts_with(&prefix) || !path.ends_with(".ftl") {
                    continue;
                }
                let resource = FluentResource::try_new((*source).to_owned())
                    .map_err(|(_, errors)| format!("locales/{path}: {errors:?}"))?;
                bundle
                    .add_resource(resource)
                    .map_err(|errors| format!("locales/{path}: {errors:?}"))?;
            }
            bundles.push((lang, bundle));
        }
        Ok(Catalogue { bundles })
    }

    /// The catalogues, loaded once for the process: pages and messages share them. An error
    /// is a bug in the shipped files; `berth serve` meets it at start-up (the pages load them
    /// first), the unit tests before that.
    pub fn shared() -> Result<Arc<Catalogue>, String> {
        static SHARED: OnceLock<Arc<Catalogue>> = OnceLock::new();
        if let Some(catalogue) = SHARED.get() {
            return Ok(catalogue.clone());
        }
        let loaded = Arc::new(Catalogue::load()?);
        Ok(SHARED.get_or_init(|| loaded).clone())
    }

    fn bundle(&self, lang: Lang) -> Option<&FluentBundle<FluentResource>> {
        self.bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, b)| b)
    }

    /// The message `key` in `lang` (English when that language lacks it; the key itself when
    /// no language has it, so a missing message shows rather than breaking the page).
    pub fn message(&self, lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        for bundle in [self.bundle(lang), self.bundle(Lang::En)]
            .into_iter()
            .flatten()
        {
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(
                    key,
                    lang = lang.code(),
                    ?errors,
                    "message formatted with errors"
                );
            }
            return text.into_owned();
        }
        tracing::warn!(key, lang = lang.code(), "no such message");
        key.to_owned()
    }

    /// Whether `lang`'s own catalogue defines `key`.
    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).is_some_and(|b| b.has_message(key))
    }

    /// Every message id defined for `lang`, from the catalogue sources.
    pub fn keys(lang: Lang) -> BTreeSet<String> {
        let prefix = format!("{}/", lang.code());
        embedded::LOCALES
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .flat_map(|(_, source)| source.lines())
            .filter_map(|line| {
                let (id, _) = line.split_once('=')?;
                let id = id.trim_end();
                let starts_well = id.starts_with(|c: char| c.is_ascii_alphabetic());
                let simple = id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                (starts_well && simple && !line.starts_with(' ')).then(|| id.to_owned())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_defines_the_same_messages() {
        let english = Catalogue::keys(Lang::En);
        assert!(english.len() > 20, "catalogue not found: {english:?}");
        for lang in Lang::ALL {
            let keys = Catalogue::keys(lang);
            let missing: Vec<_> = english.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                lang.code()
            );
        }
    }

    #[test]
    fn the_catalogues_load_and_plurals_follow_the_language() {
        let catalogue = Catalogue::load().expect("catalogues load");
        let mut one = FluentArgs::new();
        one.set("count", 1);
        let mut three = FluentArgs::new();
        three.set("count", 3);
        assert_eq!(
            catalogue.message(Lang::En, "seats-left", Some(&one)),
            "1 seat left"
        );
        assert_eq!(
            catalogue.message(Lang::En, "seats-left", Some(&three)),
            "3 seats left"
        );
        assert_eq!(
            catalogue.message(Lang::Es, "seats-left", Some(&one)),
            "Queda 1 plaza"
        );
        assert_eq!(
            catalogue.message(Lang::Es, "seats-left", Some(&three)),
            "Quedan 3 plazas"
        );
        assert_eq!(
            catalogue.message(Lang::Es, "no-such-key", None),
            "no-such-key"
        );
    }
}
