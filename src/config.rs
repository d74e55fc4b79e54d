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
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A configuration mistake, reported when the authenticator is built.
///
/// [`kind`](Self::kind) says what sort of mistake it is; the message
/// (`Display`) says exactly what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tollgate configuration: {msg}")]
pub struct ConfigError {
    kind: ConfigErrorKind,
    msg: String,
}

/// What sort of mistake a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// No issuer is configured, or an issuer lacks what it needs (its
    /// `issuer`, an audience, a key source).
    NoIssuer,
    /// A key (PEM, JWK, JWKS, secret) cannot be used.
    InvalidKey,
    /// An algorithm name is unknown, or an algorithm does not fit its key.
    InvalidAlgorithm,
    /// A claim name is empty or otherwise unusable.
    InvalidClaimName,
    /// A header name is not a valid HTTP header name.
    InvalidHeaderName,
    /// A URL is unparsable or not allowed (plain `http`, another scheme).
    InvalidUrl,
    /// The configuration asks for something a Cargo feature that is off
    /// provides (a JWKS URL without `remote`, for example).
    FeatureMissing,
    /// Any other invalid setting.
    Invalid,
}

impl ConfigError {
    /// A mistake of kind [`ConfigErrorKind::Invalid`].
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self::with_kind(ConfigErrorKind::Invalid, msg)
    }

    pub(crate) fn with_kind(kind: ConfigErrorKind, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
        }
    }

    /// `what` needs the Cargo feature `feature`, which is off.
    #[cfg_attr(feature = "remote", allow(dead_code))]
    pub(crate) fn feature_missing(what: impl fmt::Display, feature: &str) -> Self {
        Self::with_kind(
            ConfigErrorKind::FeatureMissing,
            format!("{what} needs the `{feature}` feature"),
        )
    }

    /// What sort of mistake this is.
    #[must_use]
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

/// Which `jsonwebtoken` crypto backend verifies signatures.
///
/// It is installed explicitly when the authenticator is built, so a build
/// where Cargo feature unification enabled both (or neither) backend fails
/// there with a clear error instead of panicking at the first request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CryptoBackend {
    /// aws-lc-rs (feature `aws_lc_rs`, default): about 9× faster RS256 here.
    #[default]
    AwsLcRs,
    /// RustCrypto (feature `rust_crypto`): pure Rust.
    RustCrypto,
}

/// A secret whose bytes never appear in `Debug` output or in serialized
/// configuration: it serializes as [`Secret::REDACTED`], and loading that
/// marker back is refused, so a dumped configuration can never be reloaded
/// with a placeholder silently standing in for the real secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// What a secret serializes as.
    pub const REDACTED: &'static str = "<redacted>";
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Self::REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == Self::REDACTED {
            return Err(serde::de::Error::custom(
                "a redacted secret cannot be loaded: supply the real secret",
            ));
        }
        Ok(Self(s))
    }
}

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(******)")
    }
}

/// The status for expired tokens: 401 (RFC 6750, the default) or 498, which
/// some platforms' clients expect. Nothing else is legal, so nothing else can
/// be configured. Serialized as the number; a file saying anything but 401
/// or 498 is refused when it is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiredStatus {
    /// 401 with `error="invalid_token"` (RFC 6750 §3.1).
    #[default]
    Status401,
    /// 498 ("token expired/invalid", used by some commerce platforms).
    Status498,
}

impl ExpiredStatus {
    /// The HTTP status.
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::Status401 => http::StatusCode::UNAUTHORIZED,
            Self::Status498 => {
                http::StatusCode::from_u16(498).unwrap_or(http::StatusCode::UNAUTHORIZED)
            }
        }
    }
}

impl TryFrom<u16> for ExpiredStatus {
    type Error = ConfigError;
    fn try_from(code: u16) -> Result<Self, ConfigError> {
        match code {
            401 => Ok(Self::Status401),
            498 => Ok(Self::Status498),
            other => Err(ConfigError::new(format!(
                "expired_status must be 401 or 498, not {other}"
            ))),
        }
    }
}

impl Serialize for ExpiredStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.status().as_u16())
    }
}

impl<'de> Deserialize<'de> for ExpiredStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = u16::deserialize(d)?;
        Self::try_from(code).map_err(serde::de::Error::custom)
    }
}

