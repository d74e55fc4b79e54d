//! A websocket endpoint guarded by tollgate (axum).
//!
//! `GET /ws` upgrades to a websocket for callers with `orders:read`. Browsers
//! cannot set `Authorization` on a websocket, so the token may also come as
//! a subprotocol value: `new WebSocket(url, ["orders.v1", "bearer." + token])`.
//! The server chooses (echoes) `orders.v1`, never the token. The upgrade
//! request is authenticated once; the connection keeps its `AuthContext`
//! and is closed (1008, "token expired") when the token expires, unless
//! `TOLLGATE_WS_CLOSE_ON_EXPIRY=off`.
//!
//! Every text message is answered with `{"client_id", "account", "said"}`.
//!
//! Environment: everything `axum_api` reads (`TOLLGATE_BIND`,
//! `TOLLGATE_ISSUER`, `TOLLGATE_HS256_SECRET`, …), plus
//! `TOLLGATE_WS_PROTOCOL_PREFIX` (default `bearer.`) and
//! `TOLLGATE_WS_CLOSE_ON_EXPIRY` (`on` default, `off`).
//!
//! It prints `listening on http://ADDR` once it accepts connections.

mod common;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use axum::routing::get;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate::axum::{Auth, require_layer};
use tollgate::policy::scope;
use tollgate::tower::AuthLayer;
use tollgate::{AuthContext, Authenticator};

/// The application protocol this server speaks.
const PROTOCOL: &str = "orders.v1";

fn app(auth: Authenticator, close_on_expiry: bool) -> Router {
    Router::new()
        .route(
            "/ws",
            get(move |Auth(ctx): Auth, ws: WebSocketUpgrade| async move {
                upgrade(ctx, ws, close_on_expiry)
            })
            .route_layer(require_layer(scope("orders:read"))),
        )
        .layer(AuthLayer::required(auth))
}

fn upgrade(ctx: AuthContext, ws: WebSocketUpgrade, close_on_expiry: bool) -> Response {
    // Chooses `orders.v1` if the client offered it; the token-carrying
    // value is never echoed.
    ws.protocols([PROTOCOL])
        .on_upgrade(move |socket| connection(socket, ctx, close_on_expiry))
}

/// Time left until `exp` (seconds since the epoch).
fn until(exp: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(exp).saturating_sub(now)
}

async fn connection(mut socket: WebSocket, ctx: AuthContext, close_on_expiry: bool) {
    let expiry = async {
        match ctx.expires_at() {
            Some(exp) if close_on_expiry => tokio::time::sleep(until(exp)).await,
            _ => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            () = &mut expiry => {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: close_code::POLICY,
                        reason: "token expired".into(),
                    })))
                    .await;
                return;
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let reply = serde_json::json!({
                        "client_id": ctx.client_id(),
                        "account": ctx.account(),
                        "said": text.as_str(),
                    });
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn run() -> Result<(), String> {
    let prefix = common::env("TOLLGATE_WS_PROTOCOL_PREFIX").unwrap_or_else(|| "bearer.".into());
    let close_on_expiry = match common::env("TOLLGATE_WS_CLOSE_ON_EXPIRY").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(format!(
                "TOLLGATE_WS_CLOSE_ON_EXPIRY must be on or off, not {other:?}"
            ));
        }
    };
    let setup = common::setup_with(|config| {
        let sources = config
            .credentials
            .clone()
            .with_websocket_protocol_prefix(prefix);
        config.with_credentials(sources)
    })
    .await?;
    let listener = tokio::net::TcpListener::bind(&setup.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", setup.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    common::announce(&setup, addr)?;
    axum::serve(listener, app(setup.auth.clone(), close_on_expiry))
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
