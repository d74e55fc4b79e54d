//! Building an [`Authenticator`]: configuration checks, key parsing, and the
//! crypto backend. Everything fallible happens here, never per request.

use super::{Authenticator, CustomerRules, Engine, SessionRules};
use crate::config::{
    AuthConfig, ClaimNames, ConfigError, CryptoBackend, IssuerConfig, KeySource, TokenMarker,
};
use crate::context::ContextShared;
use crate::credentials::CredentialSources;
use crate::error::ErrorSettings;
use crate::jwt::IssuerVerifier;
use crate::jwt::keys::{AlgSet, KeySet, VerifyingKey, looks_like_public_key, parse_alg};
use crate::jwt::remote::{RemoteKeys, RemoteLocation};
use crate::scope::ScopeSet;
use crate::session::SessionStore;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use std::sync::Arc;
use std::time::Duration;

/// Builds an [`Authenticator`]; see the [module docs](crate::authenticator).
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct AuthenticatorBuilder {
    config: AuthConfig,
    store: Option<Arc<dyn SessionStore>>,
    client_status: Option<Arc<dyn super::ClientStatus>>,
    extras: Extras,
}

/// Plug-ins that cannot come from a configuration file.
#[derive(Debug, Default, Clone)]
pub(crate) struct Extras {
    revocations: Option<Arc<dyn crate::revocation::Revocations>>,
    basic: Option<Arc<dyn crate::basic::BasicVerifier>>,
    attribution: Option<Arc<dyn super::AttributionPolicy>>,
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

    /// Whether CORS preflights without credentials pass unauthenticated
    /// (default false; see [`AuthConfig::allow_cors_preflight`](crate::AuthConfig::allow_cors_preflight)).
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

    /// Enables customer tokens with these rules.
    pub fn customer_tokens(mut self, rules: crate::config::CustomerTokenConfig) -> Self {
        self.config.customer_tokens = Some(rules);
        self
    }

    /// Enables session credentials, looked up in `store`.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Rejects access tokens of deactivated clients (see [`ClientStatus`](super::ClientStatus)).
    pub fn client_status(mut self, status: Arc<dyn super::ClientStatus>) -> Self {
        self.client_status = Some(status);
        self
    }

    /// Rejects revoked tokens (see [`Revocations`](crate::revocation::Revocations)),
    /// checked on every request, cached tokens included.
    pub fn revocations(mut self, revocations: Arc<dyn crate::revocation::Revocations>) -> Self {
        self.extras.revocations = Some(revocations);
        self
    }

    /// Accepts `Authorization: Basic` credentials checked by `verifier` (legacy tills).
    pub fn basic_credentials(mut self, verifier: Arc<dyn crate::basic::BasicVerifier>) -> Self {
        self.extras.basic = Some(verifier);
        self
    }

    /// Reads the attribution from `header` (e.g. `X-Attribution`), allowed
    /// and defaulted by `policy`.
    pub fn attribution(
        mut self,
        header: impl Into<String>,
        policy: Arc<dyn super::AttributionPolicy>,
    ) -> Self {
        self.config.attribution_header = Some(header.into());
        self.extras.attribution = Some(policy);
        self
    }

    /// Sets where session IDs are read from.
    pub fn session_sources(mut self, sources: crate::config::SessionSources) -> Self {
        self.config.sessions = sources;
        self
    }

    /// Checks the configuration and builds the authenticator.
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        Authenticator::from_parts(self.config, self.store, self.client_status, self.extras)
    }
}

