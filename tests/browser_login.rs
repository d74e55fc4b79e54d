//! The authorization-code login in a real browser: a headless Chromium,
//! driven over WebDriver (`fantoccini` + `/usr/bin/chromedriver`), logs in
//! through the shop example's issuer pages (`#email`, `#password`, `#login`,
//! then `#allow`).
//!
//! - `issuer_login_in_a_browser`: the issuer pages alone, redirecting to a
//!   recorder server in this test; the code is exchanged over plain HTTP.
//! - `storefront_login_in_a_browser` (`login` feature): the shop's own
//!   storefront at `/`, its `shop_session` cookie, and logout.
//! - `partner_app_login_in_a_browser` (`login` feature): the same on
//!   `examples/partner_app.rs`, a separate process using the shop as issuer.
//!
//! Without Chromium or chromedriver each test prints `SKIPPED: ...` and
//! passes, except under `CI=true`. Screenshots go to
//! `target/browser-artifacts/`.
#![cfg(feature = "issuer")]

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EMAIL: &str = "leslie@pawnee.example";
const PASSWORD: &str = "waffles-at-JJs-diner";
const CLIENT_ID: &str = "browser-test-backend";
const CLIENT_SECRET: &str = "browser-test-backend-secret-0123456789";

/// The shop example with the fixed demo customer (and confidential client),
/// and the demo customer's id from its stdout.
fn start_shop(extra: &[(&str, &str)]) -> (common::ExampleServer, String) {
    let mut envs = vec![
        ("TOLLGATE_DEMO_CUSTOMER_EMAIL", EMAIL),
        ("TOLLGATE_DEMO_CUSTOMER_PASSWORD", PASSWORD),
        ("TOLLGATE_DEMO_CLIENT_ID", CLIENT_ID),
        ("TOLLGATE_DEMO_CLIENT_SECRET", CLIENT_SECRET),
    ];
    envs.extend_from_slice(extra);
    // Blocking (and possibly building the example): off the async workers.
    let shop = tokio::task::block_in_place(|| common::start_example("shop", &envs));
    let customer = shop
        .stdout_lines
        .iter()
        .find_map(|l| {
            let rest = l.strip_prefix("Demo customer: ")?;
            let id = rest.split("(id ").nth(1)?;
            Some(id.split(')').next()?.to_owned())
        })
        .unwrap_or_else(|| {
            panic!(
                "no `Demo customer: ... (id ID)` line in the shop's output:\n{}",
                shop.stdout_lines.join("\n")
            )
        });
    (shop, customer)
}

/// A query string's decoded pairs, in order.
type Query = Vec<(String, String)>;

