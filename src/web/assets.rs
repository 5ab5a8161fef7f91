//! Static files under `assets/`, embedded in the binary and served at
//! `/assets/<dir>/<name>.<hash>.<ext>`: the name carries a hash of the content, so a response
//! can be cached for a year (`immutable`) and a changed file is simply a new URL. Templates get
//! the URL from `asset("css/site.css")`.

use std::collections::HashMap;
use std::path::PathBuf;

use rocket::get;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::{Request, State};
use sha2::{Digest, Sha256};

use super::{embedded, Policy, Web};
use crate::http::rate_limit::RateLimited;

/// Where the asset route is mounted; asset URLs start with it.
pub const BASE: &str = "/assets";

/// One embedded file.
pub struct Asset {
    bytes: &'static [u8],
    content_type: ContentType,
}

/// Every asset by its hashed path, and the hashed URL of every logical path.
pub struct Assets {
    by_hashed: HashMap<String, Asset>,
    urls: HashMap<&'static str, String>,
}

/// `css/site.css` + hash → `css/site.<hash>.css`.
fn hashed_name(path: &str, hash: &str) -> String {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let hashed = match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{file}.{hash}"),
    };
    if dir.is_empty() {
        hashed
    } else {
        format!("{dir}/{hashed}")
    }
}

impl Assets {
    pub fn load() -> Assets {
        let mut by_hashed = HashMap::new();
        let mut urls = HashMap::new();
        for (path, bytes) in embedded::ASSETS {
            let digest = hex::encode(Sha256::digest(bytes));
            let hashed = hashed_name(path, &digest[..12]);
            let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
            let content_type =
                ContentType::from_extension(extension).unwrap_or(ContentType::Binary);
            urls.insert(*path, format!("{BASE}/{hashed}"));
            by_hashed.insert(
                hashed,
                Asset {
                    bytes,
                    content_type,
                },
            );
        }
        Assets { by_hashed, urls }
    }

    /// The URL of a logical asset path such as `css/site.css`; `None` when there is no such file.
    pub fn url(&self, path: &str) -> Option<&str> {
        self.urls.get(path).map(String::as_str)
    }

    fn get(&self, hashed: &str) -> Option<&Asset> {
        self.by_hashed.get(hashed)
    }
}

/// An asset's body, cached for a year: its URL changes whenever its content does.
pub struct AssetResponse(&'static [u8], ContentType);

impl<'r> Responder<'r, 'static> for AssetResponse {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Policy {
            cache_control: "public, max-age=31536000, immutable",
            content_security_policy: None,
            framed: false,
        }
        .remember(request);
        (self.1, self.0).respond_to(request)
    }
}

/// `GET /assets/<hashed path>`; an unknown or stale name is 404.
#[get("/assets/<path..>")]
pub fn asset(_rate: RateLimited, path: PathBuf, web: &State<Web>) -> Result<AssetResponse, Status> {
    let path = path.to_str().ok_or(Status::NotFound)?.replace('\\', "/");
    let asset = web.assets.get(&path).ok_or(Status::NotFound)?;
    Ok(AssetResponse(asset.bytes, asset.content_type.clone()))
}

/// The widget's loader under the one URL operators paste into their sites, so it is cached for
/// minutes, not a year: a new version reaches their pages soon after an upgrade.
pub struct EmbedScript(&'static [u8]);

impl<'r> Responder<'r, 'static> for EmbedScript {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Policy {
            cache_control: "public, max-age=300",
            content_security_policy: None,
            framed: false,
        }
        .remember(request);
        (ContentType::JavaScript, self.0).respond_to(request)
    }
}

/// `GET /embed.js`: see `assets/js/embed.js`.
#[get("/embed.js")]
pub fn embed_script(_rate: RateLimited, web: &State<Web>) -> Result<EmbedScript, Status> {
    let hashed = web.assets.url(EMBED_SCRIPT).ok_or(Status::NotFound)?;
    let asset = web
        .assets
        .get(hashed.trim_start_matches(&format!("{BASE}/")))
        .ok_or(Status::NotFound)?;
    Ok(EmbedScript(asset.bytes))
}

/// The widget loader's logical path.
pub const EMBED_SCRIPT: &str = "js/embed.js";

/// Where the widget loader is served.
pub const EMBED_PATH: &str = "/embed.js";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_the_folder_and_the_extension() {
        assert_eq!(hashed_name("css/site.css", "abc"), "css/site.abc.css");
        assert_eq!(hashed_name("favicon.svg", "abc"), "favicon.abc.svg");
        assert_eq!(hashed_name("LICENSE", "abc"), "LICENSE.abc");
    }

    #[test]
    fn every_asset_has_a_url_that_serves_it() {
        let assets = Assets::load();
        let css = assets
            .url("css/site.css")
            .expect("the stylesheet is embedded");
        assert!(css.starts_with("/assets/css/site.") && css.ends_with(".css"));
        let hashed = css.trim_start_matches("/assets/");
        assert_eq!(assets.get(hashed).unwrap().content_type, ContentType::CSS);
        assert!(assets.url("css/missing.css").is_none());
        assert!(
            assets.get("css/site.css").is_none(),
            "unhashed names are not served"
        );
    }
}
