//! Remote key sources: a JWKS URL, or OIDC discovery from the issuer.
//!
//! Rules (DESIGN.md, key-source rules):
//! - keys are parsed once per fetch into decoding keys and published through
//!   an [`ArcSwapOption`]; requests read them without taking any lock;
//! - freshness follows `Cache-Control: max-age`, clamped to configured
//!   bounds; revalidation sends `If-None-Match` with the last `ETag`;
//! - a background task refreshes the set before it goes stale, triggered by
//!   traffic, so an idle service makes no requests;
//! - an unknown `kid` triggers at most one fetch per cooldown, shared by all
//!   concurrent requests (single flight): the first waits for the fetch, the
//!   others wait for the same fetch and then re-check;
//! - a failed, slow (fetch timeout) or garbage response never replaces the
//!   last good set, and an empty set is never cached.
//!
//! The fetching half needs the `remote` feature (it brings the HTTP
//! client); without it [`RemoteKeys`] is a type with no values, and a
//! configuration naming a remote source is refused when it is built.

#[cfg(not(feature = "remote"))]
mod disabled;
#[cfg(feature = "remote")]
mod fetch;
mod location;
#[cfg(feature = "remote")]
mod refresh;
mod settings;

#[cfg(not(feature = "remote"))]
pub(crate) use disabled::RemoteKeys;
pub(crate) use location::check_url;
#[cfg(feature = "remote")]
pub(crate) use location::{RemoteLocation, redirect_policy};
pub use settings::RemoteKeySettings;

#[cfg(feature = "remote")]
use {
    super::keys::KeySet,
    arc_swap::ArcSwapOption,
    std::sync::Arc,
    std::sync::Mutex,
    std::sync::atomic::{AtomicBool, AtomicU64, Ordering},
    std::time::Instant,
};

#[cfg(feature = "remote")]
#[derive(Debug, Default)]
struct FetchState {
    etag: Option<String>,
    jwks_uri: Option<String>,
    /// Last fetch of any kind (start-up retries are paced by this).
    last_attempt: Option<Instant>,
    /// Last fetch triggered by an unknown `kid` (the cooldown applies to these).
    last_kid_refresh: Option<Instant>,
    /// When the held keys were last fetched or confirmed unchanged (the
    /// key-set age gauge).
    last_confirmed: Option<Instant>,
    in_flight: bool,
}

/// A remote key set with its cache state.
#[cfg(feature = "remote")]
#[derive(Debug)]
pub(crate) struct RemoteKeys {
    location: RemoteLocation,
    settings: RemoteKeySettings,
    client: reqwest::Client,
    keys: ArcSwapOption<KeySet>,
    /// Bumped after every completed fetch attempt; lets waiters see that a
    /// fetch happened while they queued.
    generation: AtomicU64,
    /// Milliseconds since `epoch` after which a background refresh is due.
    refresh_due_ms: AtomicU64,
    background_running: AtomicBool,
    epoch: Instant,
    state: Mutex<FetchState>,
    /// Serialises fetches; held across the fetch's await, never by a
    /// request that already has usable keys.
    fetch_lock: tokio::sync::Mutex<()>,
    fetch_count: AtomicU64,
    /// The issuer's position in its configuration list (the metrics label).
    index: usize,
}

#[cfg(feature = "remote")]
impl RemoteKeys {
    pub(crate) fn new(
        location: RemoteLocation,
        settings: RemoteKeySettings,
        client: reqwest::Client,
    ) -> Self {
        Self {
            location,
            settings,
            client,
            keys: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
            refresh_due_ms: AtomicU64::new(0),
            background_running: AtomicBool::new(false),
            epoch: Instant::now(),
            state: Mutex::new(FetchState::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetch_count: AtomicU64::new(0),
            index: 0,
        }
    }

    /// Sets the issuer's position in its configuration list, used as the
    /// `issuer_index` label of the key-count gauge.
    #[must_use]
    pub(crate) fn with_index(mut self, index: usize) -> Self {
        self.index = index;
        self
    }

    /// The current key set, without waiting on anything.
    pub(crate) fn current(&self) -> arc_swap::Guard<Option<Arc<KeySet>>> {
        self.keys.load()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many HTTP fetches of the key set were made (for tests and metrics).
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetch_count.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