/// Where an issuer's verification keys come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum KeySource {
    /// A shared HMAC secret (`HS256` unless `algorithm` says otherwise).
    /// RFC 7518 §3.2 requires at least as many bytes as the hash output;
    /// shorter secrets are refused unless `allow_short` is set.
    HmacSecret {
        /// The secret.
        secret: Secret,
        /// `HS256`, `HS384` or `HS512`.
        #[serde(default)]
        algorithm: Option<Algorithm>,
        /// Accept a secret shorter than RFC 7518 requires (demo use only).
        #[serde(default)]
        allow_short: bool,
    },
    /// A PEM public key bound to one algorithm.
    PublicKeyPem {
        /// The PEM text (`PUBLIC KEY` or `RSA PUBLIC KEY`).
        pem: String,
        /// The algorithm this key verifies.
        algorithm: Algorithm,
        /// Optional key id; tokens with another `kid` do not use this key.
        #[serde(default)]
        kid: Option<String>,
    },
    /// A DER public key (base64, standard alphabet) bound to one algorithm:
    /// PKCS#1 for RSA, the uncompressed point for EC, the raw 32 bytes for Ed25519.
    PublicKeyDer {
        /// The DER bytes, base64-encoded.
        der_base64: String,
        /// The algorithm this key verifies.
        algorithm: Algorithm,
        /// Optional key id.
        #[serde(default)]
        kid: Option<String>,
    },
    /// An inline JWKS document.
    Jwks {
        /// The document (`{"keys": [...]}`).
        jwks: serde_json::Value,
    },
    /// A remote JWKS URL, cached and refreshed.
    JwksUrl {
        /// The URL.
        url: String,
    },
    /// OIDC discovery from the issuer URL.
    Discovery,
}

/// Which claims hold the context's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ClaimNames {
    /// The account (tenant) claim (default `account_id`).
    pub account: String,
    /// The client id claim: `client_id` (default), `azp` or `sub`.
    pub client_id: String,
    /// The scope claim (default `scope`): a space-delimited string or an array.
    pub scope: String,
    /// The customer claim of an access token issued through a customer's
    /// login (authorization code; default `customer_id`). A token that has
    /// it is customer-scoped: [`AuthContext::ensure_customer`](crate::AuthContext::ensure_customer)
    /// holds it to that customer.
    pub customer: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            account: "account_id".into(),
            client_id: "client_id".into(),
            scope: "scope".into(),
            customer: "customer_id".into(),
        }
    }
}

impl ClaimNames {
    /// Sets the account (tenant) claim.
    #[must_use]
    pub fn with_account(mut self, claim: impl Into<String>) -> Self {
        self.account = claim.into();
        self
    }

    /// Sets the client id claim (`client_id`, `azp` or `sub`).
    #[must_use]
    pub fn with_client_id(mut self, claim: impl Into<String>) -> Self {
        self.client_id = claim.into();
        self
    }

    /// Sets the scope claim.
    #[must_use]
    pub fn with_scope(mut self, claim: impl Into<String>) -> Self {
        self.scope = claim.into();
        self
    }

    /// Sets the customer claim of customer-scoped access tokens.
    #[must_use]
    pub fn with_customer(mut self, claim: impl Into<String>) -> Self {
        self.customer = claim.into();
        self
    }
}

/// One trusted issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted audiences; a token's `aud` must contain one.
    pub audiences: Vec<String>,
    /// Key sources (static sources and at most one remote source).
    pub keys: Vec<KeySource>,
    /// Algorithm allow-list; defaults to what the keys allow. In a file,
    /// the JOSE names (`["RS256", "ES256"]`); an unknown name is refused
    /// when the configuration is read.
    #[serde(default)]
    pub algorithms: Option<Vec<Algorithm>>,
    /// Required `typ` header (e.g. `at+jwt`, RFC 9068).
    #[serde(default)]
    pub typ: Option<String>,
    /// Clock-skew leeway for `exp` and `nbf`, in seconds (default 60).
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

fn default_leeway() -> u64 {
    60
}

impl IssuerConfig {
    /// A new issuer with no audience and no keys yet.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: Vec::new(),
            keys: Vec::new(),
            algorithms: None,
            typ: None,
            leeway_secs: default_leeway(),
        }
    }

    /// Adds an accepted audience.
    #[must_use]
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Adds a key source.
    #[must_use]
    pub fn key(mut self, source: KeySource) -> Self {
        self.keys.push(source);
        self
    }

    /// Adds an HS256 secret.
    #[must_use]
    pub fn hmac_secret(self, secret: impl Into<String>) -> Self {
        self.key(KeySource::HmacSecret {
            secret: Secret::new(secret),
            algorithm: None,
            allow_short: false,
        })
    }

    /// Adds a PEM public key for `algorithm` (e.g. [`Algorithm::RS256`]).
    #[must_use]
    pub fn public_key_pem(self, pem: impl Into<String>, algorithm: Algorithm) -> Self {
        self.key(KeySource::PublicKeyPem {
            pem: pem.into(),
            algorithm,
            kid: None,
        })
    }

    /// Adds an inline JWKS document.
    #[must_use]
    pub fn jwks(self, jwks: serde_json::Value) -> Self {
        self.key(KeySource::Jwks { jwks })
    }

    /// Adds a remote JWKS URL.
    #[must_use]
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.key(KeySource::JwksUrl { url: url.into() })
    }

    /// Discovers the JWKS URL from `<issuer>/.well-known/openid-configuration`.
    #[must_use]
    pub fn discovery(self) -> Self {
        self.key(KeySource::Discovery)
    }

    /// Restricts the accepted algorithms.
    #[must_use]
    pub fn algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algs.into_iter().collect());
        self
    }

    /// Requires this `typ` header.
    #[must_use]
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets the clock-skew leeway.
    #[must_use]
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.leeway_secs = secs;
        self
    }
}

