//! A third-party app that offers "Log in with Shop" (seeds 000 and 003):
//! configured only with the shop's issuer URL, a client id and secret and
//! its redirect URI, it logs a customer in through the shop's
//! authorization-code flow and lists that customer's orders by calling the
//! shop's API with the customer's access token (refreshed, and its refresh
//! token rotated, when it expires).
//!
//! ```text
//! cargo run --example shop --features issuer,redis,login,metrics,openapi  # terminal 1
//! cargo run --example partner_app --features login           # terminal 2
//! # then open http://127.0.0.1:3001/ and log in as the shop's demo customer
//! ```
//!
//! Environment: `PARTNER_BIND` (default `127.0.0.1:3001`),
//! `PARTNER_SHOP_URL` (the shop's issuer URL, default
//! `http://127.0.0.1:3000`), `PARTNER_CLIENT_ID` / `PARTNER_CLIENT_SECRET`
//! (default: the shop's `TOLLGATE_DEMO_CLIENT_ID` / `_SECRET` values, which
//! the shop prints), `PARTNER_REDIRECT_URI` (default
//! `http://<bind>/callback`; the shop registers `http://127.0.0.1:3001/callback`
//! and any URI in its `TOLLGATE_DEMO_REDIRECT_URIS`). It prints
//! `listening on http://ADDR` once it accepts connections.

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::process::ExitCode;
use std::sync::Arc;
use tollgate::login::{LoginConfig, LoginFlow};
use tollgate::session::SessionStore;
use tollgate::{AuthContext, Authenticator, IssuerConfig, MemoryStore, SessionSources};

/// The shop API's audience (`examples/shop.rs`).
const AUDIENCE: &str = "shop-api";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[derive(Clone)]
struct App {
    flow: LoginFlow,
    shop: String,
    http: reqwest::Client,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Partner app</title></head>\
         <body><h1>Partner app</h1>{body}</body></html>"
    ))
    .into_response()
}

/// `GET /`: the login link, or the logged-in customer's orders fetched
/// from the shop with the customer's own access token.
async fn home(State(app): State<App>, req: axum::extract::Request) -> Response {
    let ctx = req.extensions().get::<AuthContext>().cloned();
    let Some((ctx, session)) = ctx.and_then(|c| c.session_id().cloned().map(|s| (c, s))) else {
        return page(
            "<p>Not logged in.</p><p><a id=\"login\" href=\"/login\">Log in with Shop</a></p>",
        );
    };
    let customer = ctx.customer().unwrap_or_default().to_owned();
    let token = match app.flow.access_token(&session).await {
        Ok(t) => t,
        Err(e) => {
            return page(&format!(
                "<p class=\"error\">{}</p><p><a id=\"login\" href=\"/login\">Log in again</a></p>",
                esc(&e.to_string())
            ));
        }
    };
    let orders = app
        .http
        .get(format!("{}/orders", app.shop))
        .bearer_auth(token)
        .send()
        .await;
    let list = match orders {
        Ok(res) if res.status().is_success() => {
            let body: serde_json::Value = match res.bytes().await {
                Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            body["data"]
                .as_array()
                .map(|orders| {
                    orders
                        .iter()
                        .map(|o| {
                            format!(
                                "<li class=\"order\" data-customer=\"{}\">{} {}</li>",
                                esc(o["customer_id"].as_str().unwrap_or_default()),
                                esc(o["id"].as_str().unwrap_or_default()),
                                esc(&o["items"].to_string())
                            )
                        })
                        .collect::<String>()
                })
                .unwrap_or_default()
        }
        Ok(res) => format!(
            "<li class=\"error\">the shop answered {}</li>",
            res.status()
        ),
        Err(_) => "<li class=\"error\">the shop is unreachable</li>".into(),
    };
    page(&format!(
        "<p>Logged in as <span id=\"customer-label\">customer</span></p><p id=\"customer\">{}</p>\
         <h2>Your orders at the shop</h2><ul id=\"orders\">{list}</ul>\
         <form method=\"post\" action=\"/logout\"><button id=\"logout\" type=\"submit\">Log out</button></form>",
        esc(&customer)
    ))
}

async fn run() -> Result<(), String> {
    tollgate::install_crypto_backend(tollgate::CryptoBackend::AwsLcRs)
        .map_err(|e| e.to_string())?;
    let bind = env("PARTNER_BIND").unwrap_or_else(|| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let shop = env("PARTNER_SHOP_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let shop = shop.trim_end_matches('/').to_owned();
    let client_id = env("PARTNER_CLIENT_ID").unwrap_or_else(|| "demo-backend".into());
    let secret = env("PARTNER_CLIENT_SECRET")
        .ok_or("PARTNER_CLIENT_SECRET is required (the shop prints its demo client's secret)")?;
    let redirect = env("PARTNER_REDIRECT_URI").unwrap_or_else(|| format!("http://{addr}/callback"));

    let config = LoginConfig::discover(&shop, &client_id, &redirect)
        .await
        .map_err(|e| format!("discovery at {shop}: {e}"))?
        .with_client_secret(secret)
        .with_scopes(["openid", "orders:read", "customer:read"])
        .with_session_cookie("partner_session");
    let sessions: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(shop.clone())
                .audience(AUDIENCE)
                .discovery(),
        )
        .session_store(sessions.clone())
        .session_sources(
            SessionSources::default()
                .without_header()
                .with_cookie(config.session_cookie_name()),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let flow =
        LoginFlow::new(config, Arc::new(auth.clone()), sessions).map_err(|e| e.to_string())?;
    let app = App {
        flow: flow.clone(),
        shop,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?,
    };
    let router = Router::new()
        .route("/", get(home))
        .with_state(app)
        .layer(tollgate::tower::AuthLayer::optional(auth))
        .merge(tollgate::login::axum::router(flow));
    println!("partner app: open http://{addr}/ and log in with the shop's demo customer");
    println!("listening on http://{addr}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    axum::serve(listener, router)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
