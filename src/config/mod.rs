//! Configuration, deserializable with serde so it can come from a file or
//! the environment, and checked when the [`Authenticator`](crate::Authenticator)
//! is built.
//!
//! ```
//! let cfg: tollgate::AuthConfig = serde_json::from_str(r#"{
//!     "issuers": [{
//!         "issuer": "https://auth.example.com/",
//!         "audiences": ["orders-api"],
//!         "keys": [{ "type": "jwks_url", "url": "https://auth.example.com/.well-known/jwks.json" }],
//!         "typ": "at+jwt"
//!     }],
//!     "claims": { "scope": "scp", "account": "tenant" },
//!     "expired_status": 498
//! }"#).unwrap();
//! let auth = tollgate::Authenticator::from_config(cfg).unwrap();
//! # let _ = auth;
//! ```

use crate::credentials::CredentialSources;
use crate::jwt::RemoteKeySettings;
use crate::scope::ScopeRules;
use serde::{Deserialize, Serialize};

mod claims;
mod customer;
mod error;
mod issuer;
mod sessions;
mod values;

pub use claims::ClaimNames;
pub use customer::{CustomerTokenConfig, TokenMarker};
pub use error::{ConfigError, ConfigErrorKind};
pub use issuer::{IssuerConfig, KeySource, MAX_LEEWAY_SECS};
pub use sessions::SessionSources;
pub use values::{CryptoBackend, ExpiredStatus, Secret};

/// The whole configuration of an [`Authenticator`](crate::Authenticator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Realm in `WWW-Authenticate` (default `tollgate`).
    pub realm: String,
    /// Trusted issuers; the unverified `iss` picks one, then everything is verified.
    pub issuers: Vec<IssuerConfig>,
    /// Where credentials are read from.
    pub credentials: CredentialSources,
    /// How scopes are parsed and matched.
    pub scopes: ScopeRules,
    /// Which claims hold account, client id and scopes.
    pub claims: ClaimNames,
    /// Status for expired tokens (default 401; some platforms' clients expect 498).
    pub expired_status: ExpiredStatus,
    /// Timing of remote key sources.
    pub remote_keys: RemoteKeySettings,
    /// Let CORS preflight requests (`OPTIONS` with
    /// `Access-Control-Request-Method` and no credential attached) through
    /// unauthenticated, without an `AuthContext` (default off). Prefer
    /// tower-http's `CorsLayer` *outside* the auth layer: it answers
    /// preflights itself, so nothing behind the auth layer ever sees one.
    pub allow_cors_preflight: bool,
    /// The crypto backend.
    pub crypto_backend: CryptoBackend,
    /// Customer tokens (off unless configured).
    pub customer_tokens: Option<CustomerTokenConfig>,
    /// Where session IDs are read from, once a session store is set.
    pub sessions: SessionSources,
    /// The verified-token cache (on by default).
    pub token_cache: crate::jwt::TokenCacheSettings,
    /// Header naming what writes are attributed to (e.g. `X-Attribution`); off unless set.
    pub attribution_header: Option<String>,
    /// DPoP (RFC 9449) sender-constrained tokens: policy (`off`, `allowed`
    /// by default, `required`), `iat` window, external URL; see
    /// [`crate::dpop`].
    pub dpop: crate::dpop::DpopConfig,
    /// Certificate-bound tokens (RFC 8705): where a trusted proxy puts the
    /// client certificate (off unless set); see [`crate::mtls`].
    pub mtls: crate::mtls::MtlsConfig,
    /// Opaque (non-JWT) access tokens are introspected here (RFC 7662);
    /// JWTs are still verified locally. Off unless set.
    pub introspection: Option<crate::IntrospectionSettings>,
    /// How refusal bodies look: `json` (default), `problem` (RFC 9457) or
    /// `empty`; see [`crate::render`] for a renderer of your own.
    pub error_format: crate::render::ErrorFormat,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            realm: crate::error::DEFAULT_REALM.into(),
            issuers: Vec::new(),
            credentials: CredentialSources::default(),
            scopes: ScopeRules::default(),
            claims: ClaimNames::default(),
            expired_status: ExpiredStatus::Status401,
            remote_keys: RemoteKeySettings::default(),
            allow_cors_preflight: false,
            crypto_backend: CryptoBackend::default(),
            customer_tokens: None,
            sessions: SessionSources::default(),
            token_cache: crate::jwt::TokenCacheSettings::default(),
            attribution_header: None,
            dpop: crate::dpop::DpopConfig::default(),
            mtls: crate::mtls::MtlsConfig::default(),
            introspection: None,
            error_format: crate::render::ErrorFormat::Json,
        }
    }
}

