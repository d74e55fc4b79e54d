//! The OAuth 2.0 token endpoint (RFC 6749 §4.4 client credentials; with a
//! [`CodeFlow`](super::CodeFlow) also §4.1.3 authorization code and §6
//! refresh), RFC 7009 revocation, the JWKS document and OIDC discovery:
//! framework-free handlers from `http` types to `http::Response<Bytes>`.
//! The axum routes are in `routes.rs`.

use super::authorize::CodeFlow;
use super::clients::{Client, ClientRegistry};
use super::mint::{AccessGrant, Minter};
use super::oauth_error::{OAuthError, json_response};
use super::throttle::{MemoryThrottle, Throttle, ThrottleRule, throttle_key};
use crate::authenticator::ClientStatus;
use crate::scope::{ScopeRules, ScopeSet};
use crate::secret_digest::SecretDigester;
use crate::telemetry;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
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
    /// The authorization-code flow (login, codes, refresh tokens), if on.
    pub code_flow: Option<CodeFlow>,
    /// Where DPoP proof `jti`s sent to this endpoint are remembered
    /// (default: in memory; share a `RedisReplayCache` between instances).
    pub dpop_replay: Arc<dyn crate::dpop::ReplayCache>,
    /// A DPoP proof's `iat` may be this far in the past or future (default 60 s).
    pub dpop_iat_window: Duration,
    /// `POST /oauth/introspect` (RFC 7662), answered by this verifier.
    pub introspection: Option<crate::Authenticator>,
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
            code_flow: None,
            dpop_replay: Arc::new(crate::dpop::MemoryReplayCache::default()),
            dpop_iat_window: Duration::from_secs(60),
            introspection: None,
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

    /// Turns on the authorization-code flow: `GET /oauth/authorize` with
    /// its login and consent pages, the `authorization_code` and
    /// `refresh_token` grants, and `POST /oauth/revoke`.
    #[must_use]
    pub fn with_code_flow(mut self, flow: CodeFlow) -> Self {
        self.code_flow = Some(flow);
        self
    }

    /// Turns on `POST /oauth/introspect` (RFC 7662), answered by `verifier`
    /// (an [`Authenticator`](crate::Authenticator) that trusts this issuer,
    /// with the app's revocations and client status): a token is active
    /// exactly when a request carrying it would pass.
    #[must_use]
    pub fn with_introspection(mut self, verifier: crate::Authenticator) -> Self {
        self.introspection = Some(verifier);
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

/// The issuer's OAuth endpoints as framework-free handlers: each takes the
/// request's headers, its body (already read, at most
/// [`max_body_bytes`](TokenEndpointSettings::max_body_bytes)) and the
/// caller's throttle address ([`address_key`](super::address_key) of the
/// client IP), and answers an `http::Response<Bytes>`. The axum
/// [`router`](super::router) and the actix-web services (`issuer::actix`)
/// are thin adapters over these; an app on another framework calls them
/// the same way.
///
/// ```
/// # async fn demo() -> Result<(), tollgate::ConfigError> {
/// use std::sync::Arc;
/// use tollgate::issuer::{InMemoryClients, KeyRing, Minter, SigningAlgorithm, SigningKey,
///     TokenEndpoint, TokenEndpointSettings, address_key};
///
/// let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519)?);
/// let minter = Minter::new("https://auth.example", "orders-api", ring);
/// let clients = Arc::new(InMemoryClients::default());
/// let ep = TokenEndpoint::new(minter, clients, TokenEndpointSettings::default());
/// let jwks = ep.jwks();
/// assert_eq!(jwks.status(), 200);
/// let mut headers = http::HeaderMap::new();
/// headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
/// let addr = address_key("192.0.2.1".parse().unwrap());
/// let res = ep.token(&headers, b"grant_type=client_credentials", &addr).await;
/// assert_eq!(res.status(), 401); // no client credentials
/// # Ok(()) }
/// ```
pub struct TokenEndpoint {
    pub(crate) minter: Minter,
    pub(crate) clients: Arc<dyn ClientRegistry>,
    pub(crate) settings: TokenEndpointSettings,
    /// Digests against nothing for unknown client ids, so response time
    /// does not reveal which ids exist.
    dummy: Option<SecretDigester>,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint").finish_non_exhaustive()
    }
}

