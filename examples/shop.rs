//! A small commerce API (customers and orders) that is its own issuer and
//! is protected by every credential kind tollgate handles.
//!
//! `cargo run --example shop --features issuer,redis,login,metrics,openapi`
//!
//! Environment (all optional): `TOLLGATE_BIND` (default `127.0.0.1:3000`),
//! `TOLLGATE_ISSUER` (default `http://ADDR`), `TOLLGATE_DEMO_CLIENT_ID` /
//! `TOLLGATE_DEMO_CLIENT_SECRET`, `TOLLGATE_DEMO_CUSTOMER_EMAIL` /
//! `TOLLGATE_DEMO_CUSTOMER_PASSWORD`, `TOLLGATE_DEMO_ADMIN_SECRET` (the
//! `demo-admin` client, which may (de)activate clients and rotate signing keys), `TOLLGATE_REDIS_URL`
//! (everything the platform keeps in Redis: sessions, failure throttles,
//! client deactivations, revoked tokens, so several instances on one Redis
//! behave as one, signing keys included), `TOLLGATE_SIGNING_KEY_FILES`
//! (PKCS#8 PEM signing keys, comma-separated, the first active); to trust an external issuer instead of the
//! embedded one, the variables of `examples/axum_api.rs`: `TOLLGATE_AUDIENCE`
//! and one of `TOLLGATE_JWKS_URL`, `TOLLGATE_DISCOVERY=1`, `TOLLGATE_HS256_SECRET`. It prints `listening on http://ADDR` once it
//! accepts connections, after a curl walk-through of every flow.
//!
//! `examples/shop_actix.rs` serves the same routes with the same
//! environment contract on actix-web; what both share (the environment,
//! the demo domain's framework-free handlers, the route table) is in
//! `examples/shop_common/`, and the platform endpoints (token, JWKS,
//! discovery, customer tokens, customer sessions) are tollgate's own.

mod shop_common;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRef, Path, State};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use shop_common::{App, Op, Reply};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use tollgate::Auth;
use tollgate::issuer::{CustomerSessions, CustomerTokenEndpoint, Throttle};
use tollgate::tower::AuthLayer;

impl FromRef<App> for Arc<CustomerSessions> {
    fn from_ref(app: &App) -> Self {
        app.customer_sessions.clone()
    }
}

impl FromRef<App> for Arc<CustomerTokenEndpoint> {
    fn from_ref(app: &App) -> Self {
        app.customer_tokens.clone()
    }
}

fn to_axum(reply: Reply) -> Response {
    reply.map(Body::from)
}

async fn storefront(State(app): State<App>, auth: Option<Auth>) -> Response {
    to_axum(app.storefront(auth.as_deref()))
}

async fn create_customer(State(app): State<App>, auth: Auth, body: Bytes) -> Response {
    to_axum(app.create_customer(&auth, &body).await)
}

async fn get_customer(State(app): State<App>, auth: Auth, Path(id): Path<String>) -> Response {
    to_axum(app.get_customer(&auth, &id))
}

async fn change_password(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    to_axum(app.change_password(&auth, &id, &body).await)
}

async fn set_client_active(
    State(app): State<App>,
    _: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    to_axum(app.set_client_active(&id, &body).await)
}

async fn rotate_keys(State(app): State<App>, _: Auth) -> Response {
    to_axum(app.rotate_keys().await)
}

async fn list_orders(State(app): State<App>, auth: Auth) -> Response {
    to_axum(app.list_orders(&auth))
}

async fn create_order(State(app): State<App>, auth: Auth, body: Bytes) -> Response {
    to_axum(app.create_order(&auth, &body))
}

/// The axum handler of a table route: the shop's own, or tollgate's
/// customer-session and customer-token handlers.
fn handler(op: Op, m: MethodFilter) -> MethodRouter<App> {
    use tollgate::issuer as platform;
    match op {
        Op::Storefront => on(m, storefront),
        Op::CreateSession => on(m, platform::create_session),
        Op::CurrentSession => on(m, platform::current_session),
        Op::BindSession => on(m, platform::bind_session),
        Op::CreateCustomer => on(m, create_customer),
        Op::GetCustomer => on(m, get_customer),
        Op::ChangePassword => on(m, change_password),
        Op::LogoutCustomerToken => on(m, platform::customer_logout),
        Op::SetClientActive => on(m, set_client_active),
        Op::RotateKeys => on(m, rotate_keys),
        Op::ListOrders => on(m, list_orders),
        Op::CreateOrder => on(m, create_order),
    }
}

/// Budgets `GET /login` (see [`shop_common::limit_login_start`]).
#[cfg(feature = "login")]
async fn limit_logins(
    State(throttle): State<Arc<dyn Throttle>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.uri().path() == shop_common::LOGIN_PATH
        && let Some(refused) = shop_common::limit_login_start(&*throttle, peer.ip()).await
    {
        return to_axum(refused);
    }
    next.run(req).await
}

async fn run() -> Result<(), String> {
    let setup = shop_common::setup().await?;
    #[cfg(feature = "login")]
    let login_routes = tollgate::login::axum::router(setup.login.clone()).layer(
        axum::middleware::from_fn_with_state(setup.throttle.clone(), limit_logins),
    );
    #[cfg(not(feature = "login"))]
    let login_routes = Router::new().route(
        shop_common::LOGIN_PATH,
        get(|| async { "the storefront login needs the `login` feature" }),
    );
    // The API: each route of the table behind its requirement (401 without
    // credentials, 403 without the scopes), and its OpenAPI document.
    let mut api = Router::new();
    for r in shop_common::api_routes() {
        let filter = MethodFilter::try_from(r.method).map_err(|e| e.to_string())?;
        let mut route = handler(r.op, filter);
        if let Some(requirement) = r.requirement {
            route = route.route_layer(tollgate::axum::require_layer(requirement));
        }
        api = api.route(r.path, route);
    }
    let openapi = setup.openapi.clone();
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let json = openapi.clone();
                std::future::ready(([(http::header::CONTENT_TYPE, "application/json")], json))
            }),
        )
        // Customer login (the app's access token is required).
        .route("/customers/tokens", post(tollgate::issuer::customer_login))
        .with_state(setup.app.clone())
        .layer(AuthLayer::optional(setup.auth.clone()));
    let router = Router::new()
        .merge(login_routes)
        .merge(tollgate::issuer::router(
            setup.minter.clone(),
            setup.clients.clone(),
            setup.token_settings.clone(),
        ))
        .merge(api);
    #[cfg(feature = "metrics")]
    let router = {
        let prometheus = setup.prometheus.clone();
        router.route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        )
    };
    let listener = setup
        .listener
        .try_clone()
        .and_then(|l| {
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)
        })
        .map_err(|e| e.to_string())?;
    shop_common::announce(&setup);
    // The peer address keys the failure throttles.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
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
