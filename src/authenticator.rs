//! The engine: request credentials → verifiers → [`AuthContext`].
//!
//! Every adapter (tower, axum, and later actix) calls [`Authenticator`] and
//! only translates its answer; no check lives anywhere else.
//!
//! ```
//! use tollgate::{Authenticator, IssuerConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let auth = Authenticator::builder()
//!     .issuer(
//!         IssuerConfig::new("https://issuer.example")
//!             .audience("orders-api")
//!             .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
//!     )
//!     .build()
//!     .unwrap();
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("authorization", "Bearer not-a-jwt".parse().unwrap());
//! let err = auth.authenticate(&headers).await.unwrap_err();
//! assert_eq!(err.status(), 401);
//! # });
//! ```

use crate::config::{AuthConfig, ClaimNames, ConfigError, CryptoBackend, IssuerConfig, KeySource};
use crate::context::{AuthContext, ContextParts, ContextShared, CredentialKinds};
use crate::credentials::{self, CredentialSources, CredentialsError, RequestParts};
use crate::error::{AuthError, AuthErrorKind, ErrorSettings};
use crate::jwt::keys::{AlgSet, KeySet, VerifyingKey, looks_like_public_key, parse_alg};
use crate::jwt::remote::{RemoteKeys, RemoteLocation};
use crate::jwt::{IssuerVerifier, Rejection, token};
use crate::scope::ScopeSet;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Verifies credentials and builds [`AuthContext`]s. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    engine: Arc<Engine>,
}

struct Engine {
    issuers: Vec<IssuerVerifier>,
    sources: CredentialSources,
    claims: ClaimNames,
    shared: Arc<ContextShared>,
    allow_cors_preflight: bool,
}

/// Whether a request without credentials may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse requests without credentials (401).
    Required,
    /// Let requests without credentials through; present credentials must
    /// still verify.
    Optional,
}

/// What the engine decided for a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Decision {
    /// Credentials verified.
    Authenticated(AuthContext),
    /// No credentials, and the mode lets the request through.
    Anonymous,
    /// A CORS preflight, let through unauthenticated.
    Preflight,
}

/// Outcome of the synchronous fast path.
pub(crate) enum Attempt {
    Done(Result<Decision, AuthError>),
    /// A remote key set must be fetched first: use the async path.
    NeedsKeys,
}

enum VerifyError {
    Refuse(AuthErrorKind, &'static str),
    NeedKeys { issuer: usize, generation: u64 },
}

/// Builds an [`Authenticator`]; see the [module docs](self).
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct AuthenticatorBuilder {
    config: AuthConfig,
}

impl AuthenticatorBuilder {
    /// Adds a trusted issuer.
    pub fn issuer(mut self, issuer: IssuerConfig) -> Self {
        self.config.issuers.push(issuer);
        self
    }

    /// Sets the realm reported in `WWW-Authenticate`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.config.realm = realm.into();
        self
    }

    /// Sets the status for expired tokens (e.g. 498).
    pub fn expired_status(mut self, status: u16) -> Self {
        self.config.expired_status = status;
        self
    }

    /// Sets the credential sources.
    pub fn credentials(mut self, sources: CredentialSources) -> Self {
        self.config.credentials = sources;
        self
    }

    /// Sets the scope rules.
    pub fn scopes(mut self, rules: crate::scope::ScopeRules) -> Self {
        self.config.scopes = rules;
        self
    }

    /// Sets which claims hold account, client id and scopes.
    pub fn claims(mut self, claims: ClaimNames) -> Self {
        self.config.claims = claims;
        self
    }

    /// Sets remote key timing.
    pub fn remote_keys(mut self, settings: crate::jwt::RemoteKeySettings) -> Self {
        self.config.remote_keys = settings;
        self
    }

    /// Whether CORS preflights pass unauthenticated (default true).
    pub fn allow_cors_preflight(mut self, allow: bool) -> Self {
        self.config.allow_cors_preflight = allow;
        self
    }

    /// Chooses the crypto backend.
    pub fn crypto_backend(mut self, backend: CryptoBackend) -> Self {
        self.config.crypto_backend = backend;
        self
    }

    /// Edits the whole configuration.
    pub fn configure(mut self, f: impl FnOnce(&mut AuthConfig)) -> Self {
        f(&mut self.config);
        self
    }