/// Which grants may be used by a public client (no secret).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PublicClients {
    Allowed,
    Refused,
}

impl TokenEndpoint {
    /// The endpoints of `minter`'s issuer for the clients of `clients`.
    pub fn new(
        minter: Minter,
        clients: Arc<dyn ClientRegistry>,
        settings: TokenEndpointSettings,
    ) -> Self {
        Self {
            minter,
            clients,
            settings,
            dummy: SecretDigester::random().ok(),
        }
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &TokenEndpointSettings {
        &self.settings
    }

    /// `GET /.well-known/jwks.json`.
    pub fn jwks(&self) -> Response<Bytes> {
        let body = serde_json::to_vec(&self.minter.ring().jwks()).unwrap_or_default();
        let mut res = Response::new(Bytes::from(body));
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        res
    }

    /// `GET /.well-known/openid-configuration` (RFC 8414 / OIDC discovery).
    pub fn discovery(&self) -> Response<Bytes> {
        let issuer = self.minter.issuer();
        let base = issuer.trim_end_matches('/');
        let mut doc = serde_json::json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/oauth/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
            "dpop_signing_alg_values_supported": crate::dpop::PROOF_ALGORITHMS.split(' ').collect::<Vec<_>>(),
        });
        if let (Some(_), Some(obj)) = (&self.settings.code_flow, doc.as_object_mut()) {
            let alg = self
                .minter
                .ring()
                .active()
                .map(|k| format!("{:?}", k.algorithm()));
            for (k, v) in [
                (
                    "authorization_endpoint",
                    format!("{base}/oauth/authorize").into(),
                ),
                ("revocation_endpoint", format!("{base}/oauth/revoke").into()),
                (
                    "grant_types_supported",
                    serde_json::json!([
                        "client_credentials",
                        "authorization_code",
                        "refresh_token"
                    ]),
                ),
                ("response_types_supported", serde_json::json!(["code"])),
                ("response_modes_supported", serde_json::json!(["query"])),
                (
                    "code_challenge_methods_supported",
                    serde_json::json!(["S256"]),
                ),
                (
                    "token_endpoint_auth_methods_supported",
                    serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
                ),
                (
                    "revocation_endpoint_auth_methods_supported",
                    serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
                ),
                ("subject_types_supported", serde_json::json!(["public"])),
                (
                    "id_token_signing_alg_values_supported",
                    serde_json::json!([alg]),
                ),
                ("scopes_supported", serde_json::json!(["openid"])),
                (
                    "authorization_response_iss_parameter_supported",
                    true.into(),
                ),
            ] {
                obj.insert(k.to_owned(), v);
            }
        }
        if let (Some(_), Some(obj)) = (&self.settings.introspection, doc.as_object_mut()) {
            obj.insert(
                "introspection_endpoint".into(),
                format!("{base}/oauth/introspect").into(),
            );
            obj.insert(
                "introspection_endpoint_auth_methods_supported".into(),
                serde_json::json!(["client_secret_basic", "client_secret_post"]),
            );
        }
        let mut res = Response::new(Bytes::from(doc.to_string()));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }

    /// `POST /oauth/token`.
    pub async fn token(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let timer = telemetry::Timer::start();
        let mut grant = "other";
        let result = self.issue_token(headers, body, addr, &mut grant).await;
        timer.stop(telemetry::Timed::TokenEndpoint);
        telemetry::token_endpoint(grant, result.as_ref().map_or_else(|e| e.code, |_| "ok"));
        match result {
            Ok(res) => res,
            Err(e) => e.into_http(),
        }
    }

    /// `GET /oauth/authorize` (the query string without `?`): the login
    /// page, or an error page or redirect; 404 without a code flow.
    pub fn authorize(&self, query: Option<&str>) -> Response<Bytes> {
        match &self.settings.code_flow {
            Some(flow) => flow.authorize(self, query),
            None => not_found(),
        }
    }

    /// `POST /oauth/authorize/login` (the login form, at most the code
    /// flow's `max_request_bytes`); 404 without a code flow.
    pub async fn authorize_login(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        match &self.settings.code_flow {
            Some(flow) => flow.login(self, headers, body, addr).await,
            None => not_found(),
        }
    }

    /// `POST /oauth/authorize/consent`; 404 without a code flow.
    pub async fn authorize_consent(&self, headers: &HeaderMap, body: &[u8]) -> Response<Bytes> {
        match &self.settings.code_flow {
            Some(flow) => flow.consent(self, headers, body).await,
            None => not_found(),
        }
    }

    /// The most a code-flow form may hold (the adapters' body limit for
    /// the login and consent posts).
    pub fn max_form_bytes(&self) -> usize {
        self.settings
            .code_flow
            .as_ref()
            .map_or(self.settings.max_body_bytes, |f| {
                f.settings.max_request_bytes
            })
    }

    /// `POST /oauth/revoke` (RFC 7009); 404 without a code flow.
    pub async fn revoke(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let result = async {
            let Some(flow) = &self.settings.code_flow else {
                return Err(OAuthError::new(
                    StatusCode::NOT_FOUND,
                    "invalid_request",
                    "revocation is not enabled",
                ));
            };
            require_form(headers)?;
            let mut params = form_params(body)?;
            let client = self
                .authenticate_client(headers, &mut params, addr, PublicClients::Allowed)
                .await?;
            flow.revoke(&client, &params).await
        }
        .await;
        match result {
            Ok(()) => json_response(StatusCode::OK, &serde_json::json!({})),
            Err(e) => e.into_http(),
        }
    }

    /// Authenticates a confidential client (a public one cannot: 401).
    pub(crate) async fn authenticate_confidential(
        &self,
        headers: &HeaderMap,
        params: &mut HashMap<String, String>,
        addr: &[u8; 16],
    ) -> Result<Client, OAuthError> {
        match self
            .authenticate_client(headers, params, addr, PublicClients::Refused)
            .await
        {
            Err(e) if e.code == "unauthorized_client" => Err(OAuthError::invalid_client(
                "client authentication is required",
            )),
            other => other,
        }
    }

    /// Authenticates the client (RFC 6749 §2.3): Basic or form credentials,
    /// or, when `public` allows it, a public client's bare `client_id`.
    /// Failures are throttled per (client id, address) and per address.
    async fn authenticate_client(
        &self,
        headers: &HeaderMap,
        params: &mut HashMap<String, String>,
        addr: &[u8; 16],
        public: PublicClients,
    ) -> Result<Client, OAuthError> {
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
                (id, Some(secret))
            }
            (None, Some(id), secret) => (id, secret),
            (None, None, _) => {
                return Err(OAuthError::invalid_client(
                    "client authentication is required",
                ));
            }
        };
        let settings = &self.settings;
        let pair_rule = ThrottleRule::new(settings.max_failures, settings.failure_window);
        let addr_rule =
            ThrottleRule::new(settings.max_failures_per_address, settings.failure_window);
        let pair_key = throttle_key(&[b"token", client_id.as_bytes(), addr]);
        let addr_key = throttle_key(&[b"token-addr", addr]);
        let limited = match settings.throttle.check(&pair_key, pair_rule).await {
            Some(after) => Some(after),
            None => settings.throttle.check(&addr_key, addr_rule).await,
        };
        if let Some(after) = limited {
            telemetry::throttled("client_auth");
            return Err(OAuthError::throttled(after));
        }
        let lookup = self.clients.get(&client_id);
        let ok = match (&lookup, &secret) {
            // A public client has no secret to check; one that sends a
            // secret anyway is refused (it is not what was registered).
            (Some(c), None) => c.is_public() && public == PublicClients::Allowed,
            // A keyed digest (about a microsecond): the same work for unknown ids.
            (Some(c), Some(secret)) => c.verify_secret(secret),
            (None, secret) => {
                if let Some(d) = &self.dummy {
                    let _ = d.verify(secret.as_deref().unwrap_or("").as_bytes(), None);
                }
                false
            }
        };
        let client = match lookup {
            Some(c) if ok => c,
            Some(c) if c.is_public() && secret.is_none() => {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "a public client may not use this grant",
                ));
            }
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
        Ok(client)
    }
}

