//! [`RedisStore`]: sessions in Redis, shared by every process that points at
//! the same server and key prefix.

use super::redis_scripts::{
    CAS_BODY, DEADLINE, EXTEND_INDEX, INSERT_BODY, LOOKUP_BODY, REMOVE_CUSTOMER_SCRIPT,
    REMOVE_SCRIPT,
};
use super::{SessionId, SessionRecord, SessionStore, StoreError};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Longest a tracked cache entry is kept (a backstop: invalidations are
/// what keep it fresh).
const DEFAULT_TRACKED_MAX_AGE: Duration = Duration::from_secs(60);

/// The tracking connection of a store, started on first use.
struct Tracking {
    tracker: Arc<super::tracking::Tracker>,
    client: redis::Client,
    started: AtomicBool,
}

/// Most records the optional local read cache holds.
const LOCAL_CACHE_MAX_ENTRIES: usize = 10_000;

/// Latest expiry handed to Redis (year 3000, ms since the epoch): far past
/// any real session, well inside what `PEXPIREAT` accepts.
const MAX_DEADLINE_MS: u64 = 32_503_680_000_000;

/// The timing arguments of the write scripts: last seen, expires at, idle
/// timeout ("" for none).
fn timing_args(call: &mut redis::ScriptInvocation<'_>, record: &SessionRecord) {
    call.arg(record.last_seen_ms)
        .arg(record.expires_at_ms.min(MAX_DEADLINE_MS))
        .arg(
            record
                .idle_ttl_ms
                .map(|i| i.to_string())
                .unwrap_or_default(),
        );
}

/// Settings of a [`RedisStore`]. Deserializable; every field has a default.
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
    /// the call fails with [`StoreError::Unavailable`]. Default 250.
    pub timeout_ms: u64,
    /// Lifetime of the local read cache entries, in ms; 0 (the default)
    /// turns the cache off. See [`RedisStore`] for what it trades away.
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

/// The optional local read cache. `generation` is bumped by every write or
/// removal of this store, so a load that raced with one never caches what it
/// fetched before it.
#[derive(Default)]
pub(super) struct LocalCache {
    pub(super) entries: HashMap<SessionId, (SessionRecord, Instant)>,
    pub(super) generation: u64,
}

/// A [`SessionStore`] in Redis.
///
/// Each session is a hash `{prefix}sess:{id}` (fields `v` = version, `d` =
/// the record as JSON, `a` / `c` = account / customer) that Redis itself
/// expires at the record's [`deadline_ms`](SessionRecord::deadline_ms);
/// `compare_and_swap` and `insert` (NX) are Lua scripts, so they are atomic.
/// Each customer has an index set `{prefix}cust:{account}:{customer}` of its
/// session IDs that never expires before them, used by `remove_customer`
/// (which deletes only sessions whose stored account and customer match).
/// The scripts touch keys they derive themselves, so this needs a single
/// Redis (or a primary with replicas), not Redis Cluster.
///
/// Connection: [`RedisStore::new`] only checks the URL; the connection is
/// made on first use and, once made, re-established automatically. Every call
/// (connecting included) gets `timeout_ms`; a timeout or a connection error
/// is [`StoreError::Unavailable`], and the next call tries again, so the
/// store recovers by itself when Redis comes back.
///
/// Consistency: with `local_cache_ms` = 0 (the default) every `load` asks
/// Redis, so stores in different processes sharing one Redis and prefix see
/// each other's creations and revocations immediately. With
/// `local_cache_ms` > 0, `load` may answer from a small in-process cache
/// (bounded, entries at most `local_cache_ms` old). The store's own writes and
/// removals invalidate it, but **a revocation made by another process takes
/// up to `local_cache_ms` to be seen here**: a revoked session may keep
/// working on this process for that long.
pub struct RedisStore {
    client: redis::Client,
    redacted_url: String,
    manager: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    cache_ttl: Option<Duration>,
    cache: Arc<Mutex<LocalCache>>,
    /// Client-side caching with invalidation (`RedisSettings::tracking`).
    tracking: Option<Tracking>,
    insert_script: redis::Script,
    cas_script: redis::Script,
    lookup_script: redis::Script,
    remove_script: redis::Script,
    remove_customer_script: redis::Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.redacted_url)
            .field("key_prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("local_cache", &self.cache_ttl)
            .field(
                "tracking",
                &self.tracking.as_ref().map(|t| t.tracker.healthy()),
            )
            .field("connected", &self.manager.initialized())
            .finish_non_exhaustive()
    }
}

