//! What `shop` (axum) and `shop_actix` (actix-web) share: the environment
//! contract and everything it configures (keys, clients, stores, the
//! verifier, the platform endpoints' settings), the demo domain (customers
//! and orders) as framework-free handlers, the route table that drives both
//! routers and the OpenAPI document, and the printed walk-through. Each
//! binary only translates requests to and from these handlers.
#![allow(dead_code, unreachable_pub, missing_debug_implementations)]

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tollgate::basic::{BasicIdentity, StaticBasicCredentials};
use tollgate::config::{CustomerTokenConfig, SessionSources};
use tollgate::issuer::{
    CodeFlow, CodeFlowSettings, CodeStore, CustomerDirectory, CustomerSessionSettings,
    CustomerSessions, CustomerTokenEndpoint, CustomerTokenSettings, DirectoryError,
    InMemoryClients, KeyRing, MemoryCodes, MemoryRefreshTokens, MemoryThrottle, Minter, NewClient,
    PasswordHasher, RefreshStore, SigningAlgorithm, SigningKey, Throttle, ThrottleRule,
    TokenEndpointSettings, address_key, throttle_key,
};
use tollgate::openapi::SecuritySchemes;
use tollgate::policy::{Requirement, all, scope};
use tollgate::revocation::{MemoryRevocations, RevocationWriter};
use tollgate::session::{MemoryStore, SessionStore, StoreError};
use tollgate::{
    AuthConfig, AuthContext, AuthError, Authenticator, IssuerConfig, RemoteKeySettings,
};

pub const ACCOUNT: &str = "demo-account";
pub const AUDIENCE: &str = "shop-api";
/// The storefront's session cookie (plain name on loopback http; a
/// `__Host-` prefix over https would need the same name here).
pub const SESSION_COOKIE: &str = "shop_session";
pub const ALL_SCOPES: &str = "customer:read customer:write orders:read orders:write";
/// What an anonymous onboarding session may do: create its customer.
pub const ONBOARDING_SCOPES: &str = "customer:write";
/// Anonymous sessions a single address may create per minute.
const ANONYMOUS_PER_ADDRESS: ThrottleRule = ThrottleRule::new(30, Duration::from_secs(60));
/// Anonymous sessions all addresses together may create per minute.
const ANONYMOUS_TOTAL: ThrottleRule = ThrottleRule::new(6000, Duration::from_secs(60));
/// Logins started per address (each keeps a pending login for 10 minutes,
/// in Redis when shared), under an overall ceiling.
const LOGINS_PER_ADDRESS: ThrottleRule = ThrottleRule::new(30, Duration::from_secs(60));
const LOGINS_TOTAL: ThrottleRule = ThrottleRule::new(6000, Duration::from_secs(60));
/// The storefront's login start, budgeted by [`limit_login_start`].
pub const LOGIN_PATH: &str = "/login";

pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = getrandom::fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[derive(Clone, Debug)]
struct Customer {
    id: String,
    name: String,
    email: String,
    password_hash: String,
}

#[derive(Debug)]
pub struct Shop {
    customers: Mutex<HashMap<String, Customer>>,
    orders: Mutex<Vec<Value>>,
    /// Argon2id on a capped pool: a login flood queues briefly, then gets
    /// 503, instead of spawning a thread and 19 MiB per request.
    hasher: PasswordHasher,
}

impl Shop {
    fn new() -> Result<Self, String> {
        Ok(Self {
            customers: Mutex::default(),
            orders: Mutex::default(),
            hasher: PasswordHasher::new(0, 64).map_err(|e| e.to_string())?,
        })
    }

    fn add_customer(&self, name: &str, email: &str, password: &str) -> Result<Customer, String> {
        let c = Customer {
            id: format!("cus_{}", random(9)),
            name: name.into(),
            email: email.to_lowercase(),
            password_hash: self.hasher.hash(password).map_err(|e| e.to_string())?,
        };
        if let Ok(mut m) = self.customers.lock() {
            m.insert(c.id.clone(), c.clone());
        }
        Ok(c)
    }
}

#[async_trait::async_trait]
impl CustomerDirectory for Shop {
    async fn check_password(
        &self,
        _account: &str,
        email: &str,
        password: &str,
    ) -> Result<Option<String>, DirectoryError> {
        let email = email.trim().to_lowercase();
        let found = self
            .customers
            .lock()
            .map_err(|_| DirectoryError::Unavailable)?
            .values()
            .find(|c| c.email == email)
            .cloned();
        // An unknown email is checked against the hasher's dummy hash: the
        // same cost as a wrong password, so timing tells nothing.
        let ok = self
            .hasher
            .verify(found.as_ref().map(|c| c.password_hash.as_str()), password)
            .await?;
        Ok(found.filter(|_| ok).map(|c| c.id))
    }

