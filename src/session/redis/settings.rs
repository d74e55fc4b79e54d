//! [`RedisSettings`]: where the store connects, its key prefix, time budget
//! and local caching; and the URL redaction its `Debug` and errors use.

use serde::Deserialize;
use std::fmt;

/// Settings of a [`RedisStore`](super::RedisStore). Deserializable; every
/// field has a default.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisSettings {
    /// Connection URL (`redis://[:password@]host[:port][/db]`). Default
    /// `redis://127.0.0.1:6379`.
    pub url: String,
    /// Prefix of every key the store writes. Default `tollgate:`.
    pub key_prefix: String,
    /// Time budget of one store call (connecting included), in ms. Past it
    /// the call fails with [`StoreError::Unavailable`](crate::session::StoreError::Unavailable). Default 250.
    pub timeout_ms: u64,
    /// Lifetime of the local read cache entries, in ms; 0 (the default)
    /// turns the cache off. See [`RedisStore`](super::RedisStore) for what it trades away.
    /// With [`tracking`](Self::tracking) it is the entries' maximum age
    /// (default 60 s then).
    pub local_cache_ms: u64,
    /// Server-assisted client-side caching (RESP3 `CLIENT TRACKING`, Redis
    /// 6 or later): sessions are cached in process and dropped as soon as
    /// Redis announces a change by any instance. Off by default.
    pub tracking: bool,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            key_prefix: "tollgate:".to_owned(),
            timeout_ms: 250,
            local_cache_ms: 0,
            tracking: false,
        }
    }
}

impl RedisSettings {
    /// Settings for the server at `url`, every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Sets the prefix of every key the store writes.
    #[must_use]
    pub fn with_key_prefix(mut self, key_prefix: impl Into<String>) -> Self {
        self.key_prefix = key_prefix.into();
        self
    }

    /// Sets the time budget of one store call, in ms.
    #[must_use]
    pub fn with_timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }

    /// Sets the lifetime of local read cache entries, in ms (0: off).
    #[must_use]
    pub fn with_local_cache_ms(mut self, local_cache_ms: u64) -> Self {
        self.local_cache_ms = local_cache_ms;
        self
    }

    /// Turns server-assisted client-side caching on or off.
    #[must_use]
    pub fn with_tracking(mut self, tracking: bool) -> Self {
        self.tracking = tracking;
        self
    }
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("timeout_ms", &self.timeout_ms)
            .field("local_cache_ms", &self.local_cache_ms)
            .field("tracking", &self.tracking)
            .finish()
    }
}

/// The URL without its credentials (`redis://***@host:port`).
pub(crate) fn redact_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => {
            format!("{scheme}://***{}", url.get(at..).unwrap_or_default())
        }
        _ => url.to_owned(),
    }
}
