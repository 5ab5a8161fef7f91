//! Rocket's own log lines (launch, each request, unmatched routes), printed to stdout as Rocket
//! prints them but without query strings and without the token of a manage link
//! (`/manage/{reference}/{token}` is logged as `/manage/{reference}/…`): feed URLs carry
//! capabilities in their queries, manage links in their path, and Rocket logs the full URI of
//! every request it routes or fails to route.
//! berth's own request log (`http::metrics`) names the route and never the path.

use std::borrow::Cow;
use std::io::Write;

use rocket::config::LogLevel;

/// Rocket's log output, query strings removed. Installed by `main` before Rocket launches, so
/// Rocket keeps it instead of its own logger.
struct RocketLog {
    level: log::LevelFilter,
}

/// Installs the logger for Rocket's `log` records at Rocket's `log_level`; a no-op when a
/// logger is already installed.
pub fn install(level: LogLevel) {
    let level = log::LevelFilter::from(level);
    if log::set_boxed_logger(Box::new(RocketLog { level })).is_ok() {
        log::set_max_level(level);
    }
}

/// Launch messages are printed whatever the level, as Rocket does (unless logging is off).
fn is_launch(metadata: &log::Metadata<'_>) -> bool {
    metadata.target().contains("rocket::launch")
}

impl log::Log for RocketLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.level != log::LevelFilter::Off
            && (metadata.level() <= self.level || is_launch(metadata))
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let from = |prefix: &str| record.module_path().is_some_and(|m| m.starts_with(prefix));
        if self.level < log::LevelFilter::Trace && (from("hyper") || from("rustls") || from("r2d2"))
        {
            return;
        }
        let text = record.args().to_string();
        // Rocket's debug level dumps each request, headers included (bearer and booking tokens).
        if text.starts_with("received request:") {
            return;
        }
        let text = without_query_strings(&text);
        let text = without_manage_tokens(&text);
        // Rocket marks indented lines with a target ending in `_`.
        let indented = record.target().ends_with('_');
        let prefix = match record.level() {
            _ if indented => "   >> ",
            _ if is_launch(record.metadata()) => "",
            log::Level::Error => "Error: ",
            log::Level::Warn => "Warning: ",
            _ => "",
        };
        let _ = writeln!(std::io::stdout().lock(), "{prefix}{text}");
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// `text` with the query string cut from every URI-like word (a word with a `/` before its
/// first `?`): `GET /v1/x?token=abc:` becomes `GET /v1/x`.
pub fn without_query_strings(text: &str) -> Cow<'_, str> {
    rewrite_words(text, |word| {
        let q = word.find('?')?;
        word[..q].contains('/').then(|| word[..q].to_owned())
    })
}

/// `text` with the token of every manage link cut: `GET /manage/BK7X2M4Q/1a2b.c3d4` becomes
/// `GET /manage/BK7X2M4Q/…`. Route patterns (`/manage/<reference>/<token>`) are left alone.
pub fn without_manage_tokens(text: &str) -> Cow<'_, str> {
    const BASE: &str = "/manage/";
    rewrite_words(text, |word| {
        let start = word.find(BASE)? + BASE.len();
        let slash = start + word[start..].find('/')?;
        let token = &word[slash + 1..];
        if token.is_empty() || token.starts_with('<') || token.starts_with('\u{2026}') {
            return None;
        }
        let closing = word
            .chars()
            .next_back()
            .filter(|c| matches!(c, '"' | '\'' | ':' | ',' | ')'))
            .map(String::from)
            .unwrap_or_default();
        Some(format!("{}/\u{2026}{closing}", &word[..slash]))
    })
}

/// `text` with each whitespace-separated word that `rewrite` changes replaced, the spacing
/// between words kept as it was.
fn rewrite_words(text: &str, rewrite: impl Fn(&str) -> Option<String>) -> Cow<'_, str> {
    if !text.split_whitespace().any(|word| rewrite(word).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        match rewrite(word) {
            Some(kept) => out.push_str(&kept),
            None => out.push_str(word),
        }
        rest = &rest[word_end..];
        let space_end = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..space_end]);
        rest = &rest[space_end..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{without_manage_tokens, without_query_strings};

    #[test]
    fn manage_link_tokens_are_cut_from_every_uri() {
        for (line, expected) in [
            (
                "GET /manage/BK7X2M4Q/1a2b3c.d4e5f6 text/html:",
                "GET /manage/BK7X2M4Q/\u{2026} text/html:",
            ),
            (
                "No matching routes for POST /manage/BK7X2M4Q/1a.2b/cancel.",
                "No matching routes for POST /manage/BK7X2M4Q/\u{2026}",
            ),
            (
                "uri: \"/manage/BK7X2M4Q/1a.2b/booking.ics\"",
                "uri: \"/manage/BK7X2M4Q/\u{2026}\"",
            ),
            (
                "Matched: (manage_page) GET /manage/<reference>/<token>",
                "Matched: (manage_page) GET /manage/<reference>/<token>",
            ),
            ("GET /manage/BK7X2M4Q", "GET /manage/BK7X2M4Q"),
        ] {
            assert_eq!(without_manage_tokens(line), expected);
        }
    }

    #[test]
    fn query_strings_are_cut_from_every_uri() {
        for (line, expected) in [
            (
                "GET /v1/tours/01J/availability?from=2030-01-01&token=abc:",
                "GET /v1/tours/01J/availability",
            ),
            (
                "No matching routes for GET /v1/nope?secret=xyz application/json.",
                "No matching routes for GET /v1/nope application/json.",
            ),
            (
                "uri: \"/v1/x?capability=1\",  next\tword",
                "uri: \"/v1/x  next\tword",
            ),
            (
                "Matched: (list) GET /v1/messages?<status>",
                "Matched: (list) GET /v1/messages",
            ),
            ("http://h/p?q=1 and /a?b", "http://h/p and /a"),
        ] {
            assert_eq!(without_query_strings(line), expected);
        }
    }

    #[test]
    fn lines_without_uris_are_left_alone() {
        for line in [
            "Rocket has launched from http://127.0.0.1:8000",
            "why? because",
            "Outcome: Success(200 OK)",
            "",
        ] {
            assert_eq!(without_query_strings(line), line);
        }
    }
}
