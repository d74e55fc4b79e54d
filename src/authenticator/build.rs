//! Building an [`Authenticator`]: the builder and the configuration checks.
//! Everything fallible happens here, never per request; the crypto backend
//! is in `crypto.rs`, static keys in `static_keys.rs` and issuers (remote key
//! URLs, the HTTP client) in `issuers.rs`.

use super::issuers::build_issuers;
use super::{Authenticator, CustomerRules, Engine, SessionRules};
use crate::config::{
    AuthConfig, ClaimNames, ConfigError, ConfigErrorKind, CryptoBackend, IssuerConfig, TokenMarker,
};
use crate::context::ContextShared;
use crate::credentials::CredentialSources;
use crate::error::ErrorSettings;
use crate::scope::ScopeSet;
use crate::session::SessionStore;
use std::sync::Arc;

pub use super::crypto::install_crypto_backend;

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
    dpop_replay: Option<Arc<dyn crate::dpop::ReplayCache>>,
    renderer: Option<Arc<dyn crate::render::ErrorRenderer>>,
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
    pub fn expired_status(mut self, status: crate::config::ExpiredStatus) -> Self {
        self.config.expired_status = status;
        self
    }

    /// Renders refusal bodies with `renderer` (see [`crate::render`]),
    /// in place of the configured [`ErrorFormat`](crate::render::ErrorFormat).
    /// Its [`expired_status`](crate::render::ErrorRenderer::expired_status),
    /// if any, wins over [`expired_status`](Self::expired_status).
    pub fn error_renderer(mut self, renderer: impl crate::render::ErrorRenderer) -> Self {
        self.extras.renderer = Some(Arc::new(renderer));
        self
    }

    /// Picks a built-in error body format (JSON by default).
    pub fn error_format(mut self, format: crate::render::ErrorFormat) -> Self {
        self.config.error_format = format;
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

    /// Sets the verified-token cache (on by default).
    pub fn token_cache(mut self, settings: crate::jwt::TokenCacheSettings) -> Self {
        self.config.token_cache = settings;
        self
    }

    /// Starts from a whole configuration (e.g. deserialized from a file),
    /// replacing what was set so far; the plug-ins that cannot come from a
    /// file (session store, client status, revocations, basic verifier,
    /// attribution policy) are then added with their own methods.
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.config = config;
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

    /// Introspects opaque (non-JWT) access tokens at an RFC 7662 endpoint;
    /// JWTs are still verified locally.
    pub fn introspection(mut self, settings: crate::IntrospectionSettings) -> Self {
        self.config.introspection = Some(settings);
        self
    }

    /// Sets the DPoP settings (see [`crate::dpop`]).
    pub fn dpop(mut self, dpop: crate::dpop::DpopConfig) -> Self {
        self.config.dpop = dpop;
        self
    }

    /// Sets the DPoP policy: off, allowed (default) or required.
    pub fn dpop_policy(mut self, policy: crate::dpop::DpopPolicy) -> Self {
        self.config.dpop.policy = policy;
        self
    }

    /// Sets the certificate-bound token settings (see [`crate::mtls`]).
    pub fn mtls(mut self, mtls: crate::mtls::MtlsConfig) -> Self {
        self.config.mtls = mtls;
        self
    }

    /// Remembers DPoP proof `jti`s in `cache` (default: an in-memory
    /// [`MemoryReplayCache`](crate::dpop::MemoryReplayCache); share a
    /// [`RedisReplayCache`](crate::dpop::ReplayCache) between instances).
    pub fn dpop_replay_cache(mut self, cache: Arc<dyn crate::dpop::ReplayCache>) -> Self {
        self.extras.dpop_replay = Some(cache);
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
            return Err(ConfigError::with_kind(
                ConfigErrorKind::NoIssuer,
                "no issuer configured",
            ));
        }
        config.credentials.validate().map_err(ConfigError::new)?;
        config.scopes.validate().map_err(ConfigError::new)?;
        config.remote_keys.validate().map_err(ConfigError::new)?;
        let renderer = extras
            .renderer
            .clone()
            .or_else(|| config.error_format.renderer());
        let expired_status = renderer
            .as_ref()
            .and_then(|r| r.expired_status())
            .unwrap_or(config.expired_status)
            .status();
        if config.realm.is_empty() || !config.realm.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ConfigError::new("realm must be non-empty visible ASCII"));
        }
        check_claim_names(&config.claims)?;
        config.dpop.validate().map_err(ConfigError::new)?;
        let dpop = super::DpopRules {
            policy: config.dpop.policy,
            window_secs: config.dpop.iat_window_secs,
            public_url: config.dpop.public_url.clone(),
            scheme: config.dpop.scheme.clone(),
            max_proof_bytes: config.dpop.max_proof_bytes,
            replay: extras.dpop_replay.clone().unwrap_or_else(|| {
                Arc::new(crate::dpop::MemoryReplayCache::new(
                    config.dpop.replay_capacity,
                ))
            }),
        };

        let mtls = super::mtls::MtlsRules::new(&config.mtls).map_err(ConfigError::new)?;

        let introspector = match &config.introspection {
            None => None,
            #[cfg(not(feature = "remote"))]
            Some(_) => {
                return Err(ConfigError::feature_missing(
                    "introspection (opaque tokens)",
                    "remote",
                ));
            }
            #[cfg(feature = "remote")]
            Some(settings) => Some(Arc::new(
                crate::introspection::Introspector::new(settings.clone())
                    .map_err(|e| ConfigError::new(format!("introspection: {e}")))?,
            )),
        };
        let mut client = super::issuers::SharedClient::default();
        let issuers = build_issuers(&config.issuers, &config.remote_keys, &mut client)?;
        let customer = match &config.customer_tokens {
            None => None,
            Some(ct) => {
                let header = header_name(&ct.header, "customer_tokens.header")?;
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
                    header,
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
                let header = match &config.sessions.header {
                    Some(h) => Some(header_name(h, "sessions.header")?),
                    None => None,
                };
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
                    Some(h) => Some(super::AttributionRules {
                        header: header_name(h, "attribution_header")?,
                        policy: extras.attribution.clone(),
                    }),
                    None => None,
                },
                cache: crate::jwt::cache::TokenCache::new(&config.token_cache),
                // Pairs are memoized only when their contexts are cached
                // (fresh contexts would never hit).
                merged: (config.token_cache.enabled
                    && config.token_cache.max_entries > 0
                    && config.customer_tokens.is_some())
                .then(|| super::merge::MergeCache::new(config.token_cache.max_entries.min(10_000))),
                issuers,
                customer,
                sessions,
                sources: {
                    // Header names are matched in lower case (`RequestParts`).
                    let mut sources = config.credentials;
                    sources.header = sources.header.map(|h| h.to_ascii_lowercase());
                    sources
                },
                claims: config.claims,
                shared: Arc::new(ContextShared {
                    errors: ErrorSettings {
                        realm: Arc::from(config.realm.as_str()),
                        expired_status,
                        dpop: config.dpop.policy,
                        renderer,
                    },
                    scope_rules: config.scopes,
                }),
                allow_cors_preflight: config.allow_cors_preflight,
                dpop,
                mtls,
                introspector,
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
            return Err(ConfigError::with_kind(
                ConfigErrorKind::InvalidClaimName,
                format!("claims.{what} must not be empty"),
            ));
        }
    }
    Ok(())
}

/// A configured header name, parsed (lower case).
fn header_name(name: &str, what: &str) -> Result<http::HeaderName, ConfigError> {
    http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        ConfigError::with_kind(
            ConfigErrorKind::InvalidHeaderName,
            format!("{what} {name:?} is not a valid header name"),
        )
    })
}
