//! A small axum API guarded by tollgate.
//!
//! Routes: `GET /whoami` (the caller's AuthContext as JSON), `GET /orders`
//! (`orders:read`), `POST /orders` (`orders:write`), `GET /customers/{id}`
//! (`customer:read`).
//!
//! With no environment it runs on an embedded default: it generates an
//! Ed25519 signing key in memory, verifies with it, and prints a curl line
//! with a freshly minted token for each route.
//!
//! Environment (all optional):
//! - `TOLLGATE_BIND` (default `127.0.0.1:3000`)
//! - `TOLLGATE_ISSUER`, `TOLLGATE_AUDIENCE`
//! - one of `TOLLGATE_JWKS_URL`, `TOLLGATE_DISCOVERY=1`, `TOLLGATE_HS256_SECRET`
//! - `TOLLGATE_SCOPE_CLAIM` (default `scope`), `TOLLGATE_EXPIRED_STATUS`
//!   (default 401), `TOLLGATE_LEEWAY_SECS` (default 60), `TOLLGATE_TOKEN_CACHE`
//!   (`on` default, `off` verifies every request)
//! - `TOLLGATE_DPOP`: `off`, `allowed` (default) or `required` (DPoP-bound
//!   tokens, RFC 9449; anything else is a startup error), `TOLLGATE_PUBLIC_URL`
//!   (the external base URL DPoP proofs name in `htu`; default `http://` +
//!   the bind address)
//!
//! It prints `listening on http://ADDR` once it accepts connections.

mod common;

use axum::routing::get;
use axum::{Json, Router};
use std::process::ExitCode;
use tollgate::Authenticator;
use tollgate::axum::{Auth, require_layer};
use tollgate::policy::scope;
use tollgate::tower::AuthLayer;

fn app(auth: Authenticator) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/orders",
            get(|| async { Json(serde_json::json!({ "orders": [] })) })
                .route_layer(require_layer(scope("orders:read")))
                .merge(
                    axum::routing::post(|| async {
                        (
                            http::StatusCode::CREATED,
                            Json(serde_json::json!({ "created": true })),
                        )
                    })
                    .route_layer(require_layer(scope("orders:write"))),
                ),
        )
        .route(
            "/customers/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    Json(serde_json::json!({ "id": id }))
                },
            )
            .route_layer(require_layer(scope("customer:read"))),
        )
        .layer(AuthLayer::required(auth))
}

async fn whoami(Auth(ctx): Auth) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "account": ctx.account(),
        "client_id": ctx.client_id(),
        "subject": ctx.subject(),
        "scopes": ctx.scopes(),
        "issuer": ctx.issuer(),
        "expires_at": ctx.expires_at(),
    }))
}

async fn run() -> Result<(), String> {
    let setup = common::setup().await?;
    let listener = tokio::net::TcpListener::bind(&setup.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", setup.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    common::announce(&setup, addr)?;
    axum::serve(listener, app(setup.auth))
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
