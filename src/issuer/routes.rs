//! The axum routes of the issuer: thin adapters over the framework-free
//! handlers of `endpoint.rs` and `authorize/`.

use super::clients::ClientRegistry;
use super::customer::{CustomerDirectory, CustomerTokenEndpoint, CustomerTokenSettings};
use super::endpoint::{TokenEndpoint, TokenEndpointSettings};
use super::mint::Minter;
use super::sessions::CustomerSessions;
use crate::extract::Auth;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use bytes::Bytes;
use http::StatusCode;
use std::sync::Arc;

/// The issuer's public routes: `POST /oauth/token`,
/// `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`;
/// with a [`CodeFlow`](super::CodeFlow) in the settings also
/// `GET /oauth/authorize`, `POST /oauth/authorize/login`,
/// `POST /oauth/authorize/consent` and `POST /oauth/revoke`.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` (or
/// set a [`ClientAddr`](super::ClientAddr) extension behind a proxy): failed
/// attempts are throttled per client address.
pub fn router(
    minter: Minter,
    clients: Arc<dyn ClientRegistry>,
    settings: TokenEndpointSettings,
) -> Router {
    let login = settings.code_flow.is_some();
    let introspection = settings.introspection.is_some();
    let ep = Arc::new(TokenEndpoint::new(minter, clients, settings));
    let mut r = Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(discovery));
    if login {
        r = r
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/authorize/login", post(login_form))
            .route("/oauth/authorize/consent", post(consent_form))
            .route("/oauth/revoke", post(revoke));
    }
    if introspection {
        r = r.route("/oauth/introspect", post(introspect));
    }
    r.with_state(ep)
}

/// `POST /customers/tokens` (and, with
/// [`with_revocations`](super::CustomerTokenSettings::with_revocations),
/// `DELETE /customers/tokens/current`) over a new [`CustomerTokenEndpoint`].
/// Mount behind an [`AuthLayer`](crate::tower::AuthLayer): the app's access
/// token is required.
pub fn customer_tokens_router(
    minter: Minter,
    directory: Arc<dyn CustomerDirectory>,
    settings: CustomerTokenSettings,
) -> Router {
    customer_token_routes(Arc::new(CustomerTokenEndpoint::new(
        minter, directory, settings,
    )))
}

/// The routes of [`customer_tokens_router`] over an existing endpoint.
pub fn customer_token_routes(ep: Arc<CustomerTokenEndpoint>) -> Router {
    let mut r = Router::new().route("/customers/tokens", post(customer_login));
    if ep.settings().revocations.is_some() {
        r = r.route("/customers/tokens/current", delete(customer_logout));
    }
    r.with_state(ep)
}

/// `POST /customer-sessions`, `GET`/`DELETE /customer-sessions/current` and
/// `PATCH /customer-sessions/{id}` (see [`CustomerSessions`]). Mount behind
/// an optional [`AuthLayer`](crate::tower::AuthLayer) and serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` (or set a
/// [`ClientAddr`](super::ClientAddr)): anonymous sessions are budgeted per
/// client address.
pub fn customer_sessions_router(ep: Arc<CustomerSessions>) -> Router {
    Router::new()
        .route("/customer-sessions", post(create_session))
        .route(
            "/customer-sessions/current",
            get(current_session).delete(revoke_session),
        )
        .route("/customer-sessions/{id}", patch(bind_session))
        .with_state(ep)
}

/// Reads a body of at most `limit` bytes and the caller's throttle address.
async fn body_and_address(req: Request, limit: usize) -> Result<(Bytes, [u8; 16]), Response> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    Ok((body, super::throttle::request_address(&parts.extensions)))
}

/// axum handler of [`CustomerTokenEndpoint::login`], for apps that route
/// it themselves (state: anything an `Arc<CustomerTokenEndpoint>` can be
/// taken [`FromRef`](axum::extract::FromRef)).
pub async fn customer_login(
    State(ep): State<Arc<CustomerTokenEndpoint>>,
    auth: Auth,
    req: Request,
) -> Response {
    match body_and_address(req, ep.settings().max_body_bytes).await {
        Ok((body, addr)) => into_axum(ep.login(&auth, &body, &addr).await),
        Err(res) => res,
    }
}

