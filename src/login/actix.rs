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
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

/// Registers `GET /login`, `GET <redirect URI path>` and `POST /logout`.
pub fn configure(flow: LoginFlow) -> impl FnOnce(&mut web::ServiceConfig) {
    let callback = url::Url::parse(flow.config().redirect_uri())
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "/callback".to_owned());
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(flow))
            .route(super::axum::LOGIN_PATH, web::get().to(login))
            .route(&callback, web::get().to(callback_handler))
            .route(super::axum::LOGOUT_PATH, web::post().to(logout));
    }
}

/// The request line and headers as `http` 1 parts (actix-web 4 speaks `http` 0.2).
fn parts(req: &HttpRequest) -> Option<http::request::Parts> {
    let mut b = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        b = b.header(name.as_str(), value.as_bytes());
    }
    b.body(()).ok().map(|r| r.into_parts().0)
}

fn respond(res: http::Response<Bytes>) -> HttpResponse {
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for (name, value) in res.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(res.into_body())
}

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