    async fn customer_exists(&self, _account: &str, id: &str) -> Result<bool, DirectoryError> {
        self.customers
            .lock()
            .map(|m| m.contains_key(id))
            .map_err(|_| DirectoryError::Unavailable)
    }
}

/// What the platform keeps, in memory or in Redis.
struct PlatformState {
    sessions: Arc<dyn SessionStore>,
    throttle: Arc<dyn Throttle>,
    /// Revoked tokens: in memory, or shared through Redis.
    revoker: Arc<dyn RevocationWriter>,
    /// Authorization codes, consent tickets, refresh-token families.
    codes: Arc<dyn CodeStore>,
    consents: Arc<dyn CodeStore>,
    refresh: Arc<dyn RefreshStore>,
    client_status: Arc<dyn tollgate::ClientStatus>,
    switch: ClientSwitch,
}

/// (De)activates API clients: locally, and through Redis when shared.
#[derive(Clone)]
struct ClientSwitch {
    clients: Arc<InMemoryClients>,
    #[cfg(feature = "redis")]
    shared: Option<Arc<tollgate::issuer::RedisClientStatus>>,
}

impl ClientSwitch {
    async fn set_active(&self, id: &str, active: bool) -> Result<bool, String> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if tollgate::issuer::ClientRegistry::get(&*self.clients, id).is_none() {
                return Ok(false);
            }
            shared
                .set_active(id, active)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(true);
        }
        Ok(self.clients.set_active(id, active))
    }
}

/// Rotates the signing key: in this process, or for every instance through Redis.
#[derive(Clone)]
struct KeyAdmin {
    ring: KeyRing,
    #[cfg(feature = "redis")]
    store: Option<tollgate::issuer::RedisKeyStore>,
}

impl KeyAdmin {
    async fn rotate(&self) -> Result<String, String> {
        let key = SigningKey::generate(SigningAlgorithm::Ed25519).map_err(|e| e.to_string())?;
        let kid = key.kid().to_owned();
        #[cfg(feature = "redis")]
        if let Some(store) = &self.store {
            store.rotate(key).await.map_err(|e| e.to_string())?;
            return Ok(kid);
        }
        self.ring.rotate(key);
        Ok(kid)
    }
}

/// The demo domain and the platform endpoints it mounts.
#[derive(Clone)]
pub struct App {
    shop: Arc<Shop>,
    sessions: Arc<dyn SessionStore>,
    revoker: Arc<dyn RevocationWriter>,
    switch: ClientSwitch,
    keys: KeyAdmin,
    /// `POST /customers/tokens`, `DELETE /customers/tokens/current` (library).
    pub customer_tokens: Arc<CustomerTokenEndpoint>,
    /// The `/customer-sessions` endpoints (library).
    pub customer_sessions: Arc<CustomerSessions>,
}

/// A framework-free response.
pub type Reply = http::Response<Bytes>;

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut res = http::Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    reply(status, "application/json", body.to_string())
}

fn err(status: StatusCode, code: &str, description: &str) -> Reply {
    json_reply(
        status,
        &json!({"error": code, "error_description": description}),
    )
}

fn store_error(e: StoreError) -> Reply {
    match e {
        StoreError::NotFound => err(StatusCode::NOT_FOUND, "not_found", "no such session"),
        StoreError::AlreadyBound => err(
            StatusCode::CONFLICT,
            "already_bound",
            "the session already has a customer",
        ),
        StoreError::NotAllowed => err(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "only a customer created through this session, or the app's backend credential, may be bound",
        ),
        _ => err(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "session store unavailable",
        ),
    }
}

