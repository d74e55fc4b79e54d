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

use super::keys::KeySet;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
#[cfg(feature = "remote")]
use {
    crate::telemetry::{self, FetchResult},
    arc_swap::ArcSwapOption,
    std::sync::atomic::{AtomicBool, AtomicU64, Ordering},
    std::sync::{Mutex, Weak},
    std::time::{Duration, Instant},
    tracing::Instrument as _,
};

/// Most bytes read from a JWKS or discovery response.
#[cfg(feature = "remote")]
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

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
    fn fetch_timeout(&self) -> Duration {
        Duration::from_millis(self.fetch_timeout_ms)
    }

    #[cfg(feature = "remote")]
    fn cooldown(&self) -> Duration {
        Duration::from_secs(self.refresh_cooldown_secs)
    }

    /// Freshness of a key-set response (RFC 9111 §4.2.1, as a private
    /// cache): `no-cache`/`no-store` → refetch soon; else `max-age` less the
    /// `Age` the response already spent in caches; else the default; then
    /// clamped to the configured bounds. `s-maxage` is for shared caches and
    /// does not apply here. Parsed by the `headers` crate; an unparsable
    /// `Cache-Control` counts as absent.
    #[cfg(feature = "remote")]
    fn ttl_from(&self, headers: &http::HeaderMap) -> Duration {
        use headers::HeaderMapExt as _;
        let age = headers
            .typed_get::<headers::Age>()
            .map_or(0, |a| a.as_secs());
        let ttl = match headers.typed_get::<headers::CacheControl>() {
            Some(cc) if cc.no_cache() || cc.no_store() => 0,
            Some(cc) => cc
                .max_age()
                .map_or(self.default_ttl_secs, |m| m.as_secs().saturating_sub(age)),
            None => self.default_ttl_secs,
        };
        Duration::from_secs(ttl.clamp(self.min_ttl_secs, self.max_ttl_secs))
    }
}

/// Upper bound for any key-set freshness setting: 7 days.
const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

/// Whether keys may be fetched from `url`: `https`, or `http` to a loopback
/// host, or `http` anywhere when `allow_insecure_http` is set. Anything else
/// (another scheme, no host, unparsable) is refused.
pub(crate) fn check_url(url: &str, allow_insecure_http: bool) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("{url:?} names no host")),
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback || allow_insecure_http => Ok(()),
        "http" => Err(format!(
            "{url:?} is plain http to a non-loopback host; use https (or set remote_keys.allow_insecure_http)"
        )),
        other => Err(format!("{url:?}: scheme {other:?} is not http(s)")),
    }
}

/// Redirects are followed (at most 3) only within the origin of the first
/// request: a key document never comes from a host that was not configured.
#[cfg(feature = "remote")]
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 3 {
            attempt.error("too many redirects")
        } else if !same_origin {
            attempt.error("redirect to another origin refused")
        } else {
            attempt.follow()
        }
    })
}

/// Where the keys come from.
#[cfg(feature = "remote")]
#[derive(Clone, Debug)]
pub(crate) enum RemoteLocation {
    Jwks(String),
    /// Discover `jwks_uri` from `<issuer>/.well-known/openid-configuration`.
    Discovery {
        issuer: String,
    },
}

/// Why a fetch did not produce keys.
#[cfg(feature = "remote")]
#[derive(Debug)]
pub(crate) enum FetchError {
    Http(String),
    Status(u16),
    Timeout,
    Garbage(String),
    Empty,
}

