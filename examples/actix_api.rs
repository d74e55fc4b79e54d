//! The same API as `axum_api`, on actix-web, with the same environment
//! contract (`TOLLGATE_BIND`, `TOLLGATE_ISSUER`, `TOLLGATE_AUDIENCE`,
//! `TOLLGATE_JWKS_URL` / `TOLLGATE_DISCOVERY=1` / `TOLLGATE_HS256_SECRET`,
//! `TOLLGATE_SCOPE_CLAIM`, `TOLLGATE_EXPIRED_STATUS`, `TOLLGATE_LEEWAY_SECS`, `TOLLGATE_TOKEN_CACHE`,
//! `TOLLGATE_DPOP`, `TOLLGATE_PUBLIC_URL`)
//! and the same `listening on http://ADDR` line.
//!
//! Run with `cargo run --example actix_api --features actix,macros`.

mod common;

use actix_web::{HttpResponse, HttpServer, web};
use std::process::ExitCode;
use tollgate::actix::AuthMiddleware;
use tollgate::{Auth, AuthError};

#[tollgate::require("orders:read")]
async fn list_orders() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "orders": [] }))
}

#[tollgate::require("orders:write")]
async fn create_order() -> HttpResponse {
    HttpResponse::Created().json(serde_json::json!({ "created": true }))
}

#[tollgate::require("customer:read")]
async fn get_customer(auth: Auth, id: web::Path<String>) -> Result<HttpResponse, AuthError> {
    auth.ensure_customer(&id)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id.into_inner() })))
}

async fn whoami(Auth(ctx): Auth) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
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
    let auth = setup.auth.clone();
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .wrap(AuthMiddleware::required(auth.clone()))
            .route("/whoami", web::get().to(whoami))
            .route("/orders", web::get().to(list_orders))
            .route("/orders", web::post().to(create_order))
            .route("/customers/{id}", web::get().to(get_customer))
    })
    .workers(2)
    .bind(&setup.bind)
    .map_err(|e| format!("cannot bind {}: {e}", setup.bind))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or("no listening address")?;
    let running = server.run();
    common::announce(&setup, addr)?;
    running.await.map_err(|e| e.to_string())
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