    /// Checks the configuration and builds the authenticator.
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        Authenticator::from_config(self.config)
    }
}

/// Installs `backend` as `jsonwebtoken`'s process-wide crypto provider.
///
/// Called by [`Authenticator::from_config`]; call it yourself before using
/// `jsonwebtoken` directly (e.g. to mint tokens) in a process that enables
/// both backends. Fails if the backend is not compiled in or a different
/// provider is already installed.
pub fn install_crypto_backend(backend: CryptoBackend) -> Result<(), ConfigError> {
    use jsonwebtoken::crypto::CryptoProvider;
    let provider: &'static CryptoProvider = match backend {
        #[cfg(feature = "aws_lc_rs")]
        CryptoBackend::AwsLcRs => &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
        #[cfg(feature = "rust_crypto")]
        CryptoBackend::RustCrypto => &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
        #[allow(unreachable_patterns)]
        other => {
            return Err(ConfigError::new(format!(
                "crypto backend {other:?} is not compiled in: enable tollgate's `{}` feature",
                match other {
                    CryptoBackend::AwsLcRs => "aws_lc_rs",
                    CryptoBackend::RustCrypto => "rust_crypto",
                }
            )));
        }
    };
    if let Some(installed) = INSTALLED_BACKEND.get() {
        return if *installed == backend {
            Ok(())
        } else {
            Err(ConfigError::new(format!(
                "crypto backend {installed:?} is already installed in this process (wanted \
                 {backend:?}); jsonwebtoken allows one per process"
            )))
        };
    }
    match provider.install_default() {
        Ok(()) => {
            let _ = INSTALLED_BACKEND.set(backend);
            Ok(())
        }
        // Something used or installed jsonwebtoken's provider before us. With
        // exactly one backend compiled in that is a working provider; with
        // both or neither (Cargo feature unification), jsonwebtoken installed
        // a stand-in that panics on first use. Find out now, not per request.
        Err(_) if provider_verifies() => Ok(()),
        Err(_) => Err(ConfigError::new(
            "jsonwebtoken's process-wide crypto provider was initialised before tollgate could \
             choose one, and it cannot verify (both or neither of its `aws_lc_rs` and \
             `rust_crypto` features are enabled): call tollgate::install_crypto_backend() \
             before any other use of jsonwebtoken",
        )),
    }
}

/// The backend tollgate installed, if it did.
static INSTALLED_BACKEND: std::sync::OnceLock<CryptoBackend> = std::sync::OnceLock::new();

/// Whether the installed provider can verify at all (the stand-in panics).
fn provider_verifies() -> bool {
    let probe = || {
        let key = DecodingKey::from_secret(b"tollgate-provider-probe");
        jsonwebtoken::crypto::verify("AAAA", b"probe", &key, Algorithm::HS256)
    };
    std::panic::catch_unwind(probe).is_ok()
}

fn alg_named(name: &str) -> Result<Algorithm, ConfigError> {
    parse_alg(name).ok_or_else(|| {
        ConfigError::new(format!(
            "unknown algorithm {name:?} (expected one of HS256, HS384, HS512, RS256, RS384, RS512, \
             PS256, PS384, PS512, ES256, ES384, EdDSA)"
        ))
    })
}