/// Installs `backend` as `jsonwebtoken`'s process-wide crypto provider.
///
/// Called by [`Authenticator::from_config`]; call it yourself before using
/// `jsonwebtoken` directly (e.g. to mint tokens) in a process that enables
/// both backends. Fails if the backend is not compiled in or a different
/// provider is already installed.
// With neither backend feature every arm of the first `match` returns.
#[cfg_attr(
    not(any(feature = "aws_lc_rs", feature = "rust_crypto")),
    allow(unreachable_code, unused_variables)
)]
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
            Ok(vec![VerifyingKey::new(
                None,
                AlgSet::one(alg),
                DecodingKey::from_secret(bytes),
            )])
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
            Ok(vec![VerifyingKey::new(
                kid.clone().map(String::into_boxed_str),
                AlgSet::one(alg),
                key,
            )])
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
            Ok(vec![VerifyingKey::new(
                kid.clone().map(String::into_boxed_str),
                AlgSet::one(alg),
                key,
            )])
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
    /// Builds from a (deserialized) configuration, checking it.
    pub fn from_config(config: AuthConfig) -> Result<Self, ConfigError> {
        Self::from_parts(config, None, None, Extras::default())
    }

    pub(crate) fn from_parts(
        config: AuthConfig,
        store: Option<Arc<dyn SessionStore>>,
        client_status: Option<Arc<dyn super::ClientStatus>>,
        extras: Extras,
    ) -> Result<Self, ConfigError> {
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
        check_claim_names(&config.claims)?;

        let mut client: Option<reqwest::Client> = None;
        let issuers = build_issuers(&config.issuers, &config.remote_keys, &mut client)?;
        let customer = match &config.customer_tokens {
            None => None,
            Some(ct) => {
                check_header_name(&ct.header, "customer_tokens.header")?;
                for (what, name) in [
                    ("customer_claim", &ct.customer_claim),
                    ("client_claim", &ct.client_claim),
                    ("account_claim", &ct.account_claim),
                ] {
                    if name.is_empty() {
                        return Err(ConfigError::new(format!(
                            "customer_tokens.{what} must not be empty"
                        )));
                    }
                }
                match &ct.marker {
                    TokenMarker::Claim { claim, value } if claim.is_empty() || value.is_empty() => {
                        return Err(ConfigError::new(
                            "customer_tokens.marker needs a claim and a value",
                        ));
                    }
                    TokenMarker::Typ { typ } if typ.is_empty() => {
                        return Err(ConfigError::new("customer_tokens.marker needs a typ"));
                    }
                    _ => {}
                }
                let customer_issuers = if ct.issuers.is_empty() {
                    issuers.clone()
                } else {
                    build_issuers(&ct.issuers, &config.remote_keys, &mut client)?
                };
                let grant = ScopeSet::parse_delimited(&ct.grant, &config.scopes);
                Some(CustomerRules {
                    header: ct.header.to_ascii_lowercase(),
                    issuers: customer_issuers,
                    marker: ct.marker.clone(),
                    customer_claim: ct.customer_claim.clone(),
                    client_claim: ct.client_claim.clone(),
                    account_claim: ct.account_claim.clone(),
                    allow_alone: ct.allow_alone,
                    grant,
                })
            }
        };
        let sessions = match store {
            None => None,
            Some(store) => {
                let header = config
                    .sessions
                    .header
                    .as_ref()
                    .map(|h| h.to_ascii_lowercase());
                if let Some(h) = &header {
                    check_header_name(h, "sessions.header")?;
                }
                if header.is_none() && config.sessions.cookie.is_none() {
                    return Err(ConfigError::new(
                        "a session store is set but neither sessions.header nor sessions.cookie",
                    ));
                }
                let negative_ttl_ms = config.sessions.negative_cache_ms;
                Some(SessionRules {
                    store,
                    header,
                    cookie: config.sessions.cookie.clone(),
                    unknown: (negative_ttl_ms > 0).then(|| quick_cache::sync::Cache::new(10_000)),
                    negative_ttl_ms,
                })
            }
        };

        Ok(Self {
            engine: Arc::new(Engine {
                client_status: client_status.clone(),
                revocations: extras.revocations.clone(),
                basic: extras.basic.clone(),
                attribution: match &config.attribution_header {
                    Some(h) => {
                        check_header_name(h, "attribution_header")?;
                        Some(super::AttributionRules {
                            header: h.to_ascii_lowercase(),
                            policy: extras.attribution.clone(),
                        })
                    }
                    None => None,
                },
                cache: crate::jwt::cache::TokenCache::new(&config.token_cache),
                issuers,
                customer,
                sessions,
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
}

fn check_claim_names(claims: &ClaimNames) -> Result<(), ConfigError> {
    for (what, name) in [
        ("account", &claims.account),
        ("client_id", &claims.client_id),
        ("scope", &claims.scope),
    ] {
        if name.is_empty() {
            return Err(ConfigError::new(format!("claims.{what} must not be empty")));
        }
    }
    Ok(())
}

fn check_header_name(name: &str, what: &str) -> Result<(), ConfigError> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| ConfigError::new(format!("{what} {name:?} is not a valid header name")))
}

/// A remote key URL must pass [`check_url`](crate::jwt::remote::check_url);
/// plain http to a non-loopback host (only with `allow_insecure_http`) is
/// logged at warn, once per configured URL.
fn remote_url_allowed(
    url: &str,
    issuer: &str,
    settings: &crate::jwt::RemoteKeySettings,
) -> Result<(), ConfigError> {
    crate::jwt::remote::check_url(url, settings.allow_insecure_http)
        .map_err(|e| ConfigError::new(format!("issuer {issuer:?}: remote keys: {e}")))?;
    if settings.allow_insecure_http && crate::jwt::remote::check_url(url, false).is_err() {
        tracing::warn!(
            url,
            "tollgate: fetching keys over plain http (allow_insecure_http is set)"
        );
    }
    Ok(())
}

fn build_issuers(
    configs: &[IssuerConfig],
    remote_settings: &crate::jwt::RemoteKeySettings,
    client: &mut Option<reqwest::Client>,
) -> Result<Vec<Arc<IssuerVerifier>>, ConfigError> {
    let mut issuers: Vec<Arc<IssuerVerifier>> = Vec::with_capacity(configs.len());
    for ic in configs {
        if ic.issuer.is_empty() {
            return Err(ConfigError::new("an issuer has an empty `issuer`"));
        }
        if issuers.iter().any(|i| *i.issuer == *ic.issuer) {
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
                    remote_url_allowed(url, &ic.issuer, remote_settings)?;
                    Some(RemoteLocation::Jwks(url.clone()))
                }
                KeySource::Discovery => {
                    remote_url_allowed(&ic.issuer, &ic.issuer, remote_settings)?;
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
                let c = match client {
                    Some(c) => c.clone(),
                    None => {
                        let timeout = Duration::from_millis(remote_settings.fetch_timeout_ms);
                        let built = reqwest::Client::builder()
                            .timeout(timeout)
                            .connect_timeout(timeout)
                            .redirect(crate::jwt::remote::redirect_policy())
                            // Fetches are rare; a fresh connection each
                            // time notices a dead endpoint at once.
                            .pool_max_idle_per_host(0)
                            .build()
                            .map_err(|e| {
                                ConfigError::new(format!("cannot build the HTTP client: {e}"))
                            })?;
                        *client = Some(built.clone());
                        built
                    }
                };
                Some(Arc::new(RemoteKeys::new(loc, remote_settings.clone(), c)))
            }
        };
        issuers.push(Arc::new(IssuerVerifier {
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
        }));
    }

    Ok(issuers)
}
