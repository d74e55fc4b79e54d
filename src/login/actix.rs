//! The login routes for actix-web (feature `actix`): `GET /login`,
//! `GET <callback>` (the path of the configured redirect URI) and
//! `POST /logout`. Only translation; the flow is [`LoginFlow`].
//!
//! ```no_run
//! # fn app(flow: tollgate::login::LoginFlow) {
//! use actix_web::{App, HttpServer};
//! let server = HttpServer::new(move || {
//!     App::new().configure(tollgate::login::actix::configure(flow.clone()))
//! });
//! # let _ = server; }
//! ```

use super::LoginFlow;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

/// Registers `GET /login`, `GET <redirect URI path>` and `POST /logout`.
pub fn configure(flow: LoginFlow) -> impl FnOnce(&mut web::ServiceConfig) {
    let callback = url::Url::parse(flow.config().redirect_uri())
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "/callback".to_owned());
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(flow))
            .route(super::LOGIN_PATH, web::get().to(login))
            .route(&callback, web::get().to(callback_handler))
            .route(super::LOGOUT_PATH, web::post().to(logout));
    }
}

use crate::actix_http::{parts, respond};

async fn run<F, Fut>(req: HttpRequest, flow: web::Data<LoginFlow>, handler: F) -> HttpResponse
where
    F: FnOnce(LoginFlow, http::request::Parts) -> Fut,
    Fut: Future<Output = http::Response<Bytes>>,
{
    match parts(&req) {
        Some(p) => respond(handler(flow.get_ref().clone(), p).await),
        None => HttpResponse::BadRequest().finish(),
    }
}

async fn login(req: HttpRequest, flow: web::Data<LoginFlow>) -> HttpResponse {
    run(req, flow, |f, p| async move { f.login(&p).await }).await
}

async fn callback_handler(req: HttpRequest, flow: web::Data<LoginFlow>) -> HttpResponse {
    run(req, flow, |f, p| async move { f.callback(&p).await }).await
}

async fn logout(req: HttpRequest, flow: web::Data<LoginFlow>) -> HttpResponse {
    run(req, flow, |f, p| async move { f.logout(&p).await }).await
}
