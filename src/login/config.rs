//! [`LoginConfig`]: where the authorization server is, who the app is, and
//! how the login's cookies are named; built in code or from OIDC discovery.

use super::LoginError;
use crate::config::{IssuerConfig, Secret};
use crate::session::DEFAULT_SESSION_TTL;
use std::fmt;
use std::time::Duration;

/// Default name of the short-lived pending-login cookie.
pub const DEFAULT_PENDING_COOKIE: &str = "tollgate_login";
/// Default name of the session cookie (prefixed `__Host-` when Secure).
pub const DEFAULT_SESSION_COOKIE: &str = "tollgate_session";
/// Largest discovery document read (bytes).
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// Configuration of an authorization-code login (see the [module docs](super)).
///
/// ```
/// use tollgate::login::LoginConfig;
/// let cfg = LoginConfig::new(
///     "https://auth.example/oauth/authorize",
///     "https://auth.example/oauth/token",
///     "shop-web",
///     "https://shop.example/callback",
/// )
/// .with_client_secret("a-long-client-secret")
/// .with_scopes(["openid", "orders:read"]);
/// assert!(!format!("{cfg:?}").contains("a-long-client-secret"));
/// assert_eq!(cfg.session_cookie_name(), "__Host-tollgate_session");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct LoginConfig {
    pub(crate) authorize_url: String,
    pub(crate) token_url: String,
    pub(crate) revocation_url: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) pending_cookie: String,
    pub(crate) session_cookie: String,
    pub(crate) session_lifetime: Duration,
    pub(crate) landing_path: String,
    pub(crate) id_token: Option<IssuerConfig>,
    pub(crate) http_timeout: Duration,
    pub(crate) revoke_timeout: Duration,
}

impl fmt::Debug for LoginConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginConfig")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("revocation_url", &self.revocation_url)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("pending_cookie", &self.pending_cookie_name())
            .field("session_cookie", &self.session_cookie_name())
            .field("session_lifetime", &self.session_lifetime)
            .field("landing_path", &self.landing_path)
            .field(
                "id_token_issuer",
                &self.id_token.as_ref().map(|i| &i.issuer),
            )
            .finish_non_exhaustive()
    }
}

