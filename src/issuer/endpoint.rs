//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials), the
//! JWKS document and OIDC discovery, as an axum router.

use super::clients::ClientRegistry;
use super::mint::{AccessGrant, Minter};
use super::throttle::{MemoryThrottle, Throttle, ThrottleRule, throttle_key};
use crate::authenticator::ClientStatus;
use crate::scope::{ScopeRules, ScopeSet};
use crate::secret_digest::SecretDigester;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Token endpoint settings.
///
/// Failed client authentications are counted per *(client id, client
/// address)* and per address, never per client id alone: a stranger sending
/// wrong secrets for a real client's id slows only their own address and
/// cannot lock the real client out. The address is the [`ClientAddr`](super::ClientAddr)
/// request extension if the app sets one (behind a trusted proxy), else
/// axum's `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenEndpointSettings {
    /// Failed attempts allowed per client id and address within
    /// `failure_window` (default 10).
    pub max_failures: u32,
    /// Failed attempts allowed per address, whatever the client id, within
    /// `failure_window` (default 100).
    pub max_failures_per_address: u32,
    /// The window for counting failures (default 60 s).
    pub failure_window: Duration,
    /// Where failures are counted (default: a fixed-size in-process
    /// [`MemoryThrottle`]; `RedisThrottle` shares counts between instances).
    pub throttle: Arc<dyn Throttle>,
    /// Consulted besides the registry's own `active` flag (e.g. a shared
    /// `RedisClientStatus`).
    pub client_status: Option<Arc<dyn ClientStatus>>,
    /// Largest accepted request body (default 16 KiB).
    pub max_body_bytes: usize,
}

impl Default for TokenEndpointSettings {
    fn default() -> Self {
        Self {
            max_failures: 10,
            max_failures_per_address: 100,
            failure_window: Duration::from_secs(60),
            throttle: Arc::new(MemoryThrottle::default()),
            client_status: None,
            max_body_bytes: 16 * 1024,
        }
    }
}

impl TokenEndpointSettings {
    /// Counts failures in `throttle`.
    #[must_use]
    pub fn with_throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = throttle;
        self
    }

    /// Also refuses clients that `status` says are inactive.
    #[must_use]
    pub fn with_client_status(mut self, status: Arc<dyn ClientStatus>) -> Self {
        self.client_status = Some(status);
        self
    }

    /// Sets the failure budgets.
    #[must_use]
    pub fn with_failure_limits(
        mut self,
        per_client_and_address: u32,
        per_address: u32,
        window: Duration,
    ) -> Self {
        self.max_failures = per_client_and_address;
        self.max_failures_per_address = per_address;
        self.failure_window = window;
        self
    }
}

struct Shared {
    minter: Minter,
    clients: Arc<dyn ClientRegistry>,
    settings: TokenEndpointSettings,
    /// Digests against nothing for unknown client ids, so response time
    /// does not reveal which ids exist.
    dummy: Option<SecretDigester>,
}

/// An RFC 6749 §5.2 error response.
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
    retry_after: Option<Duration>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: &'static str) -> Self {
        Self {
            status,
            code,
            description,
            retry_after: None,
        }
    }
    fn throttled(after: Duration) -> Self {
        Self {
            retry_after: Some(after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_client",
                "too many failed attempts from this address; try again later",
            )
        }
    }
    fn invalid_request(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    fn invalid_client(description: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
}

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "error_description": self.description});
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.code == "invalid_client" {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
            );
        }
        if let Some(after) = self.retry_after {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(after.as_secs().max(1)),
            );
        }
        no_store(res)
    }
}

/// The issuer's public routes: `POST /oauth/token`,
/// `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`.
pub fn router(
    minter: Minter,
    clients: Arc<dyn ClientRegistry>,
    settings: TokenEndpointSettings,
) -> Router {
    let shared = Arc::new(Shared {
        minter,
        clients,
        settings,
        dummy: SecretDigester::random().ok(),
    });
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(discovery))
        .with_state(shared)
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint").finish_non_exhaustive()
    }
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    let mut res = axum::Json(s.minter.ring().jwks()).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    let base = s.minter.issuer().trim_end_matches('/');
    axum::Json(serde_json::json!({
        "issuer": s.minter.issuer(),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "token_endpoint": format!("{base}/oauth/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
    }))
    .into_response()
}

