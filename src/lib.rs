//! tollgate: auth middleware for HTTP APIs.
//!
//! tollgate verifies the credentials platforms hand out (today: OAuth2
//! client-credentials access tokens as JWTs), builds one typed
//! [`AuthContext`] per request, and enforces per-entity scopes
//! (`orders:write`). Errors follow RFC 6750 exactly (see [`error`]).
//!
//! The engine ([`Authenticator`], [`credentials`], `jwt`, [`ScopeSet`],
//! [`policy`], [`context`], [`error`]) knows no web framework; the
//! [`tower`] and [`axum`] modules only translate.
//!
//! ```
//! use tollgate::{Authenticator, IssuerConfig};
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://auth.example.com/").audience("orders-api")
//!         .jwks_url("https://auth.example.com/.well-known/jwks.json"))
//!     .build()?;
//! # let _ = auth;
//! # Ok::<(), tollgate::ConfigError>(())
//! ```
// docs.rs (`--cfg docsrs`, nightly): label feature-gated items with the
// features they need. `doc_cfg` now includes what `doc_auto_cfg` did (that
// feature gate was removed from nightly).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
// Untrusted input must never panic the engine: no unwrap/expect/panic or
// unchecked indexing outside tests.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod authenticator;
pub mod basic;
pub mod config;
pub mod context;
pub mod credentials;
pub mod dpop;
pub(crate) mod earliest_expiry;
pub mod error;
pub mod extract;
pub(crate) mod introspection;
pub(crate) mod jwt;
pub mod mtls;
pub mod policy;
#[cfg(feature = "redis")]
pub(crate) mod redis_conn;
pub mod render;
pub mod revocation;
pub(crate) mod scope;
pub(crate) mod secret_digest;
pub mod session;
pub(crate) mod session_id;
pub mod telemetry;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(all(feature = "actix", any(feature = "issuer", feature = "login")))]
pub(crate) mod actix_http;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "cli")]
pub mod explain;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "issuer")]
pub mod issuer;
#[cfg(feature = "login")]
pub mod login;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "test-util")]
pub mod testing;
#[cfg(feature = "tower")]
pub mod tower;

pub use authenticator::{
    AttributionPolicy, AttributionRefused, Authenticator, AuthenticatorBuilder, ClientStatus,
    Decision, Mode, install_crypto_backend,
};
pub use config::{
    AuthConfig, ClaimNames, ConfigError, ConfigErrorKind, CryptoBackend, CustomerTokenConfig,
    ExpiredStatus, IssuerConfig, KeySource, Secret, SessionSources,
};
pub use context::{AuthContext, CredentialKinds};
pub use credentials::{Credential, CredentialSources};
pub use dpop::{DpopConfig, DpopPolicy, TokenBinding};
pub use error::{AuthError, AuthErrorKind};
pub use extract::{Auth, Customer, Require, ScopeRequirement};
pub use introspection::IntrospectionSettings;
/// A JOSE signature algorithm, as configured ([`IssuerConfig::algorithms`],
/// [`KeySource`]): `jsonwebtoken`'s, serialized by its JOSE name (`"RS256"`).
pub use jsonwebtoken::Algorithm;
pub use jwt::{RemoteKeySettings, TokenCacheSettings};
pub use mtls::{ClientCertificate, MtlsConfig};
#[cfg(feature = "redis")]
pub use redis_conn::RedisError;
pub use scope::{Scope, ScopeError, ScopeRules, ScopeSet};

pub use session::{MemoryStore, SessionStore};

#[cfg(feature = "macros")]
pub use tollgate_macros::{require, scopes};

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Items the macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::extract::ScopeRequirement;
    pub use crate::policy;
}