/// axum handler of [`CustomerTokenEndpoint::logout`].
pub async fn customer_logout(State(ep): State<Arc<CustomerTokenEndpoint>>, auth: Auth) -> Response {
    into_axum(ep.logout(&auth).await)
}

/// axum handler of [`CustomerSessions::create`].
pub async fn create_session(
    State(ep): State<Arc<CustomerSessions>>,
    auth: Option<Auth>,
    req: Request,
) -> Response {
    match body_and_address(req, ep.settings().max_body_bytes).await {
        Ok((body, addr)) => into_axum(ep.create(auth.as_deref(), &body, &addr).await),
        Err(res) => res,
    }
}

/// axum handler of [`CustomerSessions::bind`].
pub async fn bind_session(
    State(ep): State<Arc<CustomerSessions>>,
    auth: Auth,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    match body_and_address(req, ep.settings().max_body_bytes).await {
        Ok((body, _)) => into_axum(ep.bind(&auth, &id, &body).await),
        Err(res) => res,
    }
}

/// axum handler of [`CustomerSessions::current`].
pub async fn current_session(State(ep): State<Arc<CustomerSessions>>, auth: Auth) -> Response {
    into_axum(ep.current(&auth).await)
}

/// axum handler of [`CustomerSessions::revoke`].
pub async fn revoke_session(State(ep): State<Arc<CustomerSessions>>, auth: Auth) -> Response {
    into_axum(ep.revoke(&auth).await)
}

fn into_axum(res: http::Response<Bytes>) -> Response {
    res.map(Body::from)
}

/// A posted form: headers, the body (at most `limit` bytes; 413
/// otherwise) and the caller's throttle address.
struct Form {
    headers: http::HeaderMap,
    body: Bytes,
    addr: [u8; 16],
}

async fn form(req: Request, limit: usize) -> Result<Form, Response> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    Ok(Form {
        addr: super::throttle::request_address(&parts.extensions),
        headers: parts.headers,
        body,
    })
}

fn too_large() -> Response {
    super::oauth_error::OAuthError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "the request body is too large",
    )
    .into_http()
    .map(Body::from)
}

async fn jwks(State(ep): State<Arc<TokenEndpoint>>) -> Response {
    into_axum(ep.jwks())
}

async fn discovery(State(ep): State<Arc<TokenEndpoint>>) -> Response {
    into_axum(ep.discovery())
}

async fn token(State(ep): State<Arc<TokenEndpoint>>, req: Request) -> Response {
    match form(req, ep.settings.max_body_bytes).await {
        Ok(f) => into_axum(ep.token(&f.headers, &f.body, &f.addr).await),
        Err(res) => res,
    }
}

async fn revoke(State(ep): State<Arc<TokenEndpoint>>, req: Request) -> Response {
    match form(req, ep.settings.max_body_bytes).await {
        Ok(f) => into_axum(ep.revoke(&f.headers, &f.body, &f.addr).await),
        Err(res) => res,
    }
}

async fn introspect(State(ep): State<Arc<TokenEndpoint>>, req: Request) -> Response {
    match form(req, ep.settings.max_body_bytes).await {
        Ok(f) => into_axum(ep.introspect(&f.headers, &f.body, &f.addr).await),
        Err(res) => res,
    }
}

async fn authorize(State(ep): State<Arc<TokenEndpoint>>, req: Request) -> Response {
    into_axum(ep.authorize(req.uri().query()))
}

async fn login_form(State(ep): State<Arc<TokenEndpoint>>, req: Request) -> Response {
    match form(req, ep.max_form_bytes()).await {
        Ok(f) => into_axum(ep.authorize_login(&f.headers, &f.body, &f.addr).await),
        Err(res) => res,
    }
}

async fn consent_form(State(ep): State<Arc<TokenEndpoint>>, req: Request) -> Response {
    match form(req, ep.max_form_bytes()).await {
        Ok(f) => into_axum(ep.authorize_consent(&f.headers, &f.body).await),
        Err(res) => res,
    }
}