/// `application/x-www-form-urlencoded` parameters, refusing repeats (RFC 6749 §3.2).
fn not_found() -> Response<Bytes> {
    let mut res = Response::new(Bytes::new());
    *res.status_mut() = StatusCode::NOT_FOUND;
    res
}

pub(crate) fn form_params(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
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

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub(crate) fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if form {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}

impl TokenEndpoint {
    async fn issue_token(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
        grant_label: &mut &'static str,
    ) -> Result<Response<Bytes>, OAuthError> {
        require_form(headers)?;
        let mut params = form_params(body)?;
        // The grant is checked before the client, so that an unsupported
        // grant costs no secret check.
        let grant = match params.get("grant_type").map(String::as_str) {
            None => return Err(OAuthError::invalid_request("grant_type is required")),
            Some(g @ ("client_credentials" | "authorization_code" | "refresh_token")) => {
                *grant_label = match g {
                    "client_credentials" => "client_credentials",
                    "authorization_code" => "authorization_code",
                    _ => "refresh_token",
                };
                g.to_owned()
            }
            Some(_) => return Err(unsupported_grant()),
        };
        let flow = match (grant.as_str(), &self.settings.code_flow) {
            ("client_credentials", _) => None,
            (_, Some(flow)) => Some(flow),
            (_, None) => return Err(unsupported_grant()),
        };
        let public = if flow.is_some() {
            PublicClients::Allowed
        } else {
            PublicClients::Refused
        };
        let client = self
            .authenticate_client(headers, &mut params, addr, public)
            .await?;
        let jkt = self.dpop_proof(headers).await?;
        let jkt = jkt.as_deref();
        match (grant.as_str(), flow) {
            ("authorization_code", Some(flow)) => {
                flow.exchange_code(self, &client, &params, jkt).await
            }
            ("refresh_token", Some(flow)) => flow.refresh(self, &client, &params, jkt).await,
            _ => self.client_credentials(&client, &params, jkt),
        }
    }

    /// RFC 9449 §5: a `DPoP` proof sent to the token endpoint (method POST,
    /// `htu` the token endpoint under the issuer URL, no `ath`) binds the
    /// token to its key. `Ok(None)` without a proof; an invalid or replayed
    /// proof is `400 invalid_dpop_proof`.
    async fn dpop_proof(&self, headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
        use crate::dpop::proof::{self, ProofError, ProofTarget};
        let bad = |e: ProofError| OAuthError::invalid_dpop_proof(e.description());
        let Some(raw) = proof::proof_header(headers).map_err(bad)? else {
            return Ok(None);
        };
        let base = self.minter.issuer().trim_end_matches('/');
        let htu = crate::dpop::normalize_htu(&format!("{base}/oauth/token"))
            .ok_or(bad(ProofError::UnknownUri))?;
        let target = ProofTarget {
            method: "POST",
            htu: &htu,
            access_token: None,
        };
        let window = self.settings.dpop_iat_window;
        let verified = proof::verify(
            raw,
            &target,
            window.as_secs(),
            crate::dpop::DEFAULT_MAX_PROOF_BYTES,
            crate::jwt::now_secs(),
        )
        .map_err(bad)?;
        match self
            .settings
            .dpop_replay
            .insert(verified.replay, window.saturating_mul(2))
            .await
        {
            Ok(true) => Ok(Some(verified.jkt)),
            Ok(false) => Err(bad(ProofError::Replayed)),
            Err(_) => Err(OAuthError::unavailable(
                "the DPoP replay cache is unavailable",
            )),
        }
    }

    fn client_credentials(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
        jkt: Option<&str>,
    ) -> Result<Response<Bytes>, OAuthError> {
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
        let minted = self
            .minter
            .access_token(&AccessGrant {
                client_id: &client.id,
                account: &client.account,
                scope: &scope,
                lifetime: client.lifetime,
                jkt,
            })
            .map_err(|_| OAuthError::unavailable("cannot sign"))?;
        let body = serde_json::json!({
            "access_token": minted.token,
            "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": minted.expires_in,
            "scope": scope,
        });
        Ok(json_response(StatusCode::OK, &body))
    }
}

fn unsupported_grant() -> OAuthError {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "this grant type is not supported",
    )
}