impl LoginConfig {
    /// A public client (no secret) at `authorize_url` / `token_url`,
    /// redirected back to `redirect_uri` (the app's `/callback`, absolute).
    /// Scopes default to `openid`.
    pub fn new(
        authorize_url: impl Into<String>,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            authorize_url: authorize_url.into(),
            token_url: token_url.into(),
            revocation_url: None,
            issuer: None,
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            scopes: vec!["openid".into()],
            pending_cookie: DEFAULT_PENDING_COOKIE.into(),
            session_cookie: DEFAULT_SESSION_COOKIE.into(),
            session_lifetime: DEFAULT_SESSION_TTL,
            landing_path: "/".into(),
            id_token: None,
            http_timeout: Duration::from_secs(10),
            revoke_timeout: Duration::from_secs(3),
        }
    }

    /// Reads the OIDC discovery document of `issuer_url`
    /// (`<issuer>/.well-known/openid-configuration`): the authorize, token
    /// and revocation endpoints, and the issuer and `jwks_uri` with which ID
    /// tokens are verified (audience `client_id`). The document's `issuer`
    /// must equal `issuer_url` exactly (OIDC Discovery §4.3). Plain `http`
    /// is accepted only on loopback.
    pub async fn discover(
        issuer_url: &str,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Result<Self, LoginError> {
        let cfg_err = |m: &str| LoginError::Config(m.to_owned());
        let base = url::Url::parse(issuer_url).map_err(|_| cfg_err("the issuer is not a URL"))?;
        check_endpoint(&base)?;
        let doc_url = format!(
            "{}/.well-known/openid-configuration",
            issuer_url.trim_end_matches('/')
        );
        let client = super::http_client::build(Duration::from_secs(10))?;
        let resp = client
            .get(&doc_url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| LoginError::Upstream(format!("discovery: {}", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(LoginError::Upstream(format!(
                "discovery answered {}",
                resp.status().as_u16()
            )));
        }
        let body = super::http_client::read_capped(resp, MAX_DISCOVERY_BYTES)
            .await
            .map_err(|e| LoginError::Upstream(format!("discovery: {e}")))?;
        #[derive(serde::Deserialize)]
        struct Doc {
            issuer: String,
            authorization_endpoint: String,
            token_endpoint: String,
            revocation_endpoint: Option<String>,
            jwks_uri: Option<String>,
        }
        let doc: Doc = serde_json::from_slice(&body)
            .map_err(|_| LoginError::Upstream("discovery: not a discovery document".into()))?;
        if doc.issuer != issuer_url {
            return Err(LoginError::Upstream(
                "discovery: the document names another issuer".into(),
            ));
        }
        for u in [&doc.authorization_endpoint, &doc.token_endpoint]
            .into_iter()
            .chain(doc.revocation_endpoint.as_ref())
            .chain(doc.jwks_uri.as_ref())
        {
            let parsed = url::Url::parse(u)
                .map_err(|_| LoginError::Upstream("discovery: an endpoint is not a URL".into()))?;
            check_endpoint(&parsed)?;
        }
        let client_id = client_id.into();
        let mut cfg = Self::new(
            doc.authorization_endpoint,
            doc.token_endpoint,
            client_id.clone(),
            redirect_uri,
        );
        cfg.revocation_url = doc.revocation_endpoint;
        cfg.issuer = Some(doc.issuer.clone());
        cfg.id_token = doc.jwks_uri.map(|jwks| {
            IssuerConfig::new(doc.issuer)
                .audience(client_id)
                .jwks_url(jwks)
        });
        Ok(cfg)
    }

    /// Sets the client secret (confidential clients; sent with HTTP Basic).
    pub fn with_client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret::new(secret));
        self
    }

    /// Sets the RFC 7009 revocation endpoint (used at logout).
    pub fn with_revocation_url(mut self, url: impl Into<String>) -> Self {
        self.revocation_url = Some(url.into());
        self
    }

    /// Sets the authorization server's issuer identifier: a callback's `iss`
    /// parameter (RFC 9207) must then equal it.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the requested scopes (default `openid`).
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the pending-login cookie's base name (default `tollgate_login`).
    pub fn with_pending_cookie(mut self, name: impl Into<String>) -> Self {
        self.pending_cookie = name.into();
        self
    }

    /// Sets the session cookie's base name (default `tollgate_session`);
    /// see [`session_cookie_name`](Self::session_cookie_name).
    pub fn with_session_cookie(mut self, name: impl Into<String>) -> Self {
        self.session_cookie = name.into();
        self
    }

    /// Sets the lifetime of the sessions created at login (default 24 h).
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// Sets where the callback redirects after a login (default `/`; a
    /// local path).
    pub fn with_landing_path(mut self, path: impl Into<String>) -> Self {
        self.landing_path = path.into();
        self
    }

    /// Verifies ID tokens against `issuer` (its keys, `iss`, and an audience
    /// that must be this client's id). Set by [`discover`](Self::discover).
    /// Without it, an ID token's `nonce` and `sub` are still checked, but
    /// its signature is not (it came straight from the token endpoint over
    /// TLS, OIDC Core §3.1.3.7).
    pub fn with_id_token_issuer(mut self, issuer: IssuerConfig) -> Self {
        self.id_token = Some(issuer);
        self
    }

    /// Sets the timeout of calls to the token endpoint (default 10 s).
    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Sets how long logout waits for the revocation endpoint (default 3 s).
    pub fn with_revoke_timeout(mut self, timeout: Duration) -> Self {
        self.revoke_timeout = timeout;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Whether cookies are marked `Secure`: always, except when the app is
    /// served over plain `http` on loopback (development).
    pub fn secure_cookies(&self) -> bool {
        !url::Url::parse(&self.redirect_uri).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u))
    }

    /// The session cookie's name as set at callback: `__Host-<name>` when
    /// cookies are Secure, the plain name on loopback `http`. Give this to
    /// the app's [`SessionSources`](crate::SessionSources) `cookie`.
    pub fn session_cookie_name(&self) -> String {
        self.cookie_name(&self.session_cookie)
    }

    /// The pending-login cookie's name (same prefix rule).
    pub fn pending_cookie_name(&self) -> String {
        self.cookie_name(&self.pending_cookie)
    }

    fn cookie_name(&self, base: &str) -> String {
        if self.secure_cookies() {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }
}

/// `http` loopback hosts: `localhost`, `127.0.0.0/8`, `::1`.
pub(crate) fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An endpoint must be `https`, or `http` on loopback.
pub(crate) fn check_endpoint(u: &url::Url) -> Result<(), LoginError> {
    match u.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(u) => Ok(()),
        _ => Err(LoginError::Config(format!(
            "{} must be https (http only on loopback)",
            u.origin().ascii_serialization()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let c = LoginConfig::new("https://a/x", "https://a/t", "c", "https://app/cb")
            .with_client_secret("s3cr3t-value");
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn cookie_names_follow_the_transport() {
        let c = LoginConfig::new("https://a/x", "https://a/t", "c", "https://app/cb");
        assert!(c.secure_cookies());
        assert_eq!(c.session_cookie_name(), "__Host-tollgate_session");
        for local in [
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]/cb",
        ] {
            let c = LoginConfig::new("https://a/x", "https://a/t", "c", local);
            assert!(!c.secure_cookies(), "{local}");
            assert_eq!(c.session_cookie_name(), "tollgate_session");
        }
        let c = LoginConfig::new("https://a/x", "https://a/t", "c", "http://app.example/cb");
        assert!(c.secure_cookies());
    }
}
