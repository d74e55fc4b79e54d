//! The login routes as an axum [`Router`]: `GET /login`, `GET <callback>`
//! (the path of the configured redirect URI, e.g. `/callback`) and
//! `POST /logout`. Only translation; the flow is [`LoginFlow`].
//!
//! Merge it into the app's router, outside any layer that requires
//! authentication (the routes must work for a visitor who is not logged in):
//!
//! ```no_run
//! # fn app(flow: tollgate::login::LoginFlow) -> axum::Router {
//! axum::Router::new()
//!     // .route("/orders", …).layer(RequireAuthLayer …)
//!     .merge(tollgate::login::axum::router(flow))
//! # }
//! ```

use super::LoginFlow;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::{get, post};
use http::request::Parts;

pub use super::{LOGIN_PATH, LOGOUT_PATH};

/// `GET /login`, `GET <redirect URI path>`, `POST /logout`.
pub fn router(flow: LoginFlow) -> Router {
    let callback = url::Url::parse(flow.config().redirect_uri())
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "/callback".to_owned());
    Router::new()
        .route(LOGIN_PATH, get(login))
        .route(&callback, get(callback_handler))
        .route(LOGOUT_PATH, post(logout))
        .with_state(flow)
}

async fn login(State(flow): State<LoginFlow>, parts: Parts) -> http::Response<Body> {
    flow.login(&parts).await.map(Body::from)
}

async fn callback_handler(State(flow): State<LoginFlow>, parts: Parts) -> http::Response<Body> {
    flow.callback(&parts).await.map(Body::from)
}

async fn logout(State(flow): State<LoginFlow>, parts: Parts) -> http::Response<Body> {
    flow.logout(&parts).await.map(Body::from)
}