impl AuthConfig {
    /// Sets the DPoP settings (see [`crate::dpop`]).
    #[must_use]
    pub fn with_dpop(mut self, dpop: crate::dpop::DpopConfig) -> Self {
        self.dpop = dpop;
        self
    }

    /// Sets the certificate-bound token settings (see [`crate::mtls`]).
    #[must_use]
    pub fn with_mtls(mut self, mtls: crate::mtls::MtlsConfig) -> Self {
        self.mtls = mtls;
        self
    }

    /// Introspects opaque access tokens at an RFC 7662 endpoint.
    #[must_use]
    pub fn with_introspection(mut self, settings: crate::IntrospectionSettings) -> Self {
        self.introspection = Some(settings);
        self
    }

    /// Picks a built-in error body format.
    #[must_use]
    pub fn with_error_format(mut self, format: crate::render::ErrorFormat) -> Self {
        self.error_format = format;
        self
    }

    /// Sets the realm in `WWW-Authenticate`.
    #[must_use]
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Sets the trusted issuers.
    #[must_use]
    pub fn with_issuers(mut self, issuers: impl IntoIterator<Item = IssuerConfig>) -> Self {
        self.issuers = issuers.into_iter().collect();
        self
    }

    /// Adds a trusted issuer.
    #[must_use]
    pub fn with_issuer(mut self, issuer: IssuerConfig) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Sets where credentials are read from.
    #[must_use]
    pub fn with_credentials(mut self, credentials: CredentialSources) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets how scopes are parsed and matched.
    #[must_use]
    pub fn with_scopes(mut self, scopes: ScopeRules) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets which claims hold account, client id and scopes.
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimNames) -> Self {
        self.claims = claims;
        self
    }

    /// Sets the status for expired tokens.
    #[must_use]
    pub fn with_expired_status(mut self, status: ExpiredStatus) -> Self {
        self.expired_status = status;
        self
    }

    /// Sets the timing of remote key sources.
    #[must_use]
    pub fn with_remote_keys(mut self, remote_keys: RemoteKeySettings) -> Self {
        self.remote_keys = remote_keys;
        self
    }

    /// Sets whether CORS preflight requests pass unauthenticated.
    #[must_use]
    pub fn with_allow_cors_preflight(mut self, allow: bool) -> Self {
        self.allow_cors_preflight = allow;
        self
    }

    /// Sets the crypto backend.
    #[must_use]
    pub fn with_crypto_backend(mut self, backend: CryptoBackend) -> Self {
        self.crypto_backend = backend;
        self
    }

    /// Turns customer tokens on with these settings.
    #[must_use]
    pub fn with_customer_tokens(mut self, customer_tokens: CustomerTokenConfig) -> Self {
        self.customer_tokens = Some(customer_tokens);
        self
    }

    /// Sets where session IDs are read from.
    #[must_use]
    pub fn with_sessions(mut self, sessions: SessionSources) -> Self {
        self.sessions = sessions;
        self
    }

    /// Sets the verified-token cache settings.
    #[must_use]
    pub fn with_token_cache(mut self, token_cache: crate::jwt::TokenCacheSettings) -> Self {
        self.token_cache = token_cache;
        self
    }

    /// Sets the header naming what writes are attributed to.
    #[must_use]
    pub fn with_attribution_header(mut self, header: impl Into<String>) -> Self {
        self.attribution_header = Some(header.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_status_has_two_legal_values() {
        for (code, want) in [
            (401, ExpiredStatus::Status401),
            (498, ExpiredStatus::Status498),
        ] {
            let s: ExpiredStatus = serde_json::from_str(&code.to_string()).unwrap();
            assert_eq!(s, want);
            assert_eq!(s.status().as_u16(), code);
            assert_eq!(serde_json::to_string(&s).unwrap(), code.to_string());
        }
        for bad in ["200", "403", "499", "\"498\""] {
            assert!(serde_json::from_str::<ExpiredStatus>(bad).is_err(), "{bad}");
        }
        assert!(ExpiredStatus::try_from(440).is_err());
    }

    #[test]
    fn secrets_never_serialize_in_clear_and_the_marker_never_loads() {
        let cfg = AuthConfig {
            issuers: vec![
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret("super-secret-hmac-key-material-0123456789"),
            ],
            ..AuthConfig::default()
        };
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(!json.contains("super-secret"), "{json}");
        assert!(json.contains(Secret::REDACTED), "{json}");
        let err = serde_json::from_str::<AuthConfig>(&json).unwrap_err();
        assert!(err.to_string().contains("redacted"), "{err}");
        let ok: Secret = serde_json::from_str("\"another-secret\"").unwrap();
        assert_eq!(ok.as_bytes(), b"another-secret");
        assert_eq!(format!("{ok:?}"), "Secret(******)");
    }
}
