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
//!
//! # The request path
//!
//! ```text
//! adapter (tower, axum, actix)
//!   │ decide / try_decide ........................................ decide.rs
//!   ▼
//! extract: Bearer, customer-token header, session ID, Basic, attribution
//!   │ (a CORS preflight without credentials → Decision::Preflight)
//!   ├─ access token ──┐  (+ DPoP proof, binding, replay ........ dpop.rs)
//!   │                 │  (+ client certificate binding ......... mtls.rs)
//!   ├─ customer token ┴ verify_jwt_* → claims → Identity ......... identity.rs
//!   ├─ session ID ───── load_session (negative cache, idle touch)  sessions.rs
//!   └─ Basic ────────── verify_basic ............................. basic.rs
//!   ▼
//! combine / merge: the credentials must agree; scopes intersect .. merge.rs
//!   ▼
//! attribute: own, requested (policy) or default .................. attribution.rs
//!   ▼
//! Decision::Authenticated / Anonymous, or AuthError
//! ```
//!
//! Building: the builder and configuration checks in `build.rs`, the crypto
//! backend in `crypto.rs`, static key sources in `static_keys.rs`, issuers
//! (remote key URLs, HTTP client) in `issuers.rs`.

mod attribution;
mod basic;
mod build;
mod crypto;
mod decide;
mod dpop;
mod identity;
mod issuers;
mod merge;
mod mtls;
mod opaque;
mod presented;
mod sessions;
mod static_keys;

pub use build::{AuthenticatorBuilder, install_crypto_backend};
#[cfg_attr(not(any(feature = "tower", feature = "actix")), allow(unused_imports))]
pub(crate) use decide::Attempt;

use crate::config::{ClaimNames, TokenMarker};
use crate::context::{AuthContext, ContextShared};
use crate::credentials::CredentialSources;
use crate::error::{AuthError, AuthErrorKind};
use crate::jwt::IssuerVerifier;
use crate::jwt::cache::TokenCache;
use crate::scope::ScopeSet;
use crate::session::SessionStore;
use std::fmt;
use std::sync::Arc;

/// Verifies credentials and builds [`AuthContext`]s. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    engine: Arc<Engine>,
}

struct Engine {
    client_status: Option<Arc<dyn ClientStatus>>,
    revocations: Option<Arc<dyn crate::revocation::Revocations>>,
    basic: Option<Arc<dyn crate::basic::BasicVerifier>>,
    attribution: Option<AttributionRules>,
    issuers: Vec<Arc<IssuerVerifier>>,
    cache: Option<TokenCache>,
    /// Merged (access, customer token) contexts; only with the token cache.
    merged: Option<merge::MergeCache>,
    customer: Option<CustomerRules>,
    sessions: Option<SessionRules>,
    sources: CredentialSources,
    claims: ClaimNames,
    shared: Arc<ContextShared>,
    allow_cors_preflight: bool,
    dpop: DpopRules,
    /// Certificate-bound tokens (RFC 8705).
    mtls: mtls::MtlsRules,
    /// Opaque access tokens go here (RFC 7662), if configured.
    introspector: Option<Arc<crate::introspection::Introspector>>,
}

/// DPoP settings, checked at build.
struct DpopRules {
    policy: crate::dpop::DpopPolicy,
    window_secs: u64,
    public_url: Option<String>,
    scheme: String,
    max_proof_bytes: usize,
    replay: Arc<dyn crate::dpop::ReplayCache>,
}

struct CustomerRules {
    /// Parsed once at build time: a lookup by text parses it again.
    header: http::HeaderName,
    issuers: Vec<Arc<IssuerVerifier>>,
    marker: TokenMarker,
    customer_claim: String,
    client_claim: String,
    account_claim: String,
    allow_alone: bool,
    grant: ScopeSet,
}

struct AttributionRules {
    header: http::HeaderName,
    policy: Option<Arc<dyn AttributionPolicy>>,
}

struct SessionRules {
    store: Arc<dyn SessionStore>,
    header: Option<http::HeaderName>,
    cookie: Option<String>,
    /// Recently unknown session IDs (SHA-256) → when they were looked up (ms).
    unknown: Option<quick_cache::sync::Cache<[u8; 32], u64>>,
    negative_ttl_ms: u64,
}

/// Tells whether an API client may still use its tokens, so deactivating a
/// client takes effect before its tokens expire. Consulted on every request
/// that carries an access token (cached tokens included): keep it cheap, and
/// document the delay of any caching you add behind it.
pub trait ClientStatus: Send + Sync + std::fmt::Debug + 'static {
    /// Whether `client_id` is active.
    fn is_active(&self, client_id: &str) -> bool;
}

/// Decides what a client's writes are attributed to: the requested value
/// (from the attribution header) if the client may use it, else its default.
pub trait AttributionPolicy: Send + Sync + std::fmt::Debug + 'static {
    /// `Ok(value)` to use (`None`: no attribution), or
    /// `Err(AttributionRefused)` when `requested` is not allowed (403).
    fn resolve(
        &self,
        client_id: &str,
        requested: Option<&str>,
    ) -> Result<Option<String>, AttributionRefused>;
}

/// An [`AttributionPolicy`]'s refusal: the caller may not use the requested
/// attribution (or has none at all). Answered 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the attribution is not allowed for this caller")]
pub struct AttributionRefused;

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

impl Authenticator {
    /// Starts a builder.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    fn error(&self, kind: AuthErrorKind, desc: &'static str) -> AuthError {
        AuthError::new(kind, desc, &self.engine.shared.errors)
    }

    /// The 401 for a request without credentials.
    pub fn missing_credentials(&self) -> AuthError {
        self.error(AuthErrorKind::Missing, "credentials are required")
    }

    /// The session store, if sessions are enabled.
    pub fn session_store(&self) -> Option<&Arc<dyn SessionStore>> {
        self.engine.sessions.as_ref().map(|s| &s.store)
    }

    /// Fetches every remote key set now, so the first requests do not wait.
    pub async fn prefetch_keys(&self) -> Result<(), AuthError> {
        let mut missing = false;
        let customer = self.engine.customer.iter().flat_map(|c| c.issuers.iter());
        for issuer in self.engine.issuers.iter().chain(customer) {
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

    /// How many calls were made to the introspection endpoint (0 without
    /// introspection): for tests and metrics.
    pub fn introspection_calls(&self) -> u64 {
        self.engine.introspector.as_ref().map_or(0, |i| i.calls())
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

    /// Entries in the verified-token cache (diagnostics and tests).
    pub fn cached_tokens(&self) -> usize {
        self.engine.cache.as_ref().map_or(0, TokenCache::len)
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
            .field("customer_tokens", &self.engine.customer.is_some())
            .field("sessions", &self.engine.sessions.is_some())
            .finish_non_exhaustive()
    }
}
