//! [`SessionSources`]: where session IDs are read from.

use serde::{Deserialize, Serialize};

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
