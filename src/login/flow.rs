//! [`LoginFlow`]: the shared state of the login routes, its builder and
//! configuration checks, and the oauth2 client it drives. The handlers live
//! in `callback.rs`, `verify.rs`, `refresh.rs`, `logout.rs`, `response.rs`.

use super::config::{LoginConfig, check_endpoint};
use super::error::error_code;
use super::http_client::{OAuthHttp, build as build_http};
use super::pending::{MemoryPendingLogins, PendingLogins};
use super::vault::{MemoryTokenVault, TokenVault};
use super::{LoginError, cookies};
use crate::Authenticator;
use crate::session::SessionStore;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, RedirectUrl,
    RequestTokenError, RevocationUrl, StandardRevocableToken, TokenUrl,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// An access token is refreshed when it expires within this margin (30 s).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Refresh single-flight stripes (per process).
pub(super) const REFRESH_STRIPES: usize = 64;

/// The token response's extra field: the OIDC ID token.
#[derive(Clone, serde::Deserialize, serde::Serialize)]
pub(super) struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id_token: Option<String>,
}

impl fmt::Debug for IdTokenFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenFields")
            .field("id_token", &self.id_token.as_ref().map(|_| "******"))
            .finish()
    }
}

impl oauth2::ExtraTokenFields for IdTokenFields {}

pub(super) type TokenResponse = oauth2::StandardTokenResponse<IdTokenFields, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

/// The login flow: cheap to clone, shared by the routes. See the
/// [module docs](super).
#[derive(Clone)]
pub struct LoginFlow {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) config: LoginConfig,
    pub(super) oauth: OAuthClient,
    pub(super) http: OAuthHttp,
    pub(super) authenticator: Arc<Authenticator>,
    pub(super) id_tokens: Option<Authenticator>,
    pub(super) sessions: Arc<dyn SessionStore>,
    pub(super) pending: Arc<dyn PendingLogins>,
    pub(super) vault: Arc<dyn TokenVault>,
    pub(super) refresh_locks: Box<[tokio::sync::Mutex<()>]>,
    pub(super) secure: bool,
    pub(super) pending_cookie: String,
    pub(super) session_cookie: String,
    pub(super) origin: String,
}

impl fmt::Debug for LoginFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginFlow")
            .field("config", &self.inner.config)
            .field("pending", &self.inner.pending)
            .field("vault", &self.inner.vault)
            .finish_non_exhaustive()
    }
}

/// Builds a [`LoginFlow`] with other stores than the in-memory ones.
#[derive(Debug)]
#[must_use]
pub struct LoginFlowBuilder {
    config: LoginConfig,
    authenticator: Arc<Authenticator>,
    sessions: Arc<dyn SessionStore>,
    pending: Option<Arc<dyn PendingLogins>>,
    vault: Option<Arc<dyn TokenVault>>,
}

impl LoginFlowBuilder {
    /// Where pending logins are kept (default: [`MemoryPendingLogins`]).
    pub fn pending_logins(mut self, store: Arc<dyn PendingLogins>) -> Self {
        self.pending = Some(store);
        self
    }

