//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials), the
//! JWKS document and OIDC discovery, as an axum router.

use super::clients::{Client, ClientRegistry};
use super::mint::{AccessGrant, Minter};
use crate::scope::{ScopeRules, ScopeSet};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Token endpoint settings.
#[derive(Clone, Debug)]
pub struct TokenEndpointSettings {
    /// Failed secret attempts allowed per client id within `failure_window`
    /// before further attempts are refused (default 5).
    pub max_failures: u32,
    /// The window for counting failures (default 60 s).
    pub failure_window: Duration,
}

impl Default for TokenEndpointSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            failure_window: Duration::from_secs(60),
        }
    }
}

struct Shared {
    minter: Minter,
    clients: Arc<dyn ClientRegistry>,
    settings: TokenEndpointSettings,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    /// A hash to verify against when the client id is unknown, so response
    /// time does not reveal which ids exist.
    dummy_hash: Option<Client>,
}

/// An RFC 6749 §5.2 error response.
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: &'static str) -> Self {
        Self {
            status,
            code,
            description,
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
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
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
    let dummy_hash = super::clients::InMemoryClients::default()
        .register(super::clients::NewClient {
            id: "dummy".into(),
            secret: "dummy-secret-never-used-0123456789".into(),
            account: "dummy".into(),
            scopes: String::new(),
            lifetime: Duration::from_secs(1),
            default_attribution: None,
            allowed_attributions: Vec::new(),
        })
        .ok();
    let shared = Arc::new(Shared {
        minter,
        clients,
        settings,
        failures: Mutex::new(HashMap::new()),
        dummy_hash,
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
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(&id), unescape(&secret))))
}

impl Shared {
    fn throttled(&self, client_id: &str) -> bool {
        let Ok(map) = self.failures.lock() else {
            return true;
        };
        map.get(client_id).is_some_and(|(n, since)| {
            *n >= self.settings.max_failures && since.elapsed() < self.settings.failure_window
        })
    }

    fn record_failure(&self, client_id: &str) {
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                let window = self.settings.failure_window;
                map.retain(|_, (_, since)| since.elapsed() < window);
            }
            let entry = map
                .entry(client_id.to_owned())
                .or_insert((0, Instant::now()));
            if entry.1.elapsed() >= self.settings.failure_window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    fn clear_failures(&self, client_id: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(client_id);
        }
    }
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    match issue_token(&s, &headers, &body).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn issue_token(
    s: &Arc<Shared>,
    headers: &HeaderMap,
    body: &[u8],
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
    if s.throttled(&client_id) {
        return Err(OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_client",
            "too many failed attempts; try again later",
        ));
    }
    // Argon2 is slow by design: verify off the async workers.
    let lookup = s.clients.get(&client_id);
    let shared = s.clone();
    let candidate = lookup.clone();
    let ok = tokio::task::spawn_blocking(move || match candidate.as_ref() {
        Some(c) => c.verify_secret(&secret),
        None => {
            // Same work for unknown ids.
            if let Some(d) = &shared.dummy_hash {
                let _ = d.verify_secret(&secret);
            }
            false
        }
    })
    .await
    .unwrap_or(false);
    let client = match lookup {
        Some(c) if ok && c.active => c,
        Some(c) if ok && !c.active => {
            return Err(OAuthError::invalid_client("the client is deactivated"));
        }
        _ => {
            s.record_failure(&client_id);
            return Err(OAuthError::invalid_client("unknown client or wrong secret"));
        }
    };
    s.clear_failures(&client_id);

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