/// Maps a Redis error: anything about reaching the server is `Unavailable`.
fn map_err(e: &redis::RedisError) -> StoreError {
    if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
    {
        StoreError::Unavailable(format!("redis: {e}"))
    } else {
        StoreError::Backend(format!("redis: {e}"))
    }
}

/// Decodes a stored session: the JSON record `data`, its version field `v`
/// (what `compare_and_swap` checks: it wins over the JSON's) and its last
/// use `l` (slid by lookups without rewriting the JSON: the later one wins).
/// Anything inconsistent is treated as missing, with a warning.
fn decode(
    id: &SessionId,
    version: Option<String>,
    data: Option<String>,
    last: Option<String>,
) -> Option<SessionRecord> {
    let data = data?;
    let mut record = match serde_json::from_str::<SessionRecord>(&data) {
        Ok(record) if record.id == *id => record,
        Ok(_) => {
            tracing::warn!(
                session = id.redacted(),
                "stored session record has another id; treated as missing"
            );
            return None;
        }
        Err(e) => {
            tracing::warn!(
                session = id.redacted(),
                error = %e,
                "unreadable stored session record; treated as missing"
            );
            return None;
        }
    };
    match version.as_deref().map(str::parse::<u64>) {
        Some(Ok(v)) => record.version = v,
        _ => {
            tracing::warn!(
                session = id.redacted(),
                "stored session record has no valid version; treated as missing"
            );
            return None;
        }
    }
    if let Some(Ok(l)) = last.as_deref().map(str::parse::<u64>) {
        record.last_seen_ms = record.last_seen_ms.max(l);
    }
    Some(record)
}

/// How long after its last slide a cached idle session may be answered
/// without sliding it again: a twentieth of the idle timeout, at most 5 s
/// (the lookup script uses the same rule). The idle deadline can thus fall
/// that much early, never late; only with a local cache.
fn touch_slack(idle_ms: u64) -> u64 {
    (idle_ms / 20).min(5_000)
}