fn static_key(source: &KeySource, issuer: &str) -> Result<Vec<VerifyingKey>, ConfigError> {
    let err = |m: String| ConfigError::new(format!("issuer {issuer:?}: {m}"));
    match source {
        KeySource::HmacSecret {
            secret,
            algorithm,
            allow_short,
        } => {
            let alg = alg_named(algorithm.as_deref().unwrap_or("HS256"))?;
            let min = match alg {
                Algorithm::HS256 => 32,
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => return Err(err(format!("{alg:?} is not an HMAC algorithm"))),
            };
            let bytes = secret.as_bytes();
            if bytes.is_empty() {
                return Err(err("the HMAC secret is empty".into()));
            }
            if looks_like_public_key(bytes) {
                return Err(err(
                    "the HMAC secret looks like a public key; an HMAC secret is never built from a public key".into(),
                ));
            }
            if bytes.len() < min {
                if *allow_short {
                    tracing::warn!(
                        issuer,
                        "tollgate: HMAC secret shorter than RFC 7518 requires"
                    );
                } else {
                    return Err(err(format!(
                        "the {alg:?} secret must be at least {min} bytes (RFC 7518 §3.2)"
                    )));
                }
            }
            Ok(vec![VerifyingKey {
                kid: None,
                algs: AlgSet::one(alg),
                key: DecodingKey::from_secret(bytes),
            }])
        }
        KeySource::PublicKeyPem {
            pem,
            algorithm,
            kid,
        } => {
            let alg = alg_named(algorithm)?;
            let key = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem.as_bytes()),
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
                _ => {
                    return Err(err(format!(
                        "a public key cannot verify {alg:?}; an HMAC secret is never built from a public key"
                    )));
                }
            }
            .map_err(|e| err(format!("cannot read the {alg:?} PEM key: {e}")))?;
            Ok(vec![VerifyingKey {
                kid: kid.clone().map(String::into_boxed_str),
                algs: AlgSet::one(alg),
                key,
            }])
        }
        KeySource::PublicKeyDer {
            der_base64,
            algorithm,
            kid,
        } => {
            let alg = alg_named(algorithm)?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(der_base64.trim())
                .map_err(|_| err("der_base64 is not valid base64".into()))?;
            let key = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => DecodingKey::from_rsa_der(&der),
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_der(&der),
                Algorithm::EdDSA => DecodingKey::from_ed_der(&der),
                _ => {
                    return Err(err(format!(
                        "a public key cannot verify {alg:?}; an HMAC secret is never built from a public key"
                    )));
                }
            };
            Ok(vec![VerifyingKey {
                kid: kid.clone().map(String::into_boxed_str),
                algs: AlgSet::one(alg),
                key,
            }])
        }
        KeySource::Jwks { jwks } => {
            let set = KeySet::from_jwks(jwks.to_string().as_bytes(), true).map_err(err)?;
            if set.is_empty() {
                return Err(err("the inline JWKS holds no usable key".into()));
            }
            Ok(set.keys)
        }
        KeySource::JwksUrl { .. } | KeySource::Discovery => Ok(Vec::new()),
    }
}