fn no_content() -> Reply {
    let mut res = http::Response::new(Bytes::new());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// The verifier's refusal (401/403 with its challenge and JSON body).
fn refused(e: &AuthError) -> Reply {
    e.to_response::<String>().map(Bytes::from)
}

fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl App {
    /// `POST /customers`: a backend, or an onboarding session, creates a customer.
    pub async fn create_customer(&self, auth: &AuthContext, body: &[u8]) -> Reply {
        let body = json_body(body);
        let (Some(name), Some(email), Some(password)) = (
            body["name"].as_str(),
            body["email"].as_str(),
            body["password"].as_str(),
        ) else {
            return err(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "name, email and password are required",
            );
        };
        // A customer-bound caller cannot create other customers.
        if auth.customer().is_some() {
            return err(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "already bound to a customer",
            );
        }
        let Ok(c) = self.shop.add_customer(name, email, password) else {
            return err(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "cannot store the customer",
            );
        };
        if let Some(session) = auth.session_id()
            && let Err(e) = self.sessions.record_created_customer(session, &c.id).await
        {
            return store_error(e);
        }
        json_reply(
            StatusCode::CREATED,
            &json!({"data": {"type": "customer", "id": c.id, "name": c.name, "email": c.email}}),
        )
    }

    /// `GET /customers/{id}`: a customer-scoped caller only sees itself.
    pub fn get_customer(&self, auth: &AuthContext, id: &str) -> Reply {
        if let Err(e) = auth.ensure_customer(id) {
            return refused(&e);
        }
        let c = self
            .shop
            .customers
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned());
        match c {
            Some(c) => json_reply(
                StatusCode::OK,
                &json!({"data": {"type": "customer", "id": c.id, "name": c.name, "email": c.email}}),
            ),
            None => err(StatusCode::NOT_FOUND, "not_found", "no such customer"),
        }
    }

    /// `GET /orders`: customer-scoped callers only ever see their own.
    pub fn list_orders(&self, auth: &AuthContext) -> Reply {
        let orders = self
            .shop
            .orders
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        let visible: Vec<Value> = match (auth.is_customer_scoped(), auth.customer()) {
            (false, _) => orders,
            (true, Some(me)) => orders
                .into_iter()
                .filter(|o| o["customer_id"] == me)
                .collect(),
            (true, None) => Vec::new(),
        };
        json_reply(StatusCode::OK, &json!({"data": visible}))
    }

    /// `POST /orders`, attributed to the caller's till or store.
    pub fn create_order(&self, auth: &AuthContext, body: &[u8]) -> Reply {
        let body: Value = serde_json::from_slice(body).unwrap_or(json!({}));
        let customer = match (auth.is_customer_scoped(), auth.customer()) {
            (true, Some(me)) => Some(me.to_owned()),
            (true, None) => {
                return err(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "no customer bound",
                );
            }
            (false, _) => body["customer_id"].as_str().map(str::to_owned),
        };
        let order = json!({"type": "order", "id": format!("ord_{}", random(9)), "customer_id": customer,
            "items": body["items"], "attribution": auth.attribution(), "created_by": auth.client_id()});
        if let Ok(mut o) = self.shop.orders.lock() {
            o.push(order.clone());
        }
        json_reply(StatusCode::CREATED, &json!({"data": order}))
    }

    /// `PUT /customers/{id}/password`: a customer changes their password;
    /// every token and session issued to them before now stops working.
    pub async fn change_password(&self, auth: &AuthContext, id: &str, body: &[u8]) -> Reply {
        if let Err(e) = auth.ensure_customer(id) {
            return refused(&e);
        }
        let body = json_body(body);
        let Some(password) = body["password"].as_str().filter(|p| p.len() >= 8) else {
            return err(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "a password of at least 8 characters is required",
            );
        };
        let Ok(hash) = self.shop.hasher.hash(password) else {
            return err(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "cannot hash",
            );
        };
        let found = self
            .shop
            .customers
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(id).map(|c| c.password_hash = hash))
            .is_some();
        if !found {
            return err(StatusCode::NOT_FOUND, "not_found", "no such customer");
        }
        let account = auth.account().unwrap_or(ACCOUNT).to_owned();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let revoked = self.revoker.revoke_customer(&account, id, now).await;
        let sessions = self.sessions.revoke_customer(&account, id).await;
        match (revoked, sessions) {
            (Ok(()), Ok(_)) => no_content(),
            _ => err(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "revocation unavailable",
            ),
        }
    }

    /// `POST /admin/clients/{id}/active` with `{"active": false}`:
    /// deactivates (or reactivates) an API client, on every instance
    /// sharing the Redis.
    pub async fn set_client_active(&self, id: &str, body: &[u8]) -> Reply {
        let Some(active) = json_body(body)["active"].as_bool() else {
            return err(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "{\"active\": true|false} is required",
            );
        };
        match self.switch.set_active(id, active).await {
            Ok(true) => json_reply(
                StatusCode::OK,
                &json!({"data": {"type": "client", "id": id, "active": active}}),
            ),
            Ok(false) => err(StatusCode::NOT_FOUND, "not_found", "no such client"),
            Err(_) => err(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "client status store unavailable",
            ),
        }
    }

    /// `POST /admin/keys/rotate`: a new signing key becomes active (the old
    /// ones stay published); with Redis, every instance adopts it within a second.
    pub async fn rotate_keys(&self) -> Reply {
        match self.keys.rotate().await {
            Ok(kid) => json_reply(
                StatusCode::OK,
                &json!({"data": {"type": "signing_key", "id": kid}}),
            ),
            Err(_) => err(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "key store unavailable",
            ),
        }
    }

    /// `GET /`: the storefront. Logged out, a "Log in" link (the whole
    /// authorization-code flow against this shop's own issuer, see
    /// `tollgate::login`); logged in (the session cookie it sets), the
    /// customer's own orders.
    pub fn storefront(&self, auth: Option<&AuthContext>) -> Reply {
        let page = |body: String| {
            reply(
                StatusCode::OK,
                "text/html; charset=utf-8",
                format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title></head>\
                     <body><h1>Shop</h1>{body}</body></html>"
                ),
            )
        };
        let me = auth
            .filter(|c| c.session_id().is_some())
            .and_then(|c| c.customer().map(str::to_owned));
        let Some(me) = me else {
            return page("<p>Welcome! <a id=\"login\" href=\"/login\">Log in</a></p>".into());
        };
        let orders = self
            .shop
            .orders
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        let items: String = orders
            .iter()
            .filter(|o| o["customer_id"] == me.as_str())
            .map(|o| {
                format!(
                    "<li class=\"order\" data-customer=\"{}\">{} {}</li>",
                    esc(&me),
                    esc(o["id"].as_str().unwrap_or_default()),
                    esc(&o["items"].to_string())
                )
            })
            .collect();
        page(format!(
            "<p>Logged in as</p><p id=\"customer\">{}</p><h2>Your orders</h2><ul id=\"orders\">{items}</ul>\
             <form method=\"post\" action=\"/logout\"><button id=\"logout\" type=\"submit\">Log out</button></form>",
            esc(&me)
        ))
    }
}