/// How a token declares its type, so access and customer tokens from the
/// same issuer can never stand in for each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum TokenMarker {
    /// A claim with a fixed string value (e.g. `token_use: "customer"`).
    Claim {
        /// The claim name.
        claim: String,
        /// The value that marks the token type.
        value: String,
    },
    /// The `typ` header (e.g. `customer+jwt`; compared per RFC 7515 §4.1.9).
    Typ {
        /// The media type.
        typ: String,
    },
}

impl Default for TokenMarker {
    fn default() -> Self {
        Self::Claim {
            claim: "token_use".into(),
            value: "customer".into(),
        }
    }
}

/// Customer tokens: a second JWT, bound to one customer, in its own header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CustomerTokenConfig {
    /// The header carrying the token (default `X-Customer-Token`; e.g.
    /// `X-Moltin-Customer-Token`). The value is the bare token, or
    /// `Bearer <token>`.
    pub header: String,
    /// Issuers of customer tokens; empty means the access-token issuers.
    pub issuers: Vec<IssuerConfig>,
    /// What marks a customer token (default claim `token_use: "customer"`).
    /// Customer tokens must carry it; access tokens must not.
    pub marker: TokenMarker,
    /// The required customer-id claim (default `customer_id`).
    pub customer_claim: String,
    /// The app claim that must match the access token's client id (default `client_id`).
    pub client_claim: String,
    /// The account claim that must match the access token's account (default `account_id`).
    pub account_claim: String,
    /// Accept a customer token without an app credential beside it (default off).
    pub allow_alone: bool,
    /// What a customer grant allows; effective scopes are the app's scopes
    /// intersected with this (default `customer:read customer:write orders:read orders:write`).
    pub grant: String,
}

impl Default for CustomerTokenConfig {
    fn default() -> Self {
        Self {
            header: "x-customer-token".into(),
            issuers: Vec::new(),
            marker: TokenMarker::default(),
            customer_claim: "customer_id".into(),
            client_claim: "client_id".into(),
            account_claim: "account_id".into(),
            allow_alone: false,
            grant: "customer:read customer:write orders:read orders:write".into(),
        }
    }
}

impl CustomerTokenConfig {
    /// Sets the header carrying the customer token.
    #[must_use]
    pub fn with_header(mut self, header: impl Into<String>) -> Self {
        self.header = header.into();
        self
    }

    /// Sets the issuers of customer tokens (empty: the access-token issuers).
    #[must_use]
    pub fn with_issuers(mut self, issuers: impl IntoIterator<Item = IssuerConfig>) -> Self {
        self.issuers = issuers.into_iter().collect();
        self
    }

    /// Sets what marks a customer token.
    #[must_use]
    pub fn with_marker(mut self, marker: TokenMarker) -> Self {
        self.marker = marker;
        self
    }

    /// Sets the required customer-id claim.
    #[must_use]
    pub fn with_customer_claim(mut self, claim: impl Into<String>) -> Self {
        self.customer_claim = claim.into();
        self
    }

    /// Sets the app claim that must match the access token's client id.
    #[must_use]
    pub fn with_client_claim(mut self, claim: impl Into<String>) -> Self {
        self.client_claim = claim.into();
        self
    }

    /// Sets the account claim that must match the access token's account.
    #[must_use]
    pub fn with_account_claim(mut self, claim: impl Into<String>) -> Self {
        self.account_claim = claim.into();
        self
    }

    /// Sets whether a customer token is accepted without an app credential beside it.
    #[must_use]
    pub fn with_allow_alone(mut self, allow: bool) -> Self {
        self.allow_alone = allow;
        self
    }

    /// Sets what a customer grant allows (space-delimited scopes).
    #[must_use]
    pub fn with_grant(mut self, grant: impl Into<String>) -> Self {
        self.grant = grant.into();
        self
    }
}

/// Where session IDs are read from (used when a session store is configured).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionSources {
    /// Header carrying the session ID (default `X-Session-Id`); `None` to disable.
    pub header: Option<String>,
    /// Cookie carrying the session ID, if any.
    pub cookie: Option<String>,
    /// How long an unknown session ID is remembered as unknown, so random
    /// IDs cannot hammer the store (default 2000 ms; 0 turns it off). IDs
    /// are 256-bit random, so an unknown ID never becomes valid later.
    pub negative_cache_ms: u64,
}

impl Default for SessionSources {
    fn default() -> Self {
        Self {
            header: Some("x-session-id".into()),
            cookie: None,
            negative_cache_ms: 2000,
        }
    }
}

impl SessionSources {
    /// Reads session IDs from this header.
    #[must_use]
    pub fn with_header(mut self, header: impl Into<String>) -> Self {
        self.header = Some(header.into());
        self
    }

    /// Stops reading session IDs from a header.
    #[must_use]
    pub fn without_header(mut self) -> Self {
        self.header = None;
        self
    }

    /// Reads session IDs from this cookie.
    #[must_use]
    pub fn with_cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookie = Some(cookie.into());
        self
    }

    /// Sets how long an unknown session ID is remembered as unknown, in ms (0: off).
    #[must_use]
    pub fn with_negative_cache_ms(mut self, ms: u64) -> Self {
        self.negative_cache_ms = ms;
        self
    }
}

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
