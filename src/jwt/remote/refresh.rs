//! When to fetch: the traffic-triggered background refresh before the set
//! goes stale, the single-flight refresh for an unknown `kid` with its
//! cooldown, and keeping the last good set when a fetch fails.

use super::{FetchState, RemoteKeys};
use crate::telemetry::{self, FetchResult};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

impl RemoteKeys {
    /// Starts a background refresh if the set is due for one. Cheap when not
    /// due: one clock read and one atomic load.
    pub(crate) fn refresh_if_due(self: &Arc<Self>) {
        let due = self.refresh_due_ms.load(Ordering::Relaxed);
        if due == 0 || self.now_ms() < due {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.background_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        handle.spawn(async move {
            let Some(this) = weak.upgrade() else { return };
            // Skip when a request-driven fetch is already running.
            if let Ok(_guard) = this.fetch_lock.try_lock() {
                this.mark_attempt();
                this.fetch_and_store().await;
            }
            this.background_running.store(false, Ordering::Release);
        });
    }

    fn mark_attempt(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.last_attempt = Some(Instant::now());
        }
    }

    /// Fetches the set because a token named a `kid` it lacks (or no keys
    /// are held yet). At most one fetch per cooldown; concurrent callers share
    /// it. `seen_generation` is the generation the caller verified against.
    pub(crate) async fn refresh_for(&self, seen_generation: u64) {
        let have_keys = self.keys.load().is_some();
        // With keys, the cooldown counts from the last kid-triggered fetch
        // (so a rotation soon after start-up is still picked up). With no
        // keys at all, retry after at most a second so a brief outage at
        // start-up does not lock clients out for long.
        let cooling = |st: &FetchState| {
            let (last, window) = if have_keys {
                (st.last_kid_refresh, self.settings.cooldown())
            } else {
                (
                    st.last_attempt,
                    self.settings.cooldown().min(Duration::from_secs(1)),
                )
            };
            last.is_some_and(|at| at.elapsed() < window)
        };
        match self.state.lock() {
            Ok(st) if !st.in_flight && cooling(&st) => return,
            Ok(_) => {}
            Err(_) => return,
        }
        let _guard = self.fetch_lock.lock().await;
        if self.generation() != seen_generation {
            // A fetch completed while we waited: use its result.
            return;
        }
        match self.state.lock() {
            Ok(mut st) => {
                if cooling(&st) {
                    return;
                }
                st.in_flight = true;
                let now = Instant::now();
                st.last_attempt = Some(now);
                if have_keys {
                    st.last_kid_refresh = Some(now);
                    telemetry::jwks_unknown_kid_refresh();
                }
            }
            Err(_) => return,
        }
        self.fetch_and_store().await;
        if let Ok(mut st) = self.state.lock() {
            st.in_flight = false;
        }
    }

    async fn fetch_and_store(&self) {
        let span = tracing::info_span!(
            "tollgate.jwks_refresh",
            issuer_index = self.index,
            result = tracing::field::Empty,
        );
        let timer = telemetry::Timer::start();
        let result = self.fetch().instrument(span.clone()).await;
        timer.stop(telemetry::Timed::JwksFetch);
        let _entered = span.enter();
        match result {
            Ok(Some((set, ttl))) => {
                tracing::debug!(keys = set.keys.len(), "tollgate: JWKS refreshed");
                telemetry::jwks_fetch(FetchResult::Fresh);
                telemetry::jwks_keys(self.index, set.keys.len());
                self.confirmed();
                span.record("result", "fresh");
                self.keys.store(Some(Arc::new(set)));
                self.schedule(ttl);
            }
            Ok(None) => {
                tracing::debug!("tollgate: JWKS not modified");
                telemetry::jwks_fetch(FetchResult::NotModified);
                self.confirmed();
                span.record("result", "not_modified");
            }
            Err(e) => {
                let (counted, label) = if self.keys.load().is_some() {
                    (FetchResult::StaleServed, "stale_served")
                } else {
                    (FetchResult::Failed, "failed")
                };
                telemetry::jwks_fetch(counted);
                if let Some(at) = self.state.lock().ok().and_then(|st| st.last_confirmed) {
                    telemetry::jwks_key_set_age(self.index, at.elapsed());
                }
                span.record("result", label);
                tracing::warn!(error = %e, "tollgate: JWKS fetch failed; keeping the last good keys");
                // Try again after the cooldown rather than at every request.
                self.schedule(self.settings.cooldown().max(Duration::from_secs(1)));
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The held keys are current as of now: the age gauge drops to 0.
    fn confirmed(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.last_confirmed = Some(Instant::now());
        }
        telemetry::jwks_key_set_age(self.index, Duration::ZERO);
    }

    pub(super) fn schedule(&self, ttl: Duration) {
        // Refresh at three quarters of the lifetime, before keys go stale.
        let ms = u64::try_from((ttl * 3 / 4).as_millis()).unwrap_or(u64::MAX);
        self.refresh_due_ms
            .store(self.now_ms().saturating_add(ms).max(1), Ordering::Relaxed);
    }
}