/// Budgets `GET /login`: every start stores a pending login, so a flood
/// from one address is answered 429 before anything is stored.
pub async fn limit_login_start(throttle: &dyn Throttle, peer: IpAddr) -> Option<Reply> {
    let addr = address_key(peer);
    let per_addr = throttle_key(&[b"login-start", &addr]);
    let total = throttle_key(&[b"login-start-total"]);
    // Spent in one step each, so concurrent requests cannot all pass
    // before any is counted.
    let after = throttle
        .spend_all(&[(&per_addr, LOGINS_PER_ADDRESS), (&total, LOGINS_TOTAL)])
        .await?;
    let mut res = reply(
        StatusCode::TOO_MANY_REQUESTS,
        "text/plain; charset=utf-8",
        "too many logins started; try again later",
    );
    res.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(after.as_secs().max(1)),
    );
    Some(res)
}

/// What a route of the table does; each binary maps it to a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Storefront,
    CreateSession,
    CurrentSession,
    BindSession,
    CreateCustomer,
    GetCustomer,
    ChangePassword,
    LogoutCustomerToken,
    SetClientActive,
    RotateKeys,
    ListOrders,
    CreateOrder,
}

/// One API route. The table of them ([`api_routes`]) drives the routers,
/// the requirement in front of each route and the OpenAPI document at
/// `GET /openapi.json`, so the document cannot drift from what is enforced.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    /// `None`: public (the handler may still read optional credentials).
    pub requirement: Option<Requirement>,
    pub op: Op,
}

pub fn api_routes() -> Vec<ApiRoute> {
    let route = |method, path, requirement, op| ApiRoute {
        method,
        path,
        requirement,
        op,
    };
    // Signed in with any credential; the handler checks which.
    let signed_in = || Some(all([]));
    vec![
        route(Method::GET, "/", None, Op::Storefront),
        route(Method::POST, "/customer-sessions", None, Op::CreateSession),
        route(
            Method::GET,
            "/customer-sessions/current",
            signed_in(),
            Op::CurrentSession,
        ),
        route(
            Method::PATCH,
            "/customer-sessions/{id}",
            signed_in(),
            Op::BindSession,
        ),
        route(
            Method::POST,
            "/customers",
            Some(scope("customer:write")),
            Op::CreateCustomer,
        ),
        route(
            Method::GET,
            "/customers/{id}",
            Some(scope("customer:read")),
            Op::GetCustomer,
        ),
        route(
            Method::PUT,
            "/customers/{id}/password",
            Some(scope("customer:write")),
            Op::ChangePassword,
        ),
        route(
            Method::DELETE,
            "/customers/tokens/current",
            signed_in(),
            Op::LogoutCustomerToken,
        ),
        route(
            Method::POST,
            "/admin/clients/{id}/active",
            Some(scope("clients:write")),
            Op::SetClientActive,
        ),
        route(
            Method::POST,
            "/admin/keys/rotate",
            Some(scope("keys:write")),
            Op::RotateKeys,
        ),
        route(
            Method::GET,
            "/orders",
            Some(scope("orders:read")),
            Op::ListOrders,
        ),
        route(
            Method::POST,
            "/orders",
            Some(scope("orders:write")),
            Op::CreateOrder,
        ),
    ]
}