impl Authenticator {
    /// Starts a builder.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    /// Builds from a (deserialized) configuration, checking it.
    pub fn from_config(config: AuthConfig) -> Result<Self, ConfigError> {
        install_crypto_backend(config.crypto_backend)?;
        if config.issuers.is_empty() {
            return Err(ConfigError::new("no issuer configured"));
        }
        config.credentials.validate().map_err(ConfigError::new)?;
        config.scopes.validate().map_err(ConfigError::new)?;
        config.remote_keys.validate().map_err(ConfigError::new)?;
        let expired_status = http::StatusCode::from_u16(config.expired_status)
            .ok()
            .filter(|s| s.is_client_error())
            .ok_or_else(|| {
                ConfigError::new(format!(
                    "expired_status {} is not a 4xx status",
                    config.expired_status
                ))
            })?;
        if config.realm.is_empty() || !config.realm.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ConfigError::new("realm must be non-empty visible ASCII"));
        }
        for (what, name) in [
            ("account", &config.claims.account),
            ("client_id", &config.claims.client_id),
            ("scope", &config.claims.scope),
        ] {
            if name.is_empty() {
                return Err(ConfigError::new(format!("claims.{what} must not be empty")));
            }
        }

        let mut client: Option<reqwest::Client> = None;
        let mut issuers = Vec::with_capacity(config.issuers.len());
        for ic in &config.issuers {
            if ic.issuer.is_empty() {
                return Err(ConfigError::new("an issuer has an empty `issuer`"));
            }
            if issuers
                .iter()
                .any(|i: &IssuerVerifier| *i.issuer == *ic.issuer)
            {
                return Err(ConfigError::new(format!(
                    "issuer {:?} configured twice",
                    ic.issuer
                )));
            }
            if ic.audiences.is_empty() || ic.audiences.iter().any(String::is_empty) {
                return Err(ConfigError::new(format!(
                    "issuer {:?}: at least one non-empty audience is required",
                    ic.issuer
                )));
            }
            if ic.keys.is_empty() {
                return Err(ConfigError::new(format!(
                    "issuer {:?}: no key source configured",
                    ic.issuer
                )));
            }
            let mut static_keys = KeySet::default();
            let mut remote_location = None;
            for source in &ic.keys {
                static_keys.keys.extend(static_key(source, &ic.issuer)?);
                let loc = match source {
                    KeySource::JwksUrl { url } => {
                        if !(url.starts_with("https://") || url.starts_with("http://")) {
                            return Err(ConfigError::new(format!(
                                "issuer {:?}: JWKS URL {url:?} is not an http(s) URL",
                                ic.issuer
                            )));
                        }
                        Some(RemoteLocation::Jwks(url.clone()))
                    }
                    KeySource::Discovery => {
                        if !(ic.issuer.starts_with("https://") || ic.issuer.starts_with("http://"))
                        {
                            return Err(ConfigError::new(format!(
                                "issuer {:?}: discovery needs an http(s) issuer URL",
                                ic.issuer
                            )));
                        }
                        Some(RemoteLocation::Discovery {
                            issuer: ic.issuer.clone(),
                        })
                    }
                    _ => None,
                };
                if let Some(loc) = loc
                    && remote_location.replace(loc).is_some()
                {
                    return Err(ConfigError::new(format!(
                        "issuer {:?}: at most one remote key source (jwks_url or discovery)",
                        ic.issuer
                    )));
                }
            }
            let key_algs = static_keys
                .keys
                .iter()
                .fold(AlgSet::empty(), |acc, k| acc.union(k.algs));
            let algorithms = match &ic.algorithms {
                Some(names) => {
                    let mut set = AlgSet::empty();
                    for n in names {
                        set = set.union(AlgSet::one(alg_named(n)?));
                    }
                    if set.is_empty() {
                        return Err(ConfigError::new(format!(
                            "issuer {:?}: the algorithm allow-list is empty",
                            ic.issuer
                        )));
                    }
                    set
                }
                // Remote keys are asymmetric only; static keys bring their own.
                None if remote_location.is_some() => key_algs.union(AlgSet::asymmetric()),
                None => key_algs,
            };
            let remote = match remote_location {
                None => None,
                Some(loc) => {
                    let c = match &client {
                        Some(c) => c.clone(),
                        None => {
                            let timeout =
                                Duration::from_millis(config.remote_keys.fetch_timeout_ms);
                            let built = reqwest::Client::builder()
                                .timeout(timeout)
                                .connect_timeout(timeout)
                                .redirect(reqwest::redirect::Policy::limited(3))
                                // Fetches are rare; a fresh connection each
                                // time notices a dead endpoint at once.
                                .pool_max_idle_per_host(0)
                                .build()
                                .map_err(|e| {
                                    ConfigError::new(format!("cannot build the HTTP client: {e}"))
                                })?;
                            client = Some(built.clone());
                            built
                        }
                    };
                    Some(Arc::new(RemoteKeys::new(
                        loc,
                        config.remote_keys.clone(),
                        c,
                    )))
                }
            };
            issuers.push(IssuerVerifier {
                issuer: ic.issuer.clone().into_boxed_str(),
                audiences: ic
                    .audiences
                    .iter()
                    .map(|a| a.clone().into_boxed_str())
                    .collect(),
                algorithms,
                required_typ: ic.typ.clone().map(String::into_boxed_str),
                leeway_secs: ic.leeway_secs,
                static_keys,
                remote,
            });
        }

        Ok(Self {
            engine: Arc::new(Engine {
                issuers,
                sources: config.credentials,
                claims: config.claims,
                shared: Arc::new(ContextShared {
                    errors: ErrorSettings {
                        realm: Arc::from(config.realm.as_str()),
                        expired_status,
                    },
                    scope_rules: config.scopes,
                }),
                allow_cors_preflight: config.allow_cors_preflight,
            }),
        })
    }

    fn error(&self, kind: AuthErrorKind, desc: &'static str) -> AuthError {
        AuthError::new(kind, desc, &self.engine.shared.errors)
    }

    /// The 401 for a request without credentials.
    pub fn missing_credentials(&self) -> AuthError {
        self.error(AuthErrorKind::Missing, "credentials are required")
    }

    /// Authenticates a request: `Ok(None)` when it carries no credentials,
    /// `Err` when it carries credentials that do not all verify.
    pub async fn authenticate<R: RequestParts + ?Sized>(
        &self,
        req: &R,
    ) -> Result<Option<AuthContext>, AuthError> {
        let creds = self.extract(req)?;
        let Some(bearer) = creds.bearer else {
            return Ok(None);
        };
        self.verify_access_token(bearer.as_str()).await.map(Some)
    }

    /// Decides a request in `mode`; the one entry point adapters call.
    pub async fn decide<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
    ) -> Result<Decision, AuthError> {
        match self.try_decide(req, mode) {
            Attempt::Done(d) => d,
            Attempt::NeedsKeys => {
                let ctx = self.authenticate(req).await?;
                self.finish(ctx, mode)
            }
        }
    }

    fn finish(&self, ctx: Option<AuthContext>, mode: Mode) -> Result<Decision, AuthError> {
        match (ctx, mode) {
            (Some(ctx), _) => Ok(Decision::Authenticated(ctx)),
            (None, Mode::Optional) => Ok(Decision::Anonymous),
            (None, Mode::Required) => Err(self.missing_credentials()),
        }
    }

    /// The synchronous fast path: answers unless a remote key set must be
    /// fetched first.
    pub(crate) fn try_decide<R: RequestParts + ?Sized>(&self, req: &R, mode: Mode) -> Attempt {
        if self.is_cors_preflight(req) {
            return Attempt::Done(Ok(Decision::Preflight));
        }
        let creds = match self.extract(req) {
            Ok(c) => c,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let ctx = match creds.bearer {
            None if creds.other_scheme => {
                return Attempt::Done(Err(self.error(
                    AuthErrorKind::Missing,
                    "unsupported authorization scheme; use Bearer",
                )));
            }
            None => None,
            Some(bearer) => match self.verify_now(bearer.as_str(), true) {
                Ok(ctx) => Some(ctx),
                Err(VerifyError::Refuse(kind, desc)) => {
                    return Attempt::Done(Err(self.error(kind, desc)));
                }
                Err(VerifyError::NeedKeys { .. }) => return Attempt::NeedsKeys,
            },
        };
        Attempt::Done(self.finish(ctx, mode))
    }

    /// Whether this is a CORS preflight that passes unauthenticated.
    pub fn is_cors_preflight<R: RequestParts + ?Sized>(&self, req: &R) -> bool {
        if !self.engine.allow_cors_preflight || !req.method().eq_ignore_ascii_case("OPTIONS") {
            return false;
        }
        let mut has = false;
        req.visit_header("access-control-request-method", &mut |_| has = true);
        has
    }

    fn extract<'r, R: RequestParts + ?Sized>(
        &self,
        req: &'r R,
    ) -> Result<credentials::Credentials<'r>, AuthError> {
        credentials::extract(req, &self.engine.sources).map_err(|e| {
            tracing::debug!(reason = %e, "tollgate: refused credentials");
            match e {
                CredentialsError::TooLarge => self.error(
                    AuthErrorKind::InvalidToken,
                    "the token exceeds the size limit",
                ),
                CredentialsError::DuplicateAuthorization => self.error(
                    AuthErrorKind::InvalidRequest,
                    "more than one Authorization header",
                ),
                CredentialsError::EmptyToken => {
                    self.error(AuthErrorKind::InvalidRequest, "the bearer token is empty")
                }
                CredentialsError::MultipleMethods => self.error(
                    AuthErrorKind::InvalidRequest,
                    "the bearer token was sent by more than one method",
                ),
                CredentialsError::UnsupportedScheme => self.error(
                    AuthErrorKind::Missing,
                    "unsupported authorization scheme; use Bearer",
                ),
                _ => self.error(
                    AuthErrorKind::InvalidRequest,
                    "the Authorization header is malformed",
                ),
            }
        })
    }

    /// Verifies one access token (the `Authorization: Bearer` value).
    pub async fn verify_access_token(&self, token: &str) -> Result<AuthContext, AuthError> {
        match self.verify_now(token, true) {
            Ok(ctx) => Ok(ctx),
            Err(VerifyError::Refuse(kind, desc)) => Err(self.error(kind, desc)),
            Err(VerifyError::NeedKeys { issuer, generation }) => {
                if let Some(remote) = self
                    .engine
                    .issuers
                    .get(issuer)
                    .and_then(|i| i.remote.as_ref())
                {
                    remote.refresh_for(generation).await;
                }
                self.verify_now(token, false).map_err(|e| match e {
                    VerifyError::Refuse(kind, desc) => self.error(kind, desc),
                    VerifyError::NeedKeys { .. } => self.error(
                        AuthErrorKind::Unavailable,
                        "the issuer's keys are unavailable",
                    ),
                })
            }
        }
    }

    fn verify_now(&self, raw: &str, allow_fetch: bool) -> Result<AuthContext, VerifyError> {
        if raw.len() > self.engine.sources.max_token_bytes {
            return Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the token exceeds the size limit",
            ));
        }
        let tok = token::parse(raw)
            .map_err(|e| VerifyError::Refuse(AuthErrorKind::InvalidToken, e.description()))?;
        let iss = tok.claims.get("iss").and_then(|v| v.as_str());
        let Some((idx, issuer)) = self
            .engine
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| iss == Some(&*i.issuer))
        else {
            return Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the token issuer is not accepted",
            ));
        };
        issuer.verify(&tok, allow_fetch).map_err(|r| match r {
            Rejection::Refuse(kind, desc) => {
                tracing::debug!(reason = desc, "tollgate: token refused");
                VerifyError::Refuse(kind, desc)
            }
            Rejection::NeedKeys(generation) => VerifyError::NeedKeys {
                issuer: idx,
                generation,
            },
        })?;
        Ok(self.context_from(issuer, tok.claims))
    }

    fn context_from(
        &self,
        issuer: &IssuerVerifier,
        claims: serde_json::Map<String, serde_json::Value>,
    ) -> AuthContext {
        let names = &self.engine.claims;
        let rules = &self.engine.shared.scope_rules;
        let text = |name: &str| -> Option<Box<str>> {
            match claims.get(name)? {
                serde_json::Value::String(s) if !s.is_empty() => Some(s.as_str().into()),
                serde_json::Value::Number(n) => Some(n.to_string().into_boxed_str()),
                _ => None,
            }
        };
        let scopes = match claims.get(&names.scope) {
            Some(serde_json::Value::String(s)) => ScopeSet::parse_delimited(s, rules),
            Some(serde_json::Value::Array(items)) => {
                ScopeSet::from_strs(items.iter().filter_map(|v| v.as_str()), rules)
            }
            _ => ScopeSet::new(),
        };
        let parts = ContextParts {
            issuer: issuer.issuer.clone(),
            account: text(&names.account),
            client_id: text(&names.client_id),
            subject: text("sub"),
            scopes,
            expires_at: claims.get("exp").and_then(|v| v.as_f64()).map(|f| f as u64),
            credentials: CredentialKinds::ACCESS_TOKEN,
            claims,
        };
        AuthContext::new(parts, self.engine.shared.clone())
    }

    /// Fetches every remote key set now, so the first requests do not wait.
    /// Returns an error naming how many issuers have no keys yet.
    pub async fn prefetch_keys(&self) -> Result<(), AuthError> {
        let mut missing = false;
        for issuer in &self.engine.issuers {
            if let Some(remote) = &issuer.remote {
                if remote.current().is_none() {
                    remote.refresh_for(remote.generation()).await;
                }
                missing |= remote.current().is_none();
            }
        }
        if missing {
            return Err(self.error(
                AuthErrorKind::Unavailable,
                "the issuer's keys are unavailable",
            ));
        }
        Ok(())
    }

    /// Total HTTP fetches of remote key sets so far (diagnostics and tests).
    pub fn key_fetch_count(&self) -> u64 {
        self.engine
            .issuers
            .iter()
            .filter_map(|i| i.remote.as_ref())
            .map(|r| r.fetch_count())
            .sum()
    }

    /// The realm used in challenges.
    pub fn realm(&self) -> &str {
        &self.engine.shared.errors.realm
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field(
                "issuers",
                &self
                    .engine
                    .issuers
                    .iter()
                    .map(|i| &*i.issuer)
                    .collect::<Vec<_>>(),
            )
            .field("realm", &self.realm())
            .finish_non_exhaustive()
    }
}