impl RedisStore {
    /// A store for `settings`. Checks the settings (URL syntax, a non-zero
    /// timeout) but does not connect: this succeeds, without blocking, while
    /// Redis is down.
    pub fn new(settings: RedisSettings) -> Result<Self, crate::ConfigError> {
        if settings.timeout_ms == 0 {
            return Err(crate::ConfigError::new(
                "invalid redis settings: timeout_ms must be at least 1",
            ));
        }
        let client = redis::Client::open(settings.url.as_str()).map_err(|e| {
            crate::ConfigError::new(format!(
                "invalid redis url {}: {e}",
                redact_url(&settings.url)
            ))
        })?;
        let cache = Arc::new(Mutex::new(LocalCache::default()));
        let tracking = if settings.tracking {
            let resp3 = super::tracking::resp3_client(&client).map_err(|e| {
                crate::ConfigError::new(format!(
                    "invalid redis url {}: {e}",
                    redact_url(&settings.url)
                ))
            })?;
            Some(Tracking {
                tracker: super::tracking::Tracker::new(cache.clone(), &settings.key_prefix),
                client: resp3,
                started: AtomicBool::new(false),
            })
        } else {
            None
        };
        let cache_ttl = match (settings.local_cache_ms, settings.tracking) {
            (0, false) => None,
            (0, true) => Some(DEFAULT_TRACKED_MAX_AGE),
            (ms, _) => Some(Duration::from_millis(ms)),
        };
        Ok(Self {
            client,
            redacted_url: redact_url(&settings.url),
            manager: OnceCell::new(),
            prefix: settings.key_prefix,
            timeout: Duration::from_millis(settings.timeout_ms),
            cache_ttl,
            cache,
            tracking,
            insert_script: redis::Script::new(&format!("{EXTEND_INDEX}{DEADLINE}{INSERT_BODY}")),
            cas_script: redis::Script::new(&format!("{EXTEND_INDEX}{DEADLINE}{CAS_BODY}")),
            lookup_script: redis::Script::new(&format!("{EXTEND_INDEX}{DEADLINE}{LOOKUP_BODY}")),
            remove_script: redis::Script::new(REMOVE_SCRIPT),
            remove_customer_script: redis::Script::new(REMOVE_CUSTOMER_SCRIPT),
        })
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}sess:{id}", self.prefix)
    }

    fn customer_key(&self, account: &str, customer: &str) -> String {
        format!("{}cust:{account}:{customer}", self.prefix)
    }

    /// The connection manager, connecting on first use. A failed attempt
    /// leaves the cell empty, so the next call tries again.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(self.timeout);
                ConnectionManager::new_with_config(self.client.clone(), config)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("redis: {e}")))
            })
            .await
            .cloned()
    }

    /// Runs `op` on the connection within the call's time budget.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            op(conn).await.map_err(|e| map_err(&e))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "redis: no answer within {} ms",
                    self.timeout.as_millis()
                ))
            })?
    }

    /// Starts the tracking task on first use (it needs a runtime, which
    /// `new` may not have).
    fn start_tracking(&self) {
        if let Some(t) = &self.tracking
            && !t.started.load(Ordering::Relaxed)
            && let Ok(handle) = tokio::runtime::Handle::try_current()
            && !t.started.swap(true, Ordering::AcqRel)
        {
            handle.spawn(super::tracking::run(
                Arc::downgrade(&t.tracker),
                t.client.clone(),
                self.timeout,
            ));
        }
    }

    /// Whether the local cache may be used now: always for the plain TTL
    /// cache; with tracking, only while invalidations are being received.
    fn cache_usable(&self) -> bool {
        self.tracking.as_ref().is_none_or(|t| t.tracker.healthy())
    }

    fn lock_cache(&self) -> Option<std::sync::MutexGuard<'_, LocalCache>> {
        // A poisoned cache is only a cache: recover its contents.
        self.cache_ttl?;
        Some(self.cache.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Drops `id` from the local cache (and fences concurrent loads).
    fn invalidate(&self, id: &SessionId) {
        if let Some(mut cache) = self.lock_cache() {
            cache.generation = cache.generation.wrapping_add(1);
            cache.entries.remove(id);
        }
    }

    /// Drops every cached session of a customer (and fences concurrent loads).
    fn forget_customer(&self, account: &str, customer: &str) {
        if let Some(mut cache) = self.lock_cache() {
            cache.generation = cache.generation.wrapping_add(1);
            cache.entries.retain(|_, (r, _)| {
                !(r.account == account && r.customer.as_deref() == Some(customer))
            });
        }
    }

    fn cached(&self, id: &SessionId) -> Option<SessionRecord> {
        let ttl = self.cache_ttl?;
        self.start_tracking();
        if !self.cache_usable() {
            return None;
        }
        let cache = self.lock_cache()?;
        let (record, fetched_at) = cache.entries.get(id)?;
        (fetched_at.elapsed() < ttl).then(|| record.clone())
    }

    fn cache_generation(&self) -> Option<u64> {
        self.lock_cache().map(|c| c.generation)
    }

    fn remember(&self, generation: Option<u64>, record: &SessionRecord) {
        let (Some(generation), Some(ttl)) = (generation, self.cache_ttl) else {
            return;
        };
        if !self.cache_usable() {
            return;
        }
        let Some(mut cache) = self.lock_cache() else {
            return;
        };
        if cache.generation != generation {
            return;
        }
        if cache.entries.len() >= LOCAL_CACHE_MAX_ENTRIES {
            cache.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if cache.entries.len() >= LOCAL_CACHE_MAX_ENTRIES {
                return;
            }
        }
        cache
            .entries
            .insert(record.id.clone(), (record.clone(), Instant::now()));
    }

    fn encode(record: &SessionRecord) -> Result<String, StoreError> {
        serde_json::to_string(record)
            .map_err(|e| StoreError::Backend(format!("cannot encode session: {e}")))
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.invalidate(&record.id);
        let data = Self::encode(record)?;
        let key = self.session_key(record.id.as_str());
        let index = record
            .customer
            .as_deref()
            .map(|c| self.customer_key(&record.account, c));
        let mut call = self.insert_script.key(key);
        if let Some(index) = index {
            call.key(index);
        }
        call.arg(record.version.to_string())
            .arg(data)
            .arg(MAX_DEADLINE_MS)
            .arg(record.account.as_str())
            .arg(record.customer.as_deref().unwrap_or_default())
            .arg(record.id.as_str());
        timing_args(&mut call, record);
        let inserted: Result<i64, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.invalidate(&record.id);
        if inserted? == 1 {
            Ok(())
        } else {
            Err(StoreError::Backend("session id collision".into()))
        }
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(record) = self.cached(id) {
            return Ok(Some(record));
        }
        let generation = self.cache_generation();
        let key = self.session_key(id.as_str());
        let (version, data, last): (Option<String>, Option<String>, Option<String>) = self
            .run(|mut conn| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("v")
                    .arg("d")
                    .arg("l")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let record = decode(id, version, data, last);
        if let Some(record) = &record {
            self.remember(generation, record);
        }
        Ok(record)
    }

    async fn lookup(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(record) = self.cached(id) {
            let now = super::now_ms();
            match record.idle_ttl_ms {
                _ if record.is_expired_at(now) => return Ok(None),
                None => return Ok(Some(record)),
                // Touched recently enough: the slide can wait (see
                // `touch_slack`), so the cached record answers.
                Some(idle) if now.saturating_sub(record.last_seen_ms) < touch_slack(idle) => {
                    return Ok(Some(record));
                }
                Some(_) => {}
            }
        }
        let generation = self.cache_generation();
        let script = &self.lookup_script;
        let mut call = script.key(self.session_key(id.as_str()));
        // With a local cache a slide within the slack is skipped, so a slide
        // (a write, announced to every tracking instance) happens at most
        // once per slack per session, not once per request.
        let slack = if self.cache_ttl.is_some() { "1" } else { "0" };
        call.arg(self.prefix.as_str())
            .arg(MAX_DEADLINE_MS)
            .arg(slack);
        type Answer = Option<(Option<String>, Option<String>, Option<String>, String)>;
        let answer: Answer = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await?;
        let Some((version, data, last, legacy)) = answer else {
            return Ok(None);
        };
        let Some(record) = decode(id, version, data, last) else {
            return Ok(None);
        };
        if record.is_expired_at(super::now_ms()) {
            return Ok(None);
        }
        if legacy == "1" && record.idle_ttl_ms.is_some() {
            // Written before the timing fields existed: slide it the old
            // way, which also writes them.
            return super::slide(self, id, record).await;
        }
        self.remember(generation, &record);
        Ok(Some(record))
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<bool, StoreError> {
        // Invalidate whatever the outcome: a failed swap means the cached
        // copy (if any) is stale, and `update` must not retry on it.
        self.invalidate(&record.id);
        let data = Self::encode(record)?;
        let key = self.session_key(record.id.as_str());
        let index = record
            .customer
            .as_deref()
            .map(|c| self.customer_key(&record.account, c));
        let mut call = self.cas_script.key(key);
        if let Some(index) = index {
            call.key(index);
        }
        call.arg(expected_version.to_string())
            .arg(record.version.to_string())
            .arg(data)
            .arg(MAX_DEADLINE_MS)
            .arg(record.account.as_str())
            .arg(record.customer.as_deref().unwrap_or_default())
            .arg(record.id.as_str());
        timing_args(&mut call, record);
        let swapped: Result<i64, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.invalidate(&record.id);
        Ok(swapped? == 1)
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.invalidate(id);
        let mut call = self.remove_script.key(self.session_key(id.as_str()));
        call.arg(self.prefix.as_str()).arg(id.as_str());
        let removed: Result<i64, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.invalidate(id);
        Ok(removed? == 1)
    }

    async fn remove_customer(&self, account: &str, customer: &str) -> Result<u64, StoreError> {
        self.forget_customer(account, customer);
        let mut call = self
            .remove_customer_script
            .key(self.customer_key(account, customer));
        call.arg(self.prefix.as_str()).arg(account).arg(customer);
        let removed: Result<Vec<String>, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.forget_customer(account, customer);
        let removed = removed?;
        for id in removed.iter().filter_map(|s| SessionId::parse(s)) {
            self.invalidate(&id);
        }
        Ok(u64::try_from(removed.len()).unwrap_or(u64::MAX))
    }
}