/// The OpenAPI document of `routes` (and of `GET /openapi.json` itself).
fn openapi_json(
    routes: &[ApiRoute],
    config: &AuthConfig,
    token_url: String,
) -> Result<String, String> {
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
    let schemes = SecuritySchemes::from_config(config)
        .token_url(token_url)
        .sessions(&config.sessions)
        .basic();
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("tollgate shop")
                .version(env!("CARGO_PKG_VERSION")),
        )
        .build();
    let table = routes
        .iter()
        .map(|r| (r.method.clone(), r.path, r.requirement.as_ref()));
    let this = std::iter::once((Method::GET, "/openapi.json", None));
    schemes
        .apply(&mut doc, table.chain(this))
        .map_err(|e| e.to_string())?;
    doc.to_json().map_err(|e| e.to_string())
}

/// What the walk-through prints.
struct Banner {
    client_id: String,
    client_secret: String,
    admin_secret: String,
    email: String,
    password: String,
    customer_id: String,
    till_secret: String,
    public_client: String,
}

/// Everything the environment configures, ready to be routed.
pub struct Setup {
    /// Bound to `TOLLGATE_BIND`.
    pub listener: std::net::TcpListener,
    pub addr: std::net::SocketAddr,
    pub app: App,
    /// The verifier, mounted as optional in front of every route.
    pub auth: Authenticator,
    pub minter: Minter,
    pub clients: Arc<InMemoryClients>,
    /// The token, authorize, revoke and introspect endpoints.
    pub token_settings: TokenEndpointSettings,
    /// Failure and start budgets (shared through Redis when configured).
    pub throttle: Arc<dyn Throttle>,
    /// `GET /openapi.json`.
    pub openapi: String,
    /// The storefront's "Log in" (authorization-code flow against this
    /// shop's own issuer, ending in a session cookie).
    #[cfg(feature = "login")]
    pub login: tollgate::login::LoginFlow,
    /// `GET /metrics`.
    #[cfg(feature = "metrics")]
    pub prometheus: metrics_exporter_prometheus::PrometheusHandle,
    banner: Banner,
}