    /// Where upstream tokens are kept (default: [`MemoryTokenVault`]).
    pub fn token_vault(mut self, vault: Arc<dyn TokenVault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Checks the configuration and builds the flow.
    pub fn build(self) -> Result<LoginFlow, LoginError> {
        let c = self.config;
        let bad = |what: &str| LoginError::Config(format!("{what} is not a valid URL"));
        let auth_url = AuthUrl::new(c.authorize_url.clone()).map_err(|_| bad("authorize_url"))?;
        let token_url = TokenUrl::new(c.token_url.clone()).map_err(|_| bad("token_url"))?;
        let redirect = RedirectUrl::new(c.redirect_uri.clone()).map_err(|_| bad("redirect_uri"))?;
        let revocation = c
            .revocation_url
            .clone()
            .map(RevocationUrl::new)
            .transpose()
            .map_err(|_| bad("revocation_url"))?;
        for u in [auth_url.url(), token_url.url(), redirect.url()]
            .into_iter()
            .chain(revocation.as_ref().map(|r| r.url()))
        {
            check_endpoint(u)?;
        }
        if c.client_id.is_empty() {
            return Err(LoginError::Config("client_id is empty".into()));
        }
        if !c.landing_path.starts_with('/') || c.landing_path.starts_with("//") {
            return Err(LoginError::Config(
                "landing_path must be a local path (`/…`)".into(),
            ));
        }
        let (pending_cookie, session_cookie) = (c.pending_cookie_name(), c.session_cookie_name());
        if !cookies::valid_name(&pending_cookie) || !cookies::valid_name(&session_cookie) {
            return Err(LoginError::Config(
                "a cookie name is not a cookie token".into(),
            ));
        }
        if pending_cookie == session_cookie {
            return Err(LoginError::Config(
                "the pending and session cookies need different names".into(),
            ));
        }
        let mut oauth = oauth2::Client::new(ClientId::new(c.client_id.clone()))
            .set_auth_uri(auth_url)
            .set_token_uri(token_url)
            .set_redirect_uri(redirect.clone())
            .set_revocation_url_option(revocation);
        if let Some(secret) = &c.client_secret {
            let secret = String::from_utf8_lossy(secret.as_bytes()).into_owned();
            oauth = oauth.set_client_secret(ClientSecret::new(secret));
        }
        let id_tokens = match &c.id_token {
            None => None,
            Some(issuer) => {
                let mut builder = Authenticator::builder().issuer(issuer.clone());
                let loopback_http = issuer.keys.iter().any(|k| match k {
                    crate::KeySource::JwksUrl { url } => url::Url::parse(url)
                        .is_ok_and(|u| u.scheme() == "http" && super::config::is_loopback(&u)),
                    _ => false,
                });
                if loopback_http {
                    builder = builder.remote_keys(crate::RemoteKeySettings {
                        allow_insecure_http: true,
                        ..crate::RemoteKeySettings::default()
                    });
                }
                Some(
                    builder
                        .build()
                        .map_err(|e| LoginError::Config(format!("ID token verification: {e}")))?,
                )
            }
        };
        let secure = c.secure_cookies();
        let origin = redirect.url().origin().ascii_serialization();
        Ok(LoginFlow {
            inner: Arc::new(Inner {
                http: OAuthHttp(build_http(c.http_timeout)?),
                oauth,
                authenticator: self.authenticator,
                id_tokens,
                sessions: self.sessions,
                pending: self
                    .pending
                    .unwrap_or_else(|| Arc::new(MemoryPendingLogins::default())),
                vault: self
                    .vault
                    .unwrap_or_else(|| Arc::new(MemoryTokenVault::default())),
                refresh_locks: (0..REFRESH_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
                secure,
                pending_cookie,
                session_cookie,
                origin,
                config: c,
            }),
        })
    }
}

impl LoginFlow {
    /// A flow with in-memory pending logins and token vault.
    pub fn new(
        config: LoginConfig,
        authenticator: Arc<Authenticator>,
        sessions: Arc<dyn SessionStore>,
    ) -> Result<Self, LoginError> {
        Self::builder(config, authenticator, sessions).build()
    }

    /// A builder, to choose the stores (e.g. Redis ones).
    pub fn builder(
        config: LoginConfig,
        authenticator: Arc<Authenticator>,
        sessions: Arc<dyn SessionStore>,
    ) -> LoginFlowBuilder {
        LoginFlowBuilder {
            config,
            authenticator,
            sessions,
            pending: None,
            vault: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LoginConfig {
        &self.inner.config
    }

    /// The session cookie's name (see [`LoginConfig::session_cookie_name`]).
    pub fn session_cookie_name(&self) -> &str {
        &self.inner.session_cookie
    }
}

pub(super) fn token_error<E: std::error::Error>(
    e: RequestTokenError<E, BasicErrorResponse>,
) -> LoginError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            LoginError::TokenEndpoint(error_code(r.error().as_ref()))
        }
        RequestTokenError::Request(e) => LoginError::Upstream(format!("token endpoint: {e}")),
        RequestTokenError::Parse(..) => {
            LoginError::Upstream("the token response is malformed".into())
        }
        RequestTokenError::Other(_) => {
            LoginError::Upstream("the token endpoint answered unexpectedly".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionId;

    fn assert_send<T: Send>(_: &T) {}

    #[allow(dead_code)]
    fn the_flow_futures_are_send(flow: &LoginFlow, parts: &http::request::Parts, sid: &SessionId) {
        assert_send(&flow.login(parts));
        assert_send(&flow.callback(parts));
        assert_send(&flow.logout(parts));
        assert_send(&flow.access_token(sid));
    }
}
