//! The issuer's routes for actix-web (features `issuer` + `actix`): the same
//! framework-free handlers as the axum routes (`routes.rs`), translated.
//!
//! ```no_run
//! # fn app(minter: tollgate::issuer::Minter, clients: std::sync::Arc<tollgate::issuer::InMemoryClients>) {
//! use actix_web::{App, HttpServer};
//! let server = HttpServer::new(move || {
//!     App::new().configure(tollgate::issuer::actix::configure(
//!         minter.clone(),
//!         clients.clone(),
//!         Default::default(),
//!     ))
//! });
//! # let _ = server; }
//! ```
//!
//! Failed client authentications and logins are throttled per client
//! address: the [`ClientAddr`] request extension if the
//! app sets one (behind a trusted proxy), else the peer address.

use super::clients::ClientRegistry;
use super::endpoint::{TokenEndpoint, TokenEndpointSettings};
use super::mint::Minter;
use super::throttle::{ClientAddr, address_key};
use crate::actix_http::{parts, respond};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use std::sync::Arc;

/// Registers `POST /oauth/token`, `GET /.well-known/jwks.json`,
/// `GET /.well-known/openid-configuration`; with a
/// [`CodeFlow`](super::CodeFlow) also `GET /oauth/authorize`,
/// `POST /oauth/authorize/login`, `POST /oauth/authorize/consent` and
/// `POST /oauth/revoke`; with introspection `POST /oauth/introspect`.
pub fn configure(
    minter: Minter,
    clients: Arc<dyn ClientRegistry>,
    settings: TokenEndpointSettings,
) -> impl FnOnce(&mut web::ServiceConfig) {
    let login = settings
        .code_flow
        .as_ref()
        .map(|f| f.settings.max_request_bytes);
    let introspection = settings.introspection.is_some();
    let limit = settings.max_body_bytes;
    let ep = web::Data::new(TokenEndpoint::new(minter, clients, settings));
    move |cfg: &mut web::ServiceConfig| {
        // A resource sharing the endpoint, with a body limit for posts.
        let resource = |path: &str, body_limit: Option<usize>| {
            let r = web::resource(path).app_data(ep.clone());
            match body_limit {
                Some(n) => r.app_data(web::PayloadConfig::new(n)),
                None => r,
            }
        };
        cfg.service(resource("/oauth/token", Some(limit)).route(web::post().to(token)))
            .service(resource("/.well-known/jwks.json", None).route(web::get().to(jwks)))
            .service(
                resource("/.well-known/openid-configuration", None).route(web::get().to(discovery)),
            );
        if let Some(form_limit) = login {
            cfg.service(resource("/oauth/authorize", None).route(web::get().to(authorize)))
                .service(
                    resource("/oauth/authorize/login", Some(form_limit))
                        .route(web::post().to(login_form)),
                )
                .service(
                    resource("/oauth/authorize/consent", Some(form_limit))
                        .route(web::post().to(consent_form)),
                )
                .service(resource("/oauth/revoke", Some(limit)).route(web::post().to(revoke)));
        }
        if introspection {
            cfg.service(
                resource("/oauth/introspect", Some(limit)).route(web::post().to(introspect)),
            );
        }
    }
}

/// The throttle key of the caller's address.
fn address(req: &HttpRequest) -> [u8; 16] {
    if let Some(ClientAddr(ip)) = req.extensions().get::<ClientAddr>() {
        return address_key(*ip);
    }
    req.peer_addr().map_or([0u8; 16], |a| address_key(a.ip()))
}

fn headers(req: &HttpRequest) -> Option<http::HeaderMap> {
    parts(req).map(|p| p.headers)
}

async fn jwks(ep: web::Data<TokenEndpoint>) -> HttpResponse {
    respond(ep.jwks())
}

async fn discovery(ep: web::Data<TokenEndpoint>) -> HttpResponse {
    respond(ep.discovery())
}

async fn token(req: HttpRequest, body: web::Bytes, ep: web::Data<TokenEndpoint>) -> HttpResponse {
    let Some(h) = headers(&req) else {
        return HttpResponse::BadRequest().finish();
    };
    respond(ep.token(&h, &body, &address(&req)).await)
}

async fn revoke(req: HttpRequest, body: web::Bytes, ep: web::Data<TokenEndpoint>) -> HttpResponse {
    let Some(h) = headers(&req) else {
        return HttpResponse::BadRequest().finish();
    };
    respond(ep.revoke(&h, &body, &address(&req)).await)
}

async fn introspect(
    req: HttpRequest,
    body: web::Bytes,
    ep: web::Data<TokenEndpoint>,
) -> HttpResponse {
    let Some(h) = headers(&req) else {
        return HttpResponse::BadRequest().finish();
    };
    respond(ep.introspect(&h, &body, &address(&req)).await)
}

async fn authorize(req: HttpRequest, ep: web::Data<TokenEndpoint>) -> HttpResponse {
    match &ep.settings.code_flow {
        Some(flow) => respond(flow.authorize(&ep, req.uri().query())),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn login_form(
    req: HttpRequest,
    body: web::Bytes,
    ep: web::Data<TokenEndpoint>,
) -> HttpResponse {
    let (Some(flow), Some(h)) = (&ep.settings.code_flow, headers(&req)) else {
        return HttpResponse::BadRequest().finish();
    };
    respond(flow.login(&ep, &h, &body, &address(&req)).await)
}

async fn consent_form(
    req: HttpRequest,
    body: web::Bytes,
    ep: web::Data<TokenEndpoint>,
) -> HttpResponse {
    let (Some(flow), Some(h)) = (&ep.settings.code_flow, headers(&req)) else {
        return HttpResponse::BadRequest().finish();
    };
    respond(flow.consent(&ep, &h, &body).await)
}
