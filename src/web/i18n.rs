//! Languages of the pages: the Project Fluent catalogues in `locales/<code>/*.ftl` (embedded),
//! and which language a request gets: `?lang=`, else the `lang` cookie set by the switch, else
//! `Accept-Language`, else English. Operators' tour text is shown as they wrote it.

use std::collections::BTreeSet;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use rocket::Request;
use serde::Serialize;

use super::embedded;

/// Name of the cookie the language switch sets.
pub const LANG_COOKIE: &str = "lang";

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag, also the folder under `locales/` and the value of `?lang=`.
    pub const fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language's own name, as the switch shows it.
    pub const fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    /// `es`, `es-MX`, `ES` → Spanish; anything else we do not speak → `None`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|lang| lang.code() == primary)
    }

    /// The best language for an `Accept-Language` header (RFC 9110 §12.5.4): the highest
    /// `q` among the languages we have, earlier entries winning ties; `q=0` means "not this".
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(Lang, u16)> = None;
        for entry in accept_language.split(',').take(32) {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality);
            let (Some(lang), Some(quality)) = (Lang::parse(tag), quality) else {
                continue;
            };
            if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((lang, quality));
            }
        }
        best.map(|(lang, _)| lang)
    }

    /// The request's language (computed once per request).
    pub fn of(request: &Request<'_>) -> Lang {
        *request.local_cache(|| {
            let from_query = request
                .query_value::<&str>("lang")
                .and_then(Result::ok)
                .and_then(Lang::parse);
            from_query
                .or_else(|| {
                    request
                        .cookies()
                        .get(LANG_COOKIE)
                        .and_then(|c| Lang::parse(c.value()))
                })
                .or_else(|| {
                    request
                        .headers()
                        .get_one("Accept-Language")
                        .and_then(Lang::negotiate)
                })
                .unwrap_or(Lang::En)
        })
    }
}

/// `q` as thousandths: `0.8` → 800; malformed → `None` (the entry is ignored).
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
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
    fn accept_language_picks_the_best_language_we_have() {
        assert_eq!(Lang::negotiate("es-ES,es;q=0.9,en;q=0.8"), Some(Lang::Es));
        assert_eq!(Lang::negotiate("fr-FR,fr;q=0.9,en;q=0.5"), Some(Lang::En));
        assert_eq!(Lang::negotiate("en;q=0.4, es;q=0.6"), Some(Lang::Es));
        assert_eq!(Lang::negotiate("de, fr"), None);
        assert_eq!(Lang::negotiate("es;q=0, en;q=0.1"), Some(Lang::En));
        assert_eq!(Lang::negotiate("es;q=banana, en"), Some(Lang::En));
        assert_eq!(Lang::negotiate(""), None);
    }

    #[test]
    fn tags_parse_by_their_primary_subtag() {
        assert_eq!(Lang::parse("es-MX"), Some(Lang::Es));
        assert_eq!(Lang::parse("EN_gb"), Some(Lang::En));
        assert_eq!(Lang::parse("esperanto"), None);
        assert_eq!(Lang::parse(""), None);
    }

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