#[cfg(feature = "remote")]
impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(e) => write!(f, "request failed: {e}"),
            Self::Status(s) => write!(f, "unexpected HTTP status {s}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Garbage(e) => write!(f, "unusable response: {e}"),
            Self::Empty => f.write_str("no usable keys in the set"),
        }
    }
}

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

    fn schedule(&self, ttl: Duration) {
        // Refresh at three quarters of the lifetime, before keys go stale.
        let ms = u64::try_from((ttl * 3 / 4).as_millis()).unwrap_or(u64::MAX);
        self.refresh_due_ms
            .store(self.now_ms().saturating_add(ms).max(1), Ordering::Relaxed);
    }

    /// One fetch. `Ok(None)` means 304 Not Modified.
    async fn fetch(&self) -> Result<Option<(KeySet, Duration)>, FetchError> {
        let url = self.jwks_url().await?;
        let etag = self.state.lock().ok().and_then(|s| s.etag.clone());
        let mut req = self
            .client
            .get(&url)
            .header(http::header::ACCEPT, "application/json");
        if let (Some(etag), true) = (&etag, self.keys.load().is_some()) {
            req = req.header(http::header::IF_NONE_MATCH, etag.as_str());
        }
        self.fetch_count.fetch_add(1, Ordering::Relaxed);
        let (status, headers, body) = self.send(req).await?;
        let ttl = self.settings.ttl_from(&headers);
        if status == http::StatusCode::NOT_MODIFIED {
            self.schedule(ttl);
            return Ok(None);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let set = KeySet::from_jwks(&body, false).map_err(FetchError::Garbage)?;
        if set.is_empty() {
            return Err(FetchError::Empty);
        }
        let new_etag = headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Ok(mut st) = self.state.lock() {
            st.etag = new_etag;
        }
        Ok(Some((set, ttl)))
    }

    async fn jwks_url(&self) -> Result<String, FetchError> {
        match &self.location {
            RemoteLocation::Jwks(url) => Ok(url.clone()),
            RemoteLocation::Discovery { issuer } => {
                if let Some(uri) = self.state.lock().ok().and_then(|s| s.jwks_uri.clone()) {
                    return Ok(uri);
                }
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let req = self
                    .client
                    .get(&url)
                    .header(http::header::ACCEPT, "application/json");
                let (status, _, body) = self.send(req).await?;
                if !status.is_success() {
                    return Err(FetchError::Status(status.as_u16()));
                }
                #[derive(Deserialize)]
                struct Discovery {
                    issuer: String,
                    jwks_uri: String,
                }
                let doc: Discovery = serde_json::from_slice(&body)
                    .map_err(|e| FetchError::Garbage(format!("discovery document: {e}")))?;
                // OpenID Connect Discovery §4.3: the document must name the
                // issuer it was fetched for.
                if doc.issuer != *issuer {
                    return Err(FetchError::Garbage(
                        "discovery document names a different issuer".into(),
                    ));
                }
                check_url(&doc.jwks_uri, self.settings.allow_insecure_http)
                    .map_err(|e| FetchError::Garbage(format!("jwks_uri: {e}")))?;
                if let Ok(mut st) = self.state.lock() {
                    st.jwks_uri = Some(doc.jwks_uri.clone());
                }
                Ok(doc.jwks_uri)
            }
        }
    }

    /// Sends a request and reads at most [`MAX_DOCUMENT_BYTES`], all within
    /// the fetch timeout.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(http::StatusCode, http::HeaderMap, Vec<u8>), FetchError> {
        let work = async {
            let mut resp = req
                .send()
                .await
                .map_err(|e| FetchError::Http(e.to_string()))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| FetchError::Http(e.to_string()))?
            {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(FetchError::Garbage("document too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, headers, body))
        };
        tokio::time::timeout(self.settings.fetch_timeout(), work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

/// Without the `remote` feature there is no remote key set: this type has
/// no values, so every path that would use one is unreachable.
#[cfg(not(feature = "remote"))]
#[derive(Debug)]
pub(crate) enum RemoteKeys {}

#[cfg(not(feature = "remote"))]
impl RemoteKeys {
    pub(crate) fn current(&self) -> arc_swap::Guard<Option<Arc<KeySet>>> {
        match *self {}
    }

    pub(crate) fn generation(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn fetch_count(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn refresh_if_due(self: &Arc<Self>) {
        match **self {}
    }

    #[allow(clippy::unused_async)]
    pub(crate) async fn refresh_for(&self, _seen_generation: u64) {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_are_https_unless_loopback_or_allowed() {
        for ok in [
            "https://auth.example.com/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.9.9/jwks",
            "http://localhost:3000/jwks",
            "http://[::1]:3000/jwks",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://auth.example.com/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.evil.example/jwks",
            "ftp://auth.example.com/jwks",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://auth.example.com/jwks", true).is_ok());
        assert!(check_url("ftp://auth.example.com/jwks", true).is_err());
    }

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

    #[cfg(feature = "remote")]
    #[test]
    fn ttl_honours_max_age_and_age_within_bounds() {
        let s = RemoteKeySettings::default();
        let ttl = |pairs: &[(&str, &str)]| {
            let mut h = http::HeaderMap::new();
            for (k, v) in pairs {
                h.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            s.ttl_from(&h)
        };
        let cc = |v: &str| ttl(&[("cache-control", v)]);
        assert_eq!(ttl(&[]), Duration::from_secs(600));
        assert_eq!(cc("public, max-age=3600"), Duration::from_secs(3600));
        assert_eq!(cc("max-age=5"), Duration::from_secs(60));
        assert_eq!(cc("max-age=99999999"), Duration::from_secs(86_400));
        assert_eq!(cc("no-cache"), Duration::from_secs(60));
        assert_eq!(cc("max-age=3600, no-store"), Duration::from_secs(60));
        assert_eq!(cc("max-age=abc"), Duration::from_secs(600));
        // Age already spent in caches counts against max-age.
        assert_eq!(
            ttl(&[("cache-control", "max-age=3600"), ("age", "600")]),
            Duration::from_secs(3000)
        );
        assert_eq!(
            ttl(&[("cache-control", "max-age=3600"), ("age", "7200")]),
            Duration::from_secs(60)
        );
        // s-maxage is for shared caches; a private cache uses max-age.
        assert_eq!(
            cc("max-age=1200, s-maxage=86400"),
            Duration::from_secs(1200)
        );
    }
}