/// `application/x-www-form-urlencoded` parameters, refusing repeats (RFC 6749 §3.2).
fn form_params(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request("a parameter was repeated"));
        }
    }
    Ok(out)
}

/// `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    // The same RFC 7617 decoding the engine uses for tills.
    let (id, secret) = crate::basic::decode(value.as_bytes())
        .ok_or_else(|| OAuthError::invalid_client("use Basic client authentication"))?;
    // Each part is form-encoded (`+` is a space, `%XX` a byte): decode it
    // whole. A raw `&` or `=` is not part of that encoding; it is refused
    // rather than cutting the value short.
    let unescape = |s: &str| -> Result<String, OAuthError> {
        if s.contains(['&', '=']) {
            return Err(OAuthError::invalid_client(
                "client credentials must be form-encoded",
            ));
        }
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|v| v.into_owned())
            .map_err(|_| OAuthError::invalid_client("client credentials must be UTF-8"))
    };
    Ok(Some((unescape(&id)?, unescape(&secret)?)))
}

async fn token(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, s.settings.max_body_bytes).await else {
        return OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
        .into_response();
    };
    let addr = super::throttle::request_address(&parts.extensions);
    match issue_token(&s, &parts.headers, &body, &addr).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn issue_token(
    s: &Arc<Shared>,
    headers: &HeaderMap,
    body: &[u8],
    addr: &[u8; 16],
) -> Result<Response, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut params = form_params(body)?;
    let basic = basic_credentials(headers)?;
    let post_id = params.remove("client_id");
    let post_secret = params.remove("client_secret");
    let (client_id, secret) = match (basic, post_id, post_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), post_id, None) => {
            if post_id.is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the credentials",
                ));
            }
            (id, secret)
        }
        (None, Some(id), Some(secret)) => (id, secret),
        (None, _, _) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        }
    };
    match params.get("grant_type").map(String::as_str) {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            ));
        }
    }
    let settings = &s.settings;
    let pair_rule = ThrottleRule::new(settings.max_failures, settings.failure_window);
    let addr_rule = ThrottleRule::new(settings.max_failures_per_address, settings.failure_window);
    let pair_key = throttle_key(&[b"token", client_id.as_bytes(), addr]);
    let addr_key = throttle_key(&[b"token-addr", addr]);
    let limited = match settings.throttle.check(&pair_key, pair_rule).await {
        Some(after) => Some(after),
        None => settings.throttle.check(&addr_key, addr_rule).await,
    };
    if let Some(after) = limited {
        return Err(OAuthError::throttled(after));
    }
    // A keyed digest (about a microsecond): the same work for unknown ids.
    let lookup = s.clients.get(&client_id);
    let ok = match &lookup {
        Some(c) => c.verify_secret(&secret),
        None => {
            if let Some(d) = &s.dummy {
                let _ = d.verify(secret.as_bytes(), None);
            }
            false
        }
    };
    let client = match lookup {
        Some(c) if ok => c,
        _ => {
            settings.throttle.fail(&pair_key, pair_rule).await;
            settings.throttle.fail(&addr_key, addr_rule).await;
            return Err(OAuthError::invalid_client("unknown client or wrong secret"));
        }
    };
    let active = client.active
        && settings
            .client_status
            .as_ref()
            .is_none_or(|st| st.is_active(&client.id));
    if !active {
        return Err(OAuthError::invalid_client("the client is deactivated"));
    }

    let rules = ScopeRules::default();
    let allowed = ScopeSet::parse_delimited(&client.scopes, &rules);
    let granted = match params.get("scope") {
        None => allowed,
        Some(requested) => {
            let requested = ScopeSet::parse_delimited(requested, &rules);
            let narrowed = requested.intersection(&allowed, &rules);
            if narrowed.is_empty() {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "none of the requested scopes is allowed for this client",
                ));
            }
            narrowed
        }
    };
    let scope = granted
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let minted = s
        .minter
        .access_token(&AccessGrant {
            client_id: &client.id,
            account: &client.account,
            scope: &scope,
            lifetime: client.lifetime,
        })
        .map_err(|_| {
            OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "cannot sign",
            )
        })?;
    let body = serde_json::json!({
        "access_token": minted.token,
        "token_type": "Bearer",
        "expires_in": minted.expires_in,
        "scope": scope,
    });
    Ok(no_store(axum::Json(body).into_response()))
}