/// A tiny redirect target on 127.0.0.1: records each query it gets on
/// `/cb` and answers "ok".
struct Recorder {
    redirect_uri: String,
    queries: Arc<Mutex<Vec<Query>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let redirect_uri = format!("http://{}/cb", listener.local_addr().unwrap());
        let queries = Arc::new(Mutex::new(Vec::new()));
        let q = queries.clone();
        let app = axum::Router::new().route(
            "/cb",
            axum::routing::get(
                move |axum::extract::RawQuery(raw): axum::extract::RawQuery| {
                    let q = q.clone();
                    async move {
                        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                            .into_owned()
                            .collect();
                        q.lock().unwrap().push(pairs);
                        "ok"
                    }
                },
            ),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            redirect_uri,
            queries,
            task,
        }
    }

    fn count(&self) -> usize {
        self.queries.lock().unwrap().len()
    }

    /// The first query received, polled for up to 10 s.
    async fn first(&self) -> Query {
        let deadline = Instant::now() + browser::WAIT;
        loop {
            if let Some(q) = self.queries.lock().unwrap().first() {
                return q.clone();
            }
            assert!(Instant::now() < deadline, "the redirect URI got no request");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).unwrap();
    common::b64(buf)
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Fills the issuer's login form and submits it.
async fn log_in(browser: &Browser, password: &str) {
    browser.fill("#email", EMAIL).await;
    browser.fill("#password", password).await;
    browser.click("#login").await;
}

/// Seeds two orders of `customer` and one of someone else through the API
/// (client credentials), so that the pages have something to filter.
#[cfg(feature = "login")]
async fn seed_orders(shop: &str, customer: &str) {
    let http = reqwest::Client::new();
    let (status, body) = common::client_credentials(&http, shop, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(status, 200, "client credentials: {body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    for (who, item) in [
        (customer, "lagavulin"),
        ("cus_someone_else", "calzone"),
        (customer, "waffles"),
    ] {
        let (status, body) = common::http_call(
            &http,
            "POST",
            format!("{shop}/orders"),
            &[("authorization", format!("Bearer {token}"))],
            Some(serde_json::json!({"customer_id": who, "items": [item]})),
        )
        .await;
        assert_eq!(status, 201, "creating an order: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_login_in_a_browser() {
    let started = Instant::now();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let recorder = Recorder::start().await;
    let (shop, _customer) = start_shop(&[("TOLLGATE_DEMO_REDIRECT_URIS", &recorder.redirect_uri)]);
    let base = shop.base.clone();

    let verifier = random_b64(32);
    let challenge = {
        use sha2::Digest as _;
        common::b64(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let state = random_b64(12);
    let authorize = format!(
        "{base}/oauth/authorize?{}",
        form(&[
            ("response_type", "code"),
            ("client_id", "demo-storefront"),
            ("redirect_uri", &recorder.redirect_uri),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
    );

    // A wrong password: the error on the login page, no redirect.
    browser.goto(&authorize).await;
    log_in(&browser, "not-the-password").await;
    browser
        .wait_for_text("The email or password is wrong.")
        .await;
    let url = browser.url().await;
    assert!(url.starts_with(&base), "left the issuer: {url}");
    assert!(browser.find_all("#allow").await.is_empty());
    assert_eq!(recorder.count(), 0, "redirected after a wrong password");

    // The right one: consent, allow, redirect with code, state and iss.
    browser.goto(&authorize).await;
    log_in(&browser, PASSWORD).await;
    browser.find("#allow").await;
    browser.find("#deny").await;
    browser.screenshot("issuer-consent").await;
    browser.click("#allow").await;
    let query = recorder.first().await;
    browser
        .wait_for_url("the redirect URI", |u| {
            u.starts_with(&recorder.redirect_uri)
        })
        .await;
    browser.wait_for_text("ok").await;
    let code = param(&query, "code").expect("a code").to_owned();
    assert_eq!(param(&query, "state"), Some(state.as_str()));
    assert_eq!(param(&query, "iss"), Some(base.as_str()));
    assert_eq!(param(&query, "error"), None);
    assert_eq!(recorder.count(), 1);

    // The code → tokens (public client, PKCE), then the API with them.
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "demo-storefront"),
            ("code_verifier", &verifier),
            ("redirect_uri", &recorder.redirect_uri),
        ]))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let tokens: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null);
    assert_eq!(status, 200, "code exchange: {tokens}");
    let access = tokens["access_token"].as_str().expect("an access_token");
    let (status, body) = common::http_call(
        &http,
        "GET",
        format!("{base}/orders"),
        &[("authorization", format!("Bearer {access}"))],
        None,
    )
    .await;
    assert_eq!(status, 200, "GET /orders with the customer's token: {body}");

    browser.close().await;
    eprintln!("issuer_login_in_a_browser took {:?}", started.elapsed());
}

/// After the login: `#customer` is `customer`, and `#orders` lists only
/// their orders (at least the two seeded).
#[cfg(feature = "login")]
async fn assert_logged_in_as(browser: &Browser, customer: &str) {
    assert_eq!(browser.text("#customer").await.trim(), customer);
    browser.find("#orders").await;
    let orders = browser.find_all("#orders li.order").await;
    assert!(
        orders.len() >= 2,
        "expected the customer's 2 seeded orders, got {}",
        orders.len()
    );
    for order in orders {
        assert_eq!(
            order.attr("data-customer").await.unwrap().as_deref(),
            Some(customer),
            "an order of someone else: {}",
            order.html(false).await.unwrap_or_default()
        );
    }
}

/// From a logged-out `/` at `base`: `#login`, the issuer's form, `#allow`,
/// and back on `base/`.
#[cfg(feature = "login")]
async fn log_in_from_home(browser: &Browser, base: &str) {
    let home = format!("{base}/");
    browser.goto(&home).await;
    assert!(browser.find_all("#customer").await.is_empty());
    browser.click("#login").await;
    log_in(browser, PASSWORD).await;
    browser.click("#allow").await;
    browser
        .wait_for_url(&home, |u| u == home || u == base)
        .await;
}

#[cfg(feature = "login")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storefront_login_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (shop, customer) = start_shop(&[]);
    seed_orders(&shop.base, &customer).await;

    log_in_from_home(&browser, &shop.base).await;
    assert_logged_in_as(&browser, &customer).await;

    let cookie = browser
        .client
        .get_named_cookie("shop_session")
        .await
        .expect("a shop_session cookie");
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax), "{cookie}");
    assert_ne!(cookie.secure(), Some(true), "Secure on http: {cookie}");
    assert_eq!(cookie.path(), Some("/"), "{cookie}");
    browser.screenshot("storefront-logged-in").await;

    browser.click("#logout").await;
    browser.find("#login").await;
    assert!(browser.find_all("#customer").await.is_empty());
    browser.close().await;
}

#[cfg(feature = "login")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_app_login_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let port = browser::free_port();
    let partner_bind = format!("127.0.0.1:{port}");
    let callback = format!("http://{partner_bind}/callback");
    let (shop, customer) = start_shop(&[("TOLLGATE_DEMO_REDIRECT_URIS", &callback)]);
    seed_orders(&shop.base, &customer).await;
    let partner = tokio::task::block_in_place(|| {
        common::start_example(
            "partner_app",
            &[
                ("PARTNER_BIND", &partner_bind),
                ("PARTNER_SHOP_URL", &shop.base),
                ("PARTNER_CLIENT_ID", CLIENT_ID),
                ("PARTNER_CLIENT_SECRET", CLIENT_SECRET),
                ("PARTNER_REDIRECT_URI", &callback),
            ],
        )
    });
    assert_eq!(partner.base, format!("http://{partner_bind}"));

    log_in_from_home(&browser, &partner.base).await;
    assert_logged_in_as(&browser, &customer).await;
    let cookie = browser
        .client
        .get_named_cookie("partner_session")
        .await
        .expect("a partner_session cookie");
    assert_eq!(cookie.name(), "partner_session");
    browser.screenshot("partner-logged-in").await;

    browser.click("#logout").await;
    browser.find("#login").await;
    assert!(browser.find_all("#customer").await.is_empty());
    browser.close().await;
}
