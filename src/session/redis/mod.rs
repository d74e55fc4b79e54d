//! [`RedisStore`]: sessions in Redis, shared by every process that points at
//! the same server and key prefix.

mod cache;
mod connection;
mod settings;
mod store;

pub(super) use cache::LocalCache;
pub use settings::RedisSettings;
pub(crate) use settings::redact_url;

use super::redis_scripts::{
    CAS_BODY, DEADLINE, EXTEND_INDEX, INSERT_BODY, LOOKUP_BODY, REMOVE_CUSTOMER_SCRIPT,
    REMOVE_SCRIPT,
};
use super::{SessionRecord, StoreError};
use cache::{DEFAULT_TRACKED_MAX_AGE, Tracking};
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A [`SessionStore`](super::SessionStore) in Redis.
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
    conn: crate::redis_conn::RedisConn,
    redacted_url: String,
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
            .field("key_prefix", &self.conn.prefix)
            .field("timeout", &self.conn.timeout())
            .field("local_cache", &self.cache_ttl)
            .field(
                "tracking",
                &self.tracking.as_ref().map(|t| t.tracker.healthy()),
            )
            .field("connected", &self.conn.is_connected())
            .finish_non_exhaustive()
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
        let cache = Arc::new(Mutex::new(LocalCache::default()));
        let tracking = if settings.tracking {
            let resp3 = crate::session::tracking::resp3_client(&client).map_err(|e| {
                crate::ConfigError::new(format!(
                    "invalid redis url {}: {e}",
                    redact_url(&settings.url)
                ))
            })?;
            Some(Tracking {
                tracker: crate::session::tracking::Tracker::new(
                    cache.clone(),
                    &settings.key_prefix,
                ),
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
        let conn = crate::redis_conn::RedisConn::from_client(
            client,
            &settings.key_prefix,
            Duration::from_millis(settings.timeout_ms),
        )
        .with_retries(2);
        Ok(Self {
            conn,
            redacted_url: redact_url(&settings.url),
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
        format!("{}sess:{id}", self.conn.prefix)
    }

    fn customer_key(&self, account: &str, customer: &str) -> String {
        format!("{}cust:{account}:{customer}", self.conn.prefix)
    }

    fn encode(record: &SessionRecord) -> Result<String, StoreError> {
        serde_json::to_string(record)
            .map_err(|e| StoreError::Backend(format!("cannot encode session: {e}")))
    }
}
