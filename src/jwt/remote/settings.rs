//! [`RemoteKeySettings`]: the timing rules of remote key sources, and
//! their bounds.

use serde::{Deserialize, Serialize};
#[cfg(feature = "remote")]
use std::time::Duration;

/// Timing rules for remote key sources.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RemoteKeySettings {
    /// Timeout for one HTTP fetch, in milliseconds (default 5000).
    pub fetch_timeout_ms: u64,
    /// Least time between fetches triggered by unknown `kid`s, in seconds (default 30).
    pub refresh_cooldown_secs: u64,
    /// Freshness when the response has no usable `max-age`, in seconds (default 600).
    pub default_ttl_secs: u64,
    /// Lower bound on freshness, in seconds (default 60).
    pub min_ttl_secs: u64,
    /// Upper bound on freshness, in seconds (default 86400).
    pub max_ttl_secs: u64,
    /// Fetch keys over plain `http` from a host that is not a loopback
    /// address (default off: `https` only, except `127.0.0.0/8`, `::1` and
    /// `localhost`). Logged at warn when used.
    pub allow_insecure_http: bool,
}

impl Default for RemoteKeySettings {
    fn default() -> Self {
        Self {
            fetch_timeout_ms: 5_000,
            refresh_cooldown_secs: 30,
            default_ttl_secs: 600,
            min_ttl_secs: 60,
            max_ttl_secs: 86_400,
            allow_insecure_http: false,
        }
    }
}

impl RemoteKeySettings {
    /// Sets the timeout for one HTTP fetch, in milliseconds.
    #[must_use]
    pub fn with_fetch_timeout_ms(mut self, ms: u64) -> Self {
        self.fetch_timeout_ms = ms;
        self
    }

    /// Sets the least time between fetches triggered by unknown `kid`s, in seconds.
    #[must_use]
    pub fn with_refresh_cooldown_secs(mut self, secs: u64) -> Self {
        self.refresh_cooldown_secs = secs;
        self
    }

    /// Sets the freshness when the response has no usable `max-age`, in seconds.
    #[must_use]
    pub fn with_default_ttl_secs(mut self, secs: u64) -> Self {
        self.default_ttl_secs = secs;
        self
    }

    /// Sets the lower bound on freshness, in seconds.
    #[must_use]
    pub fn with_min_ttl_secs(mut self, secs: u64) -> Self {
        self.min_ttl_secs = secs;
        self
    }

    /// Sets the upper bound on freshness, in seconds.
    #[must_use]
    pub fn with_max_ttl_secs(mut self, secs: u64) -> Self {
        self.max_ttl_secs = secs;
        self
    }

    /// Sets whether keys may be fetched over plain `http` from a non-loopback host.
    #[must_use]
    pub fn with_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }
}

impl RemoteKeySettings {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.fetch_timeout_ms == 0 {
            return Err("remote_keys.fetch_timeout_ms must be greater than zero".into());
        }
        if self.fetch_timeout_ms > 60_000 {
            return Err("remote_keys.fetch_timeout_ms must be at most 60000 (60 s)".into());
        }
        if self.min_ttl_secs > self.max_ttl_secs {
            return Err("remote_keys.min_ttl_secs must not exceed max_ttl_secs".into());
        }
        // Bounded so every deadline computed from them stays far from overflow.
        if self.max_ttl_secs > MAX_TTL_SECS || self.default_ttl_secs > MAX_TTL_SECS {
            return Err(format!(
                "remote_keys.max_ttl_secs and default_ttl_secs must be at most {MAX_TTL_SECS} (7 days)"
            ));
        }
        if self.refresh_cooldown_secs > 3600 {
            return Err("remote_keys.refresh_cooldown_secs must be at most 3600".into());
        }
        Ok(())
    }

    #[cfg(feature = "remote")]
    pub(super) fn fetch_timeout(&self) -> Duration {
        Duration::from_millis(self.fetch_timeout_ms)
    }

    #[cfg(feature = "remote")]
    pub(super) fn cooldown(&self) -> Duration {
        Duration::from_secs(self.refresh_cooldown_secs)
    }
}

/// Upper bound for any key-set freshness setting: 7 days.
const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn settings_are_bounded() {
        let ok = RemoteKeySettings::default();
        assert!(ok.validate().is_ok());
        for bad in [
            RemoteKeySettings {
                max_ttl_secs: u64::MAX,
                ..ok.clone()
            },
            RemoteKeySettings {
                default_ttl_secs: u64::MAX,
                ..ok.clone()
            },
            RemoteKeySettings {
                fetch_timeout_ms: u64::MAX,
                ..ok.clone()
            },
            RemoteKeySettings {
                refresh_cooldown_secs: u64::MAX,
                ..ok.clone()
            },
            RemoteKeySettings {
                fetch_timeout_ms: 0,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
