//! Opaque access tokens: RFC 7662 token introspection.
//!
//! A token that is not a JWT (not three dot-separated parts) is sent to the
//! configured introspection endpoint, with the resource server's own client
//! credentials (§2.1, `client_secret_basic`). The answer becomes the same
//! typed [`AuthContext`](crate::AuthContext) a JWT gives (scopes, client,
//! customer and account by the same [`ClaimNames`](crate::ClaimNames)).
//!
//! - A positive cache keeps an active answer until the token's `exp`, and
//!   never longer than `max_cache_secs`; every hit re-checks `exp` and `nbf`.
//! - A short negative cache keeps "inactive" answers (`negative_cache_ms`),
//!   so a flood of made-up tokens costs one call each per window at most.
//! - Single flight: concurrent requests for one uncached token share one call.
//! - The call has a timeout; an endpoint that is down, slow or answers
//!   garbage gives 503 (never 401 for a token that may be valid), unless an
//!   active answer is cached.
//!
//! Cache keys are SHA-256 digests of the token: the token itself is never
//! kept, logged or put in an error.
//!
//! The call needs the `remote` feature (the HTTP client); without it an
//! introspection setting is refused when the authenticator is built.

#[cfg(feature = "remote")]
mod client;

#[cfg(feature = "remote")]
pub(crate) use client::Introspector;

use crate::config::Secret;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What an introspection says about a token.
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[derive(Clone, Debug)]
pub(crate) enum Introspected {
    /// Active, with these claims (`active` removed).
    Active(Arc<ActiveAnswer>),
    /// Not active (or expired since).
    Inactive,
    /// The endpoint could not answer (503).
    Unavailable,
}

/// An active answer, shared by every request that hits it in the cache.
#[derive(Debug)]
pub(crate) struct ActiveAnswer {
    /// The answer's claims (`active` removed).
    pub(crate) claims: serde_json::Map<String, serde_json::Value>,
    /// The context built from the claims, once (the per-request checks
    /// still run on every use): a warm hit then costs what a cached JWT does.
    pub(crate) context: std::sync::OnceLock<crate::context::AuthContext>,
}

/// Without the `remote` feature there is no introspection client: this
/// type has no values, so every path that would use one is unreachable.
#[cfg(not(feature = "remote"))]
#[derive(Debug)]
pub(crate) enum Introspector {}

#[cfg(not(feature = "remote"))]
impl Introspector {
    pub(crate) fn calls(&self) -> u64 {
        match *self {}
    }

    #[allow(clippy::unused_async)]
    pub(crate) async fn introspect(&self, _token: &str, _leeway: u64) -> Introspected {
        match *self {}
    }
}

/// Where and how opaque tokens are introspected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IntrospectionSettings {
    /// The introspection endpoint (`https`, or `http` to loopback unless
    /// `allow_insecure_http`).
    pub url: String,
    /// This resource server's client id at the authorization server.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: Secret,
    /// Timeout per call (default 2000 ms).
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    /// Longest an active answer is cached, even if the token lives longer
    /// (default 300 s; 0 turns the positive cache off).
    #[serde(default = "defaults::max_cache_secs")]
    pub max_cache_secs: u64,
    /// How long an inactive answer is cached (default 2000 ms).
    #[serde(default = "defaults::negative_cache_ms")]
    pub negative_cache_ms: u64,
    /// Most cached answers (default 10 000).
    #[serde(default = "defaults::max_entries")]
    pub max_entries: usize,
    /// Allow plain `http` to a non-loopback endpoint (never in production).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

mod defaults {
    pub(super) fn timeout_ms() -> u64 {
        2000
    }
    pub(super) fn max_cache_secs() -> u64 {
        300
    }
    pub(super) fn negative_cache_ms() -> u64 {
        2000
    }
    pub(super) fn max_entries() -> usize {
        10_000
    }
}

impl IntrospectionSettings {
    /// Introspect at `url` as `client_id` / `client_secret`.
    pub fn new(
        url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret.into()),
            timeout_ms: defaults::timeout_ms(),
            max_cache_secs: defaults::max_cache_secs(),
            negative_cache_ms: defaults::negative_cache_ms(),
            max_entries: defaults::max_entries(),
            allow_insecure_http: false,
        }
    }

    /// Sets the timeout per call.
    #[must_use]
    pub fn with_timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Sets the longest an active answer is cached.
    #[must_use]
    pub fn with_max_cache_secs(mut self, secs: u64) -> Self {
        self.max_cache_secs = secs;
        self
    }

    /// Sets how long an inactive answer is cached.
    #[must_use]
    pub fn with_negative_cache_ms(mut self, ms: u64) -> Self {
        self.negative_cache_ms = ms;
        self
    }

    /// Allows plain `http` to a non-loopback endpoint.
    #[must_use]
    pub fn with_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn validate(&self) -> Result<(), String> {
        crate::jwt::remote::check_url(&self.url, self.allow_insecure_http)?;
        if self.client_id.is_empty() {
            return Err("introspection needs a client id".into());
        }
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err("introspection timeout_ms must be 1..=60000".into());
        }
        if self.max_cache_secs > 86_400 || self.negative_cache_ms > 60_000 {
            return Err("introspection cache times are too long (max 1 day / 60 s)".into());
        }
        if self.max_entries == 0 || self.max_entries > 10_000_000 {
            return Err("introspection max_entries must be 1..=10000000".into());
        }
        Ok(())
    }
}
