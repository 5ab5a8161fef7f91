//! The origins an operator lets frame its booking pages (the embeddable widget).
//!
//! An origin is what a browser compares for `Content-Security-Policy: frame-ancestors`: scheme,
//! host and port, nothing else. Each is parsed and written back in its one canonical form, so
//! nothing an operator types can add a directive to the policy it lands in.

use url::Url;

/// At most this many origins per operator: a header, not a database.
pub const MAX_ORIGINS: usize = 20;

/// An origin allowed to frame an operator's booking pages, canonical (`https://tours.example`,
/// `http://localhost:8080`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EmbedOrigin(String);

impl EmbedOrigin {
    /// An origin as an operator writes it: `https://` and a host, with an optional port; plain
    /// `http://` only for this machine (`localhost`, `127.0.0.1`, `[::1]`), for trying the
    /// widget out. No path, query, user or wildcard.
    pub fn parse(text: &str) -> Result<EmbedOrigin, &'static str> {
        const SHAPE: &str =
            "must be an origin such as https://tours.example (scheme, host and optional port)";
        let text = text.trim();
        if text.is_empty() || text.len() > 200 || text.contains('*') {
            return Err(SHAPE);
        }
        let url = Url::parse(text).map_err(|_| SHAPE)?;
        let host = url.host_str().ok_or(SHAPE)?;
        let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        // A DNS name (after IDNA) or an address: nothing that could end a CSP source.
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        if !(local || host.chars().all(plain)) {
            return Err(SHAPE);
        }
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            "http" => return Err("must use https:// (plain http:// only for localhost)"),
            _ => return Err(SHAPE),
        }
        let bare = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        // `Url` adds the "/" itself; one typed after the port is harmless, anything else is not.
        let typed_path = text
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/').contains('/'))
            .unwrap_or(true);
        if !bare || typed_path {
            return Err(SHAPE);
        }
        Ok(EmbedOrigin(url.origin().ascii_serialization()))
    }

    /// A stored origin (written by [`EmbedOrigin::parse`]).
    pub fn from_stored(text: &str) -> EmbedOrigin {
        EmbedOrigin(text.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An operator's whole list, each entry checked: sorted, without repeats. The error names the
/// first entry refused and why.
pub fn parse_list(texts: &[String]) -> Result<Vec<EmbedOrigin>, String> {
    if texts.len() > MAX_ORIGINS {
        return Err(format!("at most {MAX_ORIGINS} origins"));
    }
    let mut origins = texts
        .iter()
        .map(|text| EmbedOrigin::parse(text).map_err(|why| format!("{text:?} {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    origins.sort();
    origins.dedup();
    Ok(origins)
}

/// The `frame-ancestors` sources for a list: the origins, or `'none'` when there are none.
pub fn frame_ancestors(origins: &[EmbedOrigin]) -> String {
    if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins
            .iter()
            .map(EmbedOrigin::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_come_out_canonical() {
        let ok = |text: &str| EmbedOrigin::parse(text).unwrap().as_str().to_owned();
        assert_eq!(ok("https://Tours.Example"), "https://tours.example");
        assert_eq!(ok("https://tours.example/"), "https://tours.example");
        assert_eq!(ok("https://tours.example:443"), "https://tours.example");
        assert_eq!(
            ok("https://tours.example:8443"),
            "https://tours.example:8443"
        );
        assert_eq!(ok("http://localhost:8080"), "http://localhost:8080");
        assert_eq!(ok("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(
            ok(" https://bücher.example "),
            "https://xn--bcher-kva.example"
        );
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for text in [
            "",
            "tours.example",
            "http://tours.example",
            "https://tours.example/book",
            "https://tours.example?x=1",
            "https://tours.example#top",
            "https://user@tours.example",
            "https://*.tours.example",
            "https://tours.example; script-src *",
            "https://tours.example;script-src",
            "https://tours,example",
            "https://tours.example 'unsafe-inline'",
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://tours.example",
            "'self'",
            "*",
        ] {
            assert!(EmbedOrigin::parse(text).is_err(), "{text:?} was taken");
        }
    }

    #[test]
    fn a_list_is_sorted_without_repeats_and_bounded() {
        let list = parse_list(&[
            "https://b.example".to_owned(),
            "https://a.example".to_owned(),
            "https://B.example/".to_owned(),
        ])
        .unwrap();
        assert_eq!(
            frame_ancestors(&list),
            "https://a.example https://b.example"
        );
        assert_eq!(frame_ancestors(&[]), "'none'");
        let many: Vec<String> = (0..=MAX_ORIGINS)
            .map(|i| format!("https://s{i}.example"))
            .collect();
        assert!(parse_list(&many).is_err());
        let refused = parse_list(&["https://ok.example".into(), "http://no.example".into()]);
        assert!(refused.unwrap_err().contains("no.example"));
    }
}
