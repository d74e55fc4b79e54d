//! Following the shared set: one poll, and the background refresher that
//! keeps the local ring in step with other instances.

use super::{KeyStoreError, RedisKeyStore};
use std::sync::Arc;
use std::time::Duration;

/// While the refresher keeps failing, it logs a warning on the first failure
/// and then once every this many failures.
const WARN_EVERY: u64 = 60;

/// Shortest refresher interval (a zero interval would spin).
const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl RedisKeyStore {
    /// Polls Redis once and applies a newer set to the local ring. Returns
    /// whether the ring changed. On failure the ring is left as it is.
    pub async fn refresh(&self) -> Result<bool, KeyStoreError> {
        match self.fetch(self.applied_version()).await? {
            Some(doc) => self.apply(&doc),
            None => Ok(false),
        }
    }

    /// Spawns a task on the current Tokio runtime that calls
    /// [`refresh`](Self::refresh) every `interval` (at least 10 ms; 1 s is a
    /// sensible default), so changes made by other instances reach the
    /// local ring within `interval` plus one Redis round trip. Failures
    /// keep the last good ring and are logged at `warn` (the first, then
    /// every 60th while they last); recovery is logged at `info`.
    ///
    /// The task holds the store weakly: it ends by itself once every clone
    /// of the store is dropped, or when the returned handle is aborted.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, like [`tokio::spawn`].
    pub fn spawn_refresher(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let interval = interval.max(MIN_INTERVAL);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick completes at once; the first poll is one interval away.
            ticker.tick().await;
            let mut failures: u64 = 0;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                let store = Self { inner };
                match store.refresh().await {
                    Ok(changed) => {
                        if failures > 0 {
                            tracing::info!(
                                key = %store.inner.key,
                                failures,
                                "tollgate: signing key refresh recovered"
                            );
                            failures = 0;
                        }
                        if changed {
                            tracing::info!(
                                key = %store.inner.key,
                                version = store.applied_version(),
                                kids = ?store.inner.ring.kids(),
                                "tollgate: applied a newer signing key set"
                            );
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(WARN_EVERY) {
                            tracing::warn!(
                                key = %store.inner.key,
                                error = %e,
                                failures,
                                "tollgate: signing key refresh failed; keeping the current key ring"
                            );
                        }
                    }
                }
            }
        })
    }
}
