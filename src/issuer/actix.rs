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
use super::customer::CustomerTokenEndpoint;
use super::endpoint::{TokenEndpoint, TokenEndpointSettings};
use super::mint::Minter;
use super::sessions::CustomerSessions;
use super::throttle::{ClientAddr, address_key};
use crate::actix_http::{parts, respond};
use crate::extract::Auth;
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

/// Registers `POST /customers/tokens` (and, with
/// [`with_revocations`](super::CustomerTokenSettings::with_revocations),
/// `DELETE /customers/tokens/current`): the actix twin of
/// [`customer_token_routes`](super::customer_token_routes). Wrap the app in
/// [`AuthMiddleware`](crate::actix::AuthMiddleware): the app's access token
/// is required.
pub fn customer_tokens(ep: Arc<CustomerTokenEndpoint>) -> impl FnOnce(&mut web::ServiceConfig) {
    let logout = ep.settings().revocations.is_some();
    let limit = ep.settings().max_body_bytes;
    let ep = web::Data::from(ep);
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::resource("/customers/tokens")
                .app_data(ep.clone())
                .app_data(web::PayloadConfig::new(limit))
                .route(web::post().to(customer_login)),
        );
        if logout {
            cfg.service(
                web::resource("/customers/tokens/current")
                    .app_data(ep)
                    .route(web::delete().to(customer_logout)),
            );
        }
    }
}

/// Registers `POST /customer-sessions`, `GET`/`DELETE
/// /customer-sessions/current` and `PATCH /customer-sessions/{id}`: the
/// actix twin of [`customer_sessions_router`](super::customer_sessions_router).
/// Wrap the app in an optional [`AuthMiddleware`](crate::actix::AuthMiddleware).
pub fn customer_sessions(ep: Arc<CustomerSessions>) -> impl FnOnce(&mut web::ServiceConfig) {
    let limit = ep.settings().max_body_bytes;
    let ep = web::Data::from(ep);
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::resource("/customer-sessions")
                .app_data(ep.clone())
                .app_data(web::PayloadConfig::new(limit))
                .route(web::post().to(create_session)),
        )
        .service(
            web::resource("/customer-sessions/current")
                .app_data(ep.clone())
                .route(web::get().to(current_session))
                .route(web::delete().to(revoke_session)),
        )
        .service(
            web::resource("/customer-sessions/{id}")
                .app_data(ep)
                .app_data(web::PayloadConfig::new(limit))
                .route(web::patch().to(bind_session)),
        );
    }
}

/// 413 with the JSON body the axum routes answer.
fn too_large() -> HttpResponse {
    respond(
        super::oauth_error::OAuthError::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
        .into_http(),
    )
}

/// actix handler of [`CustomerTokenEndpoint::login`], for apps that route it
/// themselves (`app_data`: `web::Data<CustomerTokenEndpoint>`).
pub async fn customer_login(
    req: HttpRequest,
    auth: Auth,
    body: web::Bytes,
    ep: web::Data<CustomerTokenEndpoint>,
) -> HttpResponse {
    if body.len() > ep.settings().max_body_bytes {
        return too_large();
    }
    respond(ep.login(&auth, &body, &address(&req)).await)
}

/// actix handler of [`CustomerTokenEndpoint::logout`].
pub async fn customer_logout(auth: Auth, ep: web::Data<CustomerTokenEndpoint>) -> HttpResponse {
    respond(ep.logout(&auth).await)
}

/// actix handler of [`CustomerSessions::create`] (`app_data`:
/// `web::Data<CustomerSessions>`).
pub async fn create_session(
    req: HttpRequest,
    auth: Option<Auth>,
    body: web::Bytes,
    ep: web::Data<CustomerSessions>,
) -> HttpResponse {
    if body.len() > ep.settings().max_body_bytes {
        return too_large();
    }
    respond(ep.create(auth.as_deref(), &body, &address(&req)).await)
}

/// actix handler of [`CustomerSessions::bind`].
pub async fn bind_session(
    auth: Auth,
    id: web::Path<String>,
    body: web::Bytes,
    ep: web::Data<CustomerSessions>,
) -> HttpResponse {
    if body.len() > ep.settings().max_body_bytes {
        return too_large();
    }
    respond(ep.bind(&auth, &id, &body).await)
}

/// actix handler of [`CustomerSessions::current`].
pub async fn current_session(auth: Auth, ep: web::Data<CustomerSessions>) -> HttpResponse {
    respond(ep.current(&auth).await)
}

/// actix handler of [`CustomerSessions::revoke`].
pub async fn revoke_session(auth: Auth, ep: web::Data<CustomerSessions>) -> HttpResponse {
    respond(ep.revoke(&auth).await)
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
