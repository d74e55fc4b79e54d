//! DPoP (RFC 9449): sender-constrained access tokens.
//!
//! A DPoP-bound token names the thumbprint of the client's key in its
//! `cnf.jkt` claim; every request presents it as `Authorization: DPoP
//! <token>` with a fresh `DPoP` proof JWT signed by that key, naming the
//! request's method and URI and the token's hash. A stolen token is useless
//! without the key.
//!
//! The engine checks proofs for every adapter, according to a
//! [`DpopPolicy`] set in [`DpopConfig`] (on the builder or in
//! [`AuthConfig::dpop`](crate::AuthConfig::dpop)):
//!
//! | presented | `Off` | `Allowed` (default) | `Required` |
//! |---|---|---|---|
//! | `Bearer`, token without `cnf` | accepted | accepted | 401 `invalid_token` |
//! | `Bearer`, token with `cnf.jkt` | 401 `invalid_token` | 401 `invalid_token` | 401 `invalid_token` |
//! | `DPoP` + valid proof, token with matching `cnf.jkt` | 401 (unsupported scheme) | accepted | accepted |
//! | `DPoP`, token without `cnf` | 401 (unsupported scheme) | 401 `invalid_token` | 401 `invalid_token` |
//! | `DPoP`, proof missing, repeated or invalid | 401 (unsupported scheme) | 401 `invalid_dpop_proof` | 401 `invalid_dpop_proof` |
//!
//! A token without `cnf` presented with the `DPoP` scheme is refused: RFC
//! 9449 §7.2 lets a resource server accept it, but a client that holds a key
//! and still got an unbound token is misconfigured, and accepting it would
//! make the binding look stronger than it is.
//!
//! The verified-token cache caches the token's verification only; the proof
//! is verified on every request, and its `jti` (scoped to the key) is
//! accepted once within the `iat` window ([`ReplayCache`]; share a
//! `RedisReplayCache` between instances).
//!
//! Module layout: `proof.rs` (the proof JWT), `thumbprint.rs` (RFC 7638),
//! `replay.rs` (the `jti` cache), `htu.rs` (URI normalisation).

mod htu;
pub(crate) mod proof;
mod replay;
mod thumbprint;

#[cfg(feature = "issuer")]
pub(crate) use htu::normalize as normalize_htu;
pub(crate) use htu::request_htu;
pub use proof::{DEFAULT_MAX_PROOF_BYTES, PROOF_ALGORITHMS};
#[cfg(feature = "redis")]
pub use replay::RedisReplayCache;
pub use replay::{
    DEFAULT_REPLAY_CAPACITY, MemoryReplayCache, ReplayCache, ReplayCacheError, ReplayKey,
};
pub use thumbprint::jwk_thumbprint;

use serde::{Deserialize, Serialize};

/// Whether access tokens may, or must, be DPoP-bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DpopPolicy {
    /// The `DPoP` scheme is not accepted (it is an unsupported scheme);
    /// DPoP-bound tokens are therefore refused.
    Off,
    /// Bearer tokens and DPoP-bound tokens with proofs are both accepted.
    #[default]
    Allowed,
    /// Only DPoP-bound tokens with proofs are accepted.
    Required,
}

impl std::str::FromStr for DpopPolicy {
    type Err = String;

    /// `off`, `allowed` or `required`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Self::Off),
            "allowed" => Ok(Self::Allowed),
            "required" => Ok(Self::Required),
            other => Err(format!(
                "DPoP policy {other:?} is not one of off, allowed, required"
            )),
        }
    }
}

/// DPoP settings of an [`Authenticator`](crate::Authenticator); see the
/// [module docs](self).
///
/// ```
/// use tollgate::dpop::{DpopConfig, DpopPolicy};
/// let cfg = DpopConfig::default()
///     .with_policy(DpopPolicy::Required)
///     .with_public_url("https://api.example.com");
/// # let _ = cfg;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DpopConfig {
    /// Off, allowed (default) or required.
    pub policy: DpopPolicy,
    /// A proof's `iat` may be this many seconds in the past or the future
    /// (default 60). Proof `jti`s are remembered for twice this.
    pub iat_window_secs: u64,
    /// The external base URL of this API (e.g. `https://api.example.com`),
    /// prefixed to the request path to form the `htu` a proof must name.
    /// Set it behind a proxy; when unset, the request's `Host` and
    /// [`scheme`](Self::scheme) are used.
    pub public_url: Option<String>,
    /// The scheme of the request URI when no `public_url` is set (default
    /// `https`).
    pub scheme: String,
    /// Largest accepted proof, in bytes (default 8 KiB).
    pub max_proof_bytes: usize,
    /// Capacity of the default in-memory replay cache (default 100 000).
    pub replay_capacity: usize,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            policy: DpopPolicy::default(),
            iat_window_secs: 60,
            public_url: None,
            scheme: "https".into(),
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
        }
    }
}

impl DpopConfig {
    /// Sets the policy.
    #[must_use]
    pub fn with_policy(mut self, policy: DpopPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the `iat` window, in seconds.
    #[must_use]
    pub fn with_iat_window_secs(mut self, secs: u64) -> Self {
        self.iat_window_secs = secs;
        self
    }

    /// Sets the external base URL.
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Sets the scheme used when no external base URL is set.
    #[must_use]
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = scheme.into();
        self
    }

    /// Sets the largest accepted proof, in bytes.
    #[must_use]
    pub fn with_max_proof_bytes(mut self, bytes: usize) -> Self {
        self.max_proof_bytes = bytes;
        self
    }

    /// Sets the capacity of the default in-memory replay cache.
    #[must_use]
    pub fn with_replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.iat_window_secs == 0 || self.iat_window_secs > 3600 {
            return Err("dpop.iat_window_secs must be between 1 and 3600".into());
        }
        if !matches!(self.scheme.as_str(), "http" | "https") {
            return Err("dpop.scheme must be http or https".into());
        }
        if let Some(url) = &self.public_url
            && (htu::normalize(url).is_none() || url.contains(['?', '#']))
        {
            return Err(format!(
                "dpop.public_url {url:?} is not an absolute http(s) URL without query"
            ));
        }
        if self.max_proof_bytes == 0 || self.replay_capacity == 0 {
            return Err("dpop.max_proof_bytes and dpop.replay_capacity must be positive".into());
        }
        Ok(())
    }
}

/// How a request's access token was bound, from
/// [`AuthContext::binding`](crate::AuthContext::binding).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenBinding {
    /// Not sender-constrained: a bearer token (or no access token at all).
    Bearer,
    /// DPoP-bound, and this request's proof was signed by the key with
    /// thumbprint `jkt`.
    Dpop {
        /// The RFC 7638 thumbprint of the proof key (`cnf.jkt`).
        jkt: String,
    },
    /// Certificate-bound (RFC 8705), and this request presented the client
    /// certificate with thumbprint `x5t_s256` (see [`crate::mtls`]).
    Certificate {
        /// The certificate's SHA-256 thumbprint, base64url (`cnf.x5t#S256`).
        x5t_s256: String,
    },
}
