//! A headless Chromium driven over WebDriver (`fantoccini`) for the
//! real-browser tests: `/usr/bin/chromedriver` runs as a child process on a
//! free loopback port (killed, with the browser it started, on drop).
//!
//! When Chromium or chromedriver is not installed, [`Browser::start`] prints
//! `SKIPPED: ...` and returns `None`, except under `CI=true`, where it panics
//! (`.ci/run` installs both).
#![allow(dead_code, unreachable_pub)]

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long element and URL waits poll before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A WebDriver session on a headless Chromium, and the chromedriver behind it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("driver_pid", &self.driver.id())
            .finish()
    }
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn skip(reason: &str) -> Option<Browser> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and the browser tests cannot run: {reason}");
    }
    eprintln!("SKIPPED: {reason} (install with `apt-get install -y chromium chromium-driver`)");
    None
}

impl Browser {
    /// Starts chromedriver and opens a session on a headless Chromium, or
    /// `None` (after printing `SKIPPED: ...`) when either is not installed.
    pub async fn start() -> Option<Self> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(bin).exists() {
                return skip(&format!("{bin} is not installed"));
            }
        }
        let port = free_port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // Its own process group, so that drop can end the browser with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let driver = cmd.spawn().expect("starting chromedriver");
        // From here on, drop kills the driver even if the session fails.
        let mut guard = DriverGuard(Some(driver));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            if let Some(Ok(Some(status))) = guard.0.as_mut().map(Child::try_wait) {
                panic!("chromedriver exited before answering: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {url} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1200,900",
                ],
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("opening a Chromium session through {url}: {e}"));
        Some(Self {
            client,
            driver: guard.0.take().unwrap(),
        })
    }

    /// Ends the session (the browser quits and removes its profile), then
    /// the driver. Drop does the latter alone, killing the browser.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The element at `css`, polled for up to [`WAIT`].
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self.url().await;
                let text = self.page_text().await;
                panic!("no `{css}` within {WAIT:?} on {url}: {e}\nthe page says:\n{text}")
            }
        }
    }

    /// Every element at `css` now (no wait).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// Types `text` into the (cleared) input at `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// The text of the element at `css` (polled for).
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Polls for up to [`WAIT`] until the current URL satisfies `ok`.
    pub async fn wait_for_url(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if ok(&url) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the browser did not reach {what} within {WAIT:?}; it is on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The rendered text of the page's body (empty when there is none).
    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Polls for up to [`WAIT`] until the page's text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let body = self.page_text().await;
            if body.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no text {needle:?} within {WAIT:?} on {}; the page says:\n{body}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the viewport as `target/browser-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}

/// `target/browser-artifacts` (`CARGO_TARGET_DIR` when set).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_relative() {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
            } else {
                p
            }
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-artifacts")
}

/// Kills chromedriver's process group (the driver and the browser it
/// started) and reaps the driver.
struct DriverGuard(Option<Child>);

fn kill_group(child: &mut Child) {
    // The group id is the driver's pid (`process_group(0)`).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            kill_group(child);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}
