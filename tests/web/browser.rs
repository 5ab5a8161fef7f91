//! A real browser for page tests: headless Chromium driven through WebDriver by its own
//! chromedriver (one per test, on a port the driver picks), with axe-core for accessibility and
//! screenshots at phone and desk widths under `${CARGO_TARGET_DIR:-target}/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`, and `axe.min.js` from the npm package
//! `axe-core` (`BERTH_AXE_JS`, else `~/.cache/berth/npm/node_modules/axe-core/axe.min.js`, where
//! `.ci/run` installs it). Without them a test fails, unless `BERTH_ALLOW_SKIP` names
//! `chromium` (see `support::requirement`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

/// What the browser tests run with.
pub struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    axe: PathBuf,
}

fn first_existing(env: &str, candidates: &[PathBuf]) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates.iter().cloned())
        .find(|path| path.is_file())
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
}

/// The browser, its driver and axe-core, or why they are missing.
fn find_tools() -> Result<Tools, String> {
    let chromium = first_existing(
        "BERTH_CHROMIUM",
        &[
            "/usr/bin/chromium".into(),
            "/usr/bin/chromium-browser".into(),
            "/usr/bin/google-chrome".into(),
        ],
    )
    .ok_or("no Chromium (apt-get install -y chromium)")?;
    let chromedriver = first_existing(
        "BERTH_CHROMEDRIVER",
        &[
            "/usr/bin/chromedriver".into(),
            "/usr/lib/chromium/chromedriver".into(),
        ],
    )
    .ok_or("no chromedriver (apt-get install -y chromium-driver)")?;
    let axe = first_existing(
        "BERTH_AXE_JS",
        &[cache_dir().join("berth/npm/node_modules/axe-core/axe.min.js")],
    )
    .ok_or("no axe-core (npm install --prefix ~/.cache/berth/npm axe-core, or set BERTH_AXE_JS)")?;
    Ok(Tools {
        chromium,
        chromedriver,
        axe,
    })
}

/// The browser, its driver and axe-core; when one is missing the suite's one rule decides
/// (`support::requirement`: fail, or skip visibly under `BERTH_ALLOW_SKIP=chromium`).
pub fn tools_or_skip() -> Option<Tools> {
    crate::support::requirement::require("chromium", find_tools())
}

/// One headless Chromium session, with its own chromedriver and profile directory.
pub struct Browser {
    pub client: Client,
    axe: PathBuf,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a browser session; `None` when the tools are missing (skipped).
    pub async fn start() -> Option<Browser> {
        let tools = tools_or_skip()?;
        // chromedriver prints the port it bound once it accepts sessions. Under load it has
        // exited now and then without doing so (CI, one run in several): start it again, up to
        // three times, and say what it printed if it never does.
        let mut printed = Vec::new();
        let mut started = None;
        for _ in 0..3 {
            let mut driver = tokio::process::Command::new(&tools.chromedriver)
                .arg("--port=0")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                // Its own process group, so a failing test's Drop can end the driver and the
                // browser it started together.
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .expect("chromedriver starts");
            let stdout = driver.stdout.take().expect("piped stdout");
            let read = tokio::time::timeout(Duration::from_secs(30), async {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(rest) = line.split("started successfully on port ").nth(1) {
                        return rest.trim_end_matches('.').parse::<u16>().ok();
                    }
                    printed.push(line);
                }
                None
            })
            .await;
            if let Ok(Some(port)) = read {
                started = Some((driver, port));
                break;
            }
            let _ = driver.kill().await;
        }
        let (driver, port) =
            started.unwrap_or_else(|| panic!("chromedriver never printed its port: {printed:?}"));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": tools.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    // Without these Chromium reaches for the network, which this machine refuses.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--lang=en-US",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session starts");
        Some(Browser {
            client,
            axe: tools.axe,
            driver,
            _profile: profile,
        })
    }

    /// Ends the session (the browser quits), then the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("page loads");
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Clears the field `css` and types `text` into it, as a traveler would.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        field.clear().await.expect("field cleared");
        field.send_keys(text).await.expect("text typed");
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .text()
            .await
            .expect("element text")
    }

    /// Clicks `css` and waits until the page it leads to has loaded (a click may return before
    /// the navigation it starts is done).
    pub async fn click_and_wait(&self, css: &str) {
        self.run("window.__berthBefore = true; return null;").await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .expect("clicked");
        crate::support::wait::eventually("the next page", Duration::from_secs(10), || async {
            let loaded = self
                .client
                .execute(
                    "return !window.__berthBefore && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()?;
            (loaded == json!(true)).then_some(())
        })
        .await;
    }

    /// Presses one key (a `fantoccini::key::Key`) on the focused element.
    pub async fn press(&self, key: fantoccini::key::Key) {
        let focused = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        focused
            .send_keys(&char::from(key).to_string())
            .await
            .expect("key sent");
    }

    /// An attribute of the focused element.
    pub async fn focused_attr(&self, name: &str) -> Option<String> {
        let focused = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        focused.attr(name).await.expect("attribute read")
    }

    /// Runs axe-core on the page and fails on any serious or critical violation.
    pub async fn assert_accessible(&self, page: &str) {
        let axe = std::fs::read_to_string(&self.axe).expect("axe.min.js readable");
        self.run(&format!("{axe}\n;return typeof axe;")).await;
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }))))
                   .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e) }]));",
                vec![],
            )
            .await
            .expect("axe runs");
        let serious: Vec<&Value> = violations
            .as_array()
            .expect("a list of violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            serious.is_empty(),
            "{page}: axe-core reports serious or critical violations: {}",
            serde_json::to_string_pretty(&serious).unwrap_or_default()
        );
    }

    /// Saves full-page screenshots at 375 px and 1280 px as `<name>-375.png` and
    /// `<name>-1280.png`, and checks that nothing overflows sideways at phone width.
    pub async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        for width in [375u32, 1280] {
            self.client
                .set_window_size(width, 900)
                .await
                .expect("window resized");
            let height = self
                .run("return document.documentElement.scrollHeight;")
                .await
                .as_u64()
                .unwrap_or(900)
                .clamp(600, 6000);
            self.client
                .set_window_size(width, height as u32)
                .await
                .expect("window resized");
            if width == 375 {
                let overflow = self
                    .run("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
                    .await;
                assert_eq!(overflow, json!(0), "{name} scrolls sideways at 375 px");
            }
            let png = self.client.screenshot().await.expect("screenshot taken");
            assert!(png.starts_with(b"\x89PNG"), "not a PNG");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).expect("screenshot saved");
        }
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("window resized");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked never reached `close`: end the driver's whole process group
        // (the driver and the browser it started), by its id.
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `${CARGO_TARGET_DIR:-target}/screenshots`, the CI artifact folder.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("screenshots")
}
