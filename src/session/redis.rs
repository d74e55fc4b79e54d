//! [`RedisStore`]: sessions in Redis, shared by every process that points at
//! the same server and key prefix.

use super::{SessionId, SessionRecord, SessionStore, StoreError};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Most records the optional local read cache holds.
const LOCAL_CACHE_MAX_ENTRIES: usize = 10_000;

/// Latest expiry handed to Redis (year 3000, ms since the epoch): far past
/// any real session, well inside what `PEXPIREAT` accepts.
const MAX_DEADLINE_MS: u64 = 32_503_680_000_000;

/// When Redis should drop `record`.
fn redis_deadline(record: &SessionRecord) -> u64 {
    record.deadline_ms().min(MAX_DEADLINE_MS)
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
    pub local_cache_ms: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            key_prefix: "tollgate:".to_owned(),
            timeout_ms: 250,
            local_cache_ms: 0,
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
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("timeout_ms", &self.timeout_ms)
            .field("local_cache_ms", &self.local_cache_ms)
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

/// Shared by the scripts: raise the expiry of index set `k` to `at` (ms since
/// the epoch) unless it already lives longer. Never shortens it, and never
/// expires it for a deadline already past (that would drop other members).
const EXTEND_INDEX: &str = r"
local function extend(k, at)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if at <= now then
    return
  end
  local pttl = redis.call('PTTL', k)
  if pttl == -1 or (pttl >= 0 and at > now + pttl) then
    redis.call('PEXPIREAT', k, at)
  end
end
";

/// KEYS: session, customer index (or absent). ARGV: version, data, deadline,
/// account, customer (or ""), session id.
const INSERT_BODY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'a', ARGV[4], 'c', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[6])
  extend(KEYS[2], tonumber(ARGV[3]))
end
return 1
";

/// KEYS: session, customer index (or absent). ARGV: expected version, new
/// version, data, deadline, account, customer (or ""), session id.
const CAS_BODY: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if (not v) or v ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'a', ARGV[5], 'c', ARGV[6])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[7])
  extend(KEYS[2], tonumber(ARGV[4]))
end
return 1
";

/// KEYS: session. ARGV: key prefix, session id. Also drops the ID from its
/// customer index.
const REMOVE_SCRIPT: &str = r"
local ac = redis.call('HMGET', KEYS[1], 'a', 'c')
local n = redis.call('DEL', KEYS[1])
if n == 1 and ac[1] and ac[2] and ac[2] ~= '' then
  redis.call('SREM', ARGV[1] .. 'cust:' .. ac[1] .. ':' .. ac[2], ARGV[2])
end
return n
";

/// KEYS: customer index. ARGV: key prefix, account, customer. Deletes only
/// sessions whose stored account and customer match exactly and returns
/// their IDs. Members of other customers (the index key of `a:b`/`c` is the
/// one of `a`/`b:c`) stay; members whose session is gone are dropped.
const REMOVE_CUSTOMER_SCRIPT: &str = r"
local removed = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. 'sess:' .. id
  local ac = redis.call('HMGET', k, 'a', 'c')
  if ac[1] == ARGV[2] and ac[2] == ARGV[3] then
    redis.call('DEL', k)
    redis.call('SREM', KEYS[1], id)
    removed[#removed + 1] = id
  elseif not ac[1] then
    redis.call('SREM', KEYS[1], id)
  end
end
return removed
";

/// The optional local read cache. `generation` is bumped by every write or
/// removal of this store, so a load that raced with one never caches what it
/// fetched before it.
#[derive(Default)]
struct LocalCache {
    entries: HashMap<SessionId, (SessionRecord, Instant)>,
    generation: u64,
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
    cache: Mutex<LocalCache>,
    insert_script: redis::Script,
    cas_script: redis::Script,
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
        Ok(Self {
            client,
            redacted_url: redact_url(&settings.url),
            manager: OnceCell::new(),
            prefix: settings.key_prefix,
            timeout: Duration::from_millis(settings.timeout_ms),
            cache_ttl: (settings.local_cache_ms > 0)
                .then(|| Duration::from_millis(settings.local_cache_ms)),
            cache: Mutex::new(LocalCache::default()),
            insert_script: redis::Script::new(&format!("{EXTEND_INDEX}{INSERT_BODY}")),
            cas_script: redis::Script::new(&format!("{EXTEND_INDEX}{CAS_BODY}")),
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
            .arg(redis_deadline(record))
            .arg(record.account.as_str())
            .arg(record.customer.as_deref().unwrap_or_default())
            .arg(record.id.as_str());
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
        let (version, data): (Option<String>, Option<String>) = self
            .run(|mut conn| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("v")
                    .arg("d")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let Some(data) = data else {
            return Ok(None);
        };
        let mut record = match serde_json::from_str::<SessionRecord>(&data) {
            Ok(record) if record.id == *id => record,
            Ok(_) => {
                tracing::warn!(
                    session = id.redacted(),
                    "stored session record has another id; treated as missing"
                );
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(
                    session = id.redacted(),
                    error = %e,
                    "unreadable stored session record; treated as missing"
                );
                return Ok(None);
            }
        };
        // The `v` field is what compare_and_swap checks: it wins.
        match version.as_deref().map(str::parse::<u64>) {
            Some(Ok(v)) => record.version = v,
            _ => {
                tracing::warn!(
                    session = id.redacted(),
                    "stored session record has no valid version; treated as missing"
                );
                return Ok(None);
            }
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
            .arg(redis_deadline(record))
            .arg(record.account.as_str())
            .arg(record.customer.as_deref().unwrap_or_default())
            .arg(record.id.as_str());
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
