//! [`CredentialSources`]: where bearer tokens are read from, and the
//! app-written [`CustomSource`].

use super::syntax::is_tchar;
use super::{DEFAULT_MAX_TOKEN_BYTES, RequestParts};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Where bearer tokens are read from. Cookie and query sources are off
/// unless configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CredentialSources {
    /// Read `Authorization: Bearer` (default on).
    pub authorization_header: bool,
    /// Read the bearer token from this cookie, if set.
    pub cookie: Option<String>,
    /// Read the bearer token from this query parameter (RFC 6750 §2.3 uses
    /// `access_token`), if set. Tokens in URLs end up in logs: avoid.
    pub query_parameter: Option<String>,
    /// Largest token accepted, in bytes (default 8 KiB). Larger tokens are
    /// refused with `invalid_token` before any parsing.
    pub max_token_bytes: usize,
    /// Read the bearer token from this header too (for example
    /// `X-Api-Key`): the bare token, or `Bearer <token>`.
    pub header: Option<String>,
    /// Read the bearer token from the `Sec-WebSocket-Protocol` offer of a
    /// browser websocket: the subprotocol value that starts with this prefix
    /// (for example `bearer.` in `Sec-WebSocket-Protocol: chat.v1,
    /// bearer.eyJ…`) carries the token. Browsers cannot set other headers on
    /// a websocket; the server must still choose (echo) one of the *other*
    /// offered protocols, as axum's `WebSocketUpgrade::protocols` does.
    pub websocket_protocol_prefix: Option<String>,
    /// A function of yours that finds a bearer token (set in code only).
    #[serde(skip)]
    pub custom: Option<CustomSource>,
}

/// What a [`CustomSource`] found on a request.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// A bearer token (checked and verified like any other).
    Bearer(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(******)"),
        }
    }
}

type CustomFn = dyn Fn(&dyn RequestParts) -> Option<Credential> + Send + Sync;

/// A credential source written by the app: a function from the request to
/// an optional [`Credential`]. Its result goes through the same size cap,
/// token syntax and one-source-only rule as the built-in sources.
#[derive(Clone)]
pub struct CustomSource(pub(super) Arc<CustomFn>);

impl CustomSource {
    /// Wraps `f`.
    pub fn new(
        f: impl Fn(&dyn RequestParts) -> Option<Credential> + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(f))
    }
}

impl fmt::Debug for CustomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomSource(..)")
    }
}

impl PartialEq for CustomSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CustomSource {}

impl Default for CredentialSources {
    fn default() -> Self {
        Self {
            authorization_header: true,
            cookie: None,
            query_parameter: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            header: None,
            websocket_protocol_prefix: None,
            custom: None,
        }
    }
}

impl CredentialSources {
    /// Sets whether `Authorization: Bearer` is read.
    #[must_use]
    pub fn with_authorization_header(mut self, enabled: bool) -> Self {
        self.authorization_header = enabled;
        self
    }

    /// Reads the bearer token from this cookie.
    #[must_use]
    pub fn with_cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookie = Some(cookie.into());
        self
    }

    /// Reads the bearer token from this query parameter (tokens in URLs end up in logs: avoid).
    #[must_use]
    pub fn with_query_parameter(mut self, query_parameter: impl Into<String>) -> Self {
        self.query_parameter = Some(query_parameter.into());
        self
    }

    /// Reads the bearer token from this header too (bare, or `Bearer <token>`).
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>) -> Self {
        self.header = Some(name.into());
        self
    }

    /// Reads the bearer token from the `Sec-WebSocket-Protocol` value that
    /// starts with `prefix` (for example `bearer.`).
    #[must_use]
    pub fn with_websocket_protocol_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.websocket_protocol_prefix = Some(prefix.into());
        self
    }

    /// Reads the bearer token with a function of yours.
    #[must_use]
    pub fn with_custom(
        mut self,
        f: impl Fn(&dyn RequestParts) -> Option<Credential> + Send + Sync + 'static,
    ) -> Self {
        self.custom = Some(CustomSource::new(f));
        self
    }

    /// Sets the largest token accepted, in bytes.
    #[must_use]
    pub fn with_max_token_bytes(mut self, max_token_bytes: usize) -> Self {
        self.max_token_bytes = max_token_bytes;
        self
    }
}

impl CredentialSources {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_token_bytes == 0 {
            return Err("credentials.max_token_bytes must be greater than zero".into());
        }
        if !self.authorization_header
            && self.cookie.is_none()
            && self.query_parameter.is_none()
            && self.header.is_none()
            && self.websocket_protocol_prefix.is_none()
            && self.custom.is_none()
        {
            return Err("no credential source is enabled".into());
        }
        if let Some(h) = &self.header {
            let lower = h.to_ascii_lowercase();
            if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                return Err(format!(
                    "credentials.header {h:?} is not a valid header name"
                ));
            }
            if matches!(
                lower.as_str(),
                "authorization" | "cookie" | "dpop" | "sec-websocket-protocol"
            ) {
                return Err(format!(
                    "credentials.header {h:?} is read by another source already"
                ));
            }
        }
        if let Some(p) = &self.websocket_protocol_prefix
            && (p.is_empty() || !p.bytes().all(is_tchar))
        {
            return Err(format!(
                "credentials.websocket_protocol_prefix {p:?} must be a non-empty token"
            ));
        }
        for (what, name) in [
            ("cookie", &self.cookie),
            ("query parameter", &self.query_parameter),
        ] {
            if let Some(name) = name
                && (name.is_empty() || !name.bytes().all(is_tchar))
            {
                return Err(format!("{what} name {name:?} is not a valid token"));
            }
        }
        Ok(())
    }
}
