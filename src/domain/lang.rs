//! The languages berth writes in, and how a visitor's preference picks one (RFC 9110's
//! `Accept-Language`). Pure: the catalogues that hold the words are in `i18n`.

use serde::Serialize;

/// A language berth writes in: its pages, and the messages a traveler receives.
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
    /// A traveler's language as asked for: English when none is given; a tag berth writes no
    /// messages in is refused.
    pub fn of_traveler(tag: Option<&str>) -> Result<Lang, &'static str> {
        match tag {
            Some(tag) => {
                Lang::parse(tag).ok_or("is not a language berth writes messages in (en, es)")
            }
            None => Ok(Lang::En),
        }
    }

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
}

/// `q` as thousandths: `0.8` → 800; malformed → `None` (the entry is ignored).
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
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
}