/// Reads the environment (see `examples/shop.rs`) and builds the platform.
pub async fn setup() -> Result<Setup, String> {
    tollgate::install_crypto_backend(tollgate::CryptoBackend::AwsLcRs)
        .map_err(|e| e.to_string())?;
    // tollgate's metrics (`--features metrics`), served at `GET /metrics`.
    #[cfg(feature = "metrics")]
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let bind = env("TOLLGATE_BIND").unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener =
        std::net::TcpListener::bind(&bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    let issuer = env("TOLLGATE_ISSUER").unwrap_or_else(|| base.clone());
    // The platform side: keys, clients, customers, tills.
    // Signing keys: PEM files (`TOLLGATE_SIGNING_KEY_FILES`, comma-separated,
    // first = active) mounted on every instance; else, with Redis, one key
    // set shared through Redis (the first instance to start installs it,
    // rotations reach the others within a second); else a fresh key.
    let fresh = || SigningKey::generate(SigningAlgorithm::Ed25519);
    let ring = match env("TOLLGATE_SIGNING_KEY_FILES") {
        Some(files) => {
            KeyRing::from_pem_files(files.split(',').map(str::trim)).map_err(|e| e.to_string())?
        }
        None => KeyRing::new(fresh().map_err(|e| e.to_string())?),
    };
    #[cfg(feature = "redis")]
    let key_store = match (env("TOLLGATE_REDIS_URL"), env("TOLLGATE_SIGNING_KEY_FILES")) {
        (Some(url), None) => {
            let store = tollgate::issuer::RedisKeyStore::open(&url, ring.clone())
                .map_err(|e| e.to_string())?;
            let initial = ring.active().ok_or("no signing key")?;
            store
                .load_or_init(move || initial)
                .await
                .map_err(|e| format!("shared signing keys: {e}"))?;
            store.spawn_refresher(Duration::from_secs(1));
            Some(store)
        }
        _ => None,
    };
    let keys = KeyAdmin {
        ring: ring.clone(),
        #[cfg(feature = "redis")]
        store: key_store,
    };
    let minter = Minter::new(issuer.clone(), AUDIENCE, ring);
    let clients = Arc::new(InMemoryClients::default());
    let client_id = env("TOLLGATE_DEMO_CLIENT_ID").unwrap_or_else(|| "demo-backend".into());
    let client_secret = env("TOLLGATE_DEMO_CLIENT_SECRET").unwrap_or_else(|| random(24));
    // Redirect URIs for the authorization-code flow: the storefront's own
    // callback, the partner app's (`examples/partner_app.rs`), and any
    // extra ones (`TOLLGATE_DEMO_REDIRECT_URIS`, comma-separated).
    let partner = env("TOLLGATE_PARTNER_URL").unwrap_or_else(|| "http://127.0.0.1:3001".into());
    let mut redirect_uris = vec![
        format!("{base}/callback"),
        format!("{}/callback", partner.trim_end_matches('/')),
    ];
    // The issuer's own callback only where a browser can be sent safely
    // (https); a plain-http issuer name is not a redirect URI.
    if issuer.starts_with("https://") {
        redirect_uris.push(format!("{}/callback", issuer.trim_end_matches('/')));
    }
    redirect_uris.extend(
        env("TOLLGATE_DEMO_REDIRECT_URIS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
    );
    redirect_uris.dedup();
    let public_client =
        env("TOLLGATE_DEMO_PUBLIC_CLIENT_ID").unwrap_or_else(|| "demo-storefront".into());
    clients
        .register(
            NewClient::public(&public_client, ACCOUNT, ALL_SCOPES)
                .with_redirect_uris(redirect_uris.clone()),
        )
        .map_err(|e| e.to_string())?;
    clients
        .register(
            NewClient::confidential(&client_id, &client_secret, ACCOUNT, ALL_SCOPES)
                .with_lifetime(Duration::from_secs(3600))
                .with_default_attribution("store-1")
                .with_allowed_attributions(vec!["store-2".into()])
                .with_redirect_uris(redirect_uris),
        )
        .map_err(|e| e.to_string())?;
    let admin_secret = env("TOLLGATE_DEMO_ADMIN_SECRET").unwrap_or_else(|| random(24));
    clients
        .register(
            NewClient::confidential(
                "demo-admin",
                &admin_secret,
                ACCOUNT,
                "clients:write keys:write",
            )
            .with_lifetime(Duration::from_secs(600)),
        )
        .map_err(|e| e.to_string())?;
    let shop = Arc::new(Shop::new()?);
    let email = env("TOLLGATE_DEMO_CUSTOMER_EMAIL").unwrap_or_else(|| "ron@swanson.example".into());
    let password = env("TOLLGATE_DEMO_CUSTOMER_PASSWORD").unwrap_or_else(|| random(12));
    let demo_customer = shop.add_customer("Ron Swanson", &email, &password)?;
    let tills = Arc::new(StaticBasicCredentials::default());
    let till_secret = random(16);
    tills.add(
        "till-1",
        &till_secret,
        BasicIdentity::new(ACCOUNT, "till-1", "orders:read orders:write")
            .with_attribution("store-1/till-1"),
    );

    // Everything the platform keeps: in this process, or in Redis so that
    // several instances on one Redis behave as one.
    let redis_url = env("TOLLGATE_REDIS_URL");
    let local_status: Arc<dyn tollgate::ClientStatus> = clients.clone();
    let state = match redis_url {
        None => PlatformState {
            sessions: Arc::new(MemoryStore::default()),
            throttle: Arc::new(MemoryThrottle::default()),
            revoker: Arc::new(MemoryRevocations::default()),
            codes: Arc::new(MemoryCodes::default()),
            consents: Arc::new(MemoryCodes::default()),
            refresh: Arc::new(MemoryRefreshTokens::default()),
            client_status: local_status,
            switch: ClientSwitch {
                clients: clients.clone(),
                #[cfg(feature = "redis")]
                shared: None,
            },
        },
        #[cfg(feature = "redis")]
        Some(url) => {
            let timeout = Duration::from_millis(250);
            let refresh = Duration::from_millis(200);
            let revocations =
                tollgate::revocation::RedisRevocations::new(&url, "tollgate:", timeout)
                    .map_err(|e| e.to_string())?;
            revocations.spawn_refresher(refresh);
            let status = tollgate::issuer::RedisClientStatus::new(
                &url,
                "tollgate:",
                timeout,
                Some(local_status),
            )
            .map_err(|e| e.to_string())?;
            status.spawn_refresher(refresh);
            PlatformState {
                sessions: Arc::new(
                    tollgate::session::RedisStore::new(tollgate::session::RedisSettings::new(
                        url.clone(),
                    ))
                    .map_err(|e| e.to_string())?,
                ),
                throttle: Arc::new(
                    tollgate::issuer::RedisThrottle::new(&url, "tollgate:", timeout)
                        .map_err(|e| e.to_string())?,
                ),
                revoker: revocations,
                codes: Arc::new(
                    tollgate::issuer::RedisCodes::new(&url, "tollgate:code:")
                        .map_err(|e| e.to_string())?,
                ),
                consents: Arc::new(
                    tollgate::issuer::RedisCodes::new(&url, "tollgate:consent:")
                        .map_err(|e| e.to_string())?,
                ),
                refresh: Arc::new(
                    tollgate::issuer::RedisRefreshTokens::new(&url, "tollgate:")
                        .map_err(|e| e.to_string())?,
                ),
                client_status: status.clone(),
                switch: ClientSwitch {
                    clients: clients.clone(),
                    shared: Some(status),
                },
            }
        }
        #[cfg(not(feature = "redis"))]
        Some(_) => return Err("TOLLGATE_REDIS_URL needs --features redis".into()),
    };
    let PlatformState {
        sessions,
        throttle,
        revoker,
        codes,
        consents,
        refresh,
        client_status,
        switch,
    } = state;

    // The verifier: this very server's JWKS (fetched over HTTP, cached), or
    // an external issuer named with `examples/axum_api.rs`'s variables.
    let audience = env("TOLLGATE_AUDIENCE").unwrap_or_else(|| AUDIENCE.into());
    let mut trusted = IssuerConfig::new(issuer.clone()).audience(audience);
    trusted = if let Some(url) = env("TOLLGATE_JWKS_URL") {
        trusted.jwks_url(url)
    } else if env("TOLLGATE_DISCOVERY").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    {
        trusted.discovery()
    } else if let Some(secret) = env("TOLLGATE_HS256_SECRET") {
        trusted.key(tollgate::KeySource::HmacSecret {
            secret: tollgate::Secret::new(secret),
            algorithm: Some(tollgate::Algorithm::HS256),
            allow_short: true,
        })
    } else {
        trusted.jwks_url(format!("{base}/.well-known/jwks.json"))
    };
    // The OpenAPI document's security schemes come from this same config.
    let config = AuthConfig::default()
        .with_issuer(trusted)
        .with_remote_keys(RemoteKeySettings::default().with_fetch_timeout_ms(2000))
        .with_customer_tokens(CustomerTokenConfig::default())
        .with_sessions(SessionSources::default().with_cookie(SESSION_COOKIE));
    let auth = Authenticator::builder()
        .config(config.clone())
        .session_store(sessions.clone())
        .client_status(client_status.clone())
        .revocations(revoker.clone())
        .attribution("X-Attribution", clients.clone())
        .basic_credentials(tills)
        .build()
        .map_err(|e| e.to_string())?;

    let customer_tokens = Arc::new(CustomerTokenEndpoint::new(
        minter.clone(),
        shop.clone(),
        CustomerTokenSettings::default()
            .with_throttle(throttle.clone())
            .with_revocations(revoker.clone()),
    ));
    let customer_sessions = Arc::new(CustomerSessions::new(
        CustomerSessionSettings::new(sessions.clone(), ACCOUNT)
            .with_public_client(public_client.clone())
            .with_scopes(ALL_SCOPES, ONBOARDING_SCOPES)
            .with_anonymous_limits(ANONYMOUS_PER_ADDRESS, ANONYMOUS_TOTAL)
            .with_throttle(throttle.clone())
            .with_cookie(SESSION_COOKIE)
            .with_customers(shop.clone()),
    ));
    let app = App {
        shop: shop.clone(),
        sessions: sessions.clone(),
        revoker: revoker.clone(),
        switch,
        keys,
        customer_tokens,
        customer_sessions,
    };
    // The storefront's "Log in": the authorization-code flow against this
    // shop's own issuer (a public client with PKCE), ending in a customer
    // session whose cookie the authenticator above reads.
    #[cfg(feature = "login")]
    let login = {
        use tollgate::login::{LoginConfig, LoginFlow};
        let config = LoginConfig::new(
            format!("{base}/oauth/authorize"),
            format!("{base}/oauth/token"),
            &public_client,
            format!("{base}/callback"),
        )
        .with_revocation_url(format!("{base}/oauth/revoke"))
        .with_issuer(issuer.clone())
        .with_id_token_issuer(
            IssuerConfig::new(issuer.clone())
                .audience(public_client.clone())
                .jwks_url(format!("{base}/.well-known/jwks.json")),
        )
        .with_scopes([
            "openid",
            "customer:read",
            "customer:write",
            "orders:read",
            "orders:write",
        ])
        .with_session_cookie(SESSION_COOKIE);
        #[allow(unused_mut)]
        let mut flow = LoginFlow::builder(config, Arc::new(auth.clone()), sessions.clone());
        #[cfg(feature = "redis")]
        if let Some(url) = env("TOLLGATE_REDIS_URL") {
            let timeout = Duration::from_millis(250);
            flow = flow
                .pending_logins(Arc::new(
                    tollgate::login::RedisPendingLogins::new(&url, "tollgate:login:", timeout)
                        .map_err(|e| e.to_string())?,
                ))
                .token_vault(Arc::new(
                    tollgate::login::RedisTokenVault::new(&url, "tollgate:vault:", timeout)
                        .map_err(|e| e.to_string())?,
                ));
        }
        flow.build().map_err(|e| e.to_string())?
    };
    let token_url = format!("{}/oauth/token", issuer.trim_end_matches('/'));
    let openapi = openapi_json(&api_routes(), &config, token_url)?;
    let token_settings = TokenEndpointSettings::default()
        .with_throttle(throttle.clone())
        .with_client_status(client_status)
        .with_introspection(auth.clone())
        .with_code_flow(
            CodeFlow::new(shop.clone(), codes, consents, refresh)
                .with_revocations(revoker)
                .with_settings(CodeFlowSettings::default().with_throttle(throttle.clone())),
        );
    Ok(Setup {
        listener,
        addr,
        app,
        auth,
        minter,
        clients,
        token_settings,
        throttle,
        openapi,
        #[cfg(feature = "login")]
        login,
        #[cfg(feature = "metrics")]
        prometheus,
        banner: Banner {
            client_id,
            client_secret,
            admin_secret,
            email,
            password,
            customer_id: demo_customer.id,
            till_secret,
            public_client,
        },
    })
}

/// Prints the walk-through, then `listening on http://ADDR` (what the
/// tests wait for).
pub fn announce(setup: &Setup) {
    let Banner {
        client_id,
        client_secret,
        admin_secret,
        email,
        password,
        customer_id,
        till_secret,
        public_client,
    } = &setup.banner;
    let addr = setup.addr;
    let b = &format!("http://{addr}");
    println!("tollgate shop demo. Demo API client: id {client_id}, secret {client_secret}");
    println!("Admin client (may deactivate clients): id demo-admin, secret {admin_secret}");
    println!(
        "Demo customer: {email} / {password} (id {}); till: till-1 / {till_secret}",
        customer_id
    );
    println!("Storefront: open {b}/ in a browser and log in as {email} / {password}");
    println!(
        "Partner app (\"Log in with Shop\"): PARTNER_SHOP_URL={b} PARTNER_CLIENT_ID={client_id} PARTNER_CLIENT_SECRET={client_secret} cargo run --example partner_app --features login, then open http://127.0.0.1:3001/"
    );
    println!("Walk-through (paste into a shell):");
    println!("# 1. client credentials -> access token -> API call");
    println!(
        "TOKEN=$(curl -s -u '{client_id}:{client_secret}' -d grant_type=client_credentials {b}/oauth/token | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
    );
    println!("curl -si {b}/orders -H \"Authorization: Bearer $TOKEN\"");
    println!(
        "curl -si -X POST {b}/orders -H \"Authorization: Bearer $TOKEN\" -H 'X-Attribution: store-2' -H 'content-type: application/json' -d '{{\"customer_id\":\"{}\",\"items\":[\"mug\"]}}'",
        customer_id
    );
    println!("# 2. customer login -> customer token -> own orders only");
    println!(
        "CTOKEN=$(curl -s -X POST {b}/customers/tokens -H \"Authorization: Bearer $TOKEN\" -H 'content-type: application/json' -d '{{\"email\":\"{email}\",\"password\":\"{password}\"}}' | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')"
    );
    println!(
        "curl -si {b}/orders -H \"Authorization: Bearer $TOKEN\" -H \"X-Customer-Token: $CTOKEN\""
    );
    println!(
        "curl -si {b}/customers/{} -H \"Authorization: Bearer $TOKEN\" -H \"X-Customer-Token: $CTOKEN\"",
        customer_id
    );
    println!("# 3. frontend session -> onboarding -> bound session");
    println!(
        "SID=$(curl -s -X POST {b}/customer-sessions -H 'content-type: application/json' -d '{{\"client_id\":\"{public_client}\"}}' | sed -E 's/.*\"id\":\"([^\"]+)\".*/\\1/')"
    );
    println!(
        "NEW=$(curl -s -X POST {b}/customers -H \"X-Session-Id: $SID\" -H 'content-type: application/json' -d '{{\"name\":\"Leslie\",\"email\":\"leslie@example.org\",\"password\":\"waffles-and-friends\"}}' | sed -E 's/.*\"id\":\"([^\"]+)\".*/\\1/')"
    );
    println!(
        "curl -si -X PATCH {b}/customer-sessions/$SID -H \"X-Session-Id: $SID\" -H 'content-type: application/json' -d \"{{\\\"customer_id\\\":\\\"$NEW\\\"}}\""
    );
    println!("curl -si {b}/customer-sessions/current -H \"X-Session-Id: $SID\"");
    println!("# 4. legacy till (basic credentials)");
    println!("curl -si {b}/orders -u 'till-1:{till_secret}'");
    println!("# 5. insufficient scope: a till cannot read customers");
    println!(
        "curl -si {b}/customers/{} -u 'till-1:{till_secret}'",
        customer_id
    );
    println!("listening on http://{addr}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}
