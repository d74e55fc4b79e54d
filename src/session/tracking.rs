//! Redis server-assisted client-side caching for [`RedisStore`](super::RedisStore)
//! (RESP3 `CLIENT TRACKING`, broadcast mode).
//!
//! A dedicated RESP3 connection asks Redis to announce every change to a key
//! under `{prefix}sess:` (`CLIENT TRACKING ON BCAST PREFIX …`). Each
//! announcement drops that session from the local cache, so a revocation or
//! update made through any instance reaches every instance within one
//! invalidation message, and lookups of unchanged sessions never leave the
//! process.
//!
//! Safety over hit rate:
//! - nothing is cached, and nothing is answered from the cache, unless the
//!   tracking connection is up with tracking on ([`Tracker::healthy`]);
//! - losing it (Redis restart, network error, a failed heartbeat) empties
//!   the cache at once and stops caching until tracking is on again;
//! - every invalidation bumps the cache generation, so a lookup that raced
//!   with one never caches what it read before it;
//! - entries still expire after the configured maximum age.
//!
//! The `redis` crate's own `cache-aio` caching is not used: its cache only
//! drops entries when its connection reconnects, which happens lazily on the
//! next command, so a process whose reads all hit the cache could keep
//! serving sessions revoked after a Redis restart.

use super::SessionId;
use super::redis::LocalCache;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often the tracking connection is checked.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Pause between attempts to (re)connect the tracking connection.
const RETRY: Duration = Duration::from_millis(250);

/// The state the tracking task and the store share.
pub(super) struct Tracker {
    healthy: AtomicBool,
    cache: Arc<Mutex<LocalCache>>,
    /// `{prefix}sess:`: invalidated keys are this plus a session id.
    key_prefix: String,
}

impl Tracker {
    pub(super) fn new(cache: Arc<Mutex<LocalCache>>, prefix: &str) -> Arc<Self> {
        Arc::new(Self {
            healthy: AtomicBool::new(false),
            cache,
            key_prefix: format!("{prefix}sess:"),
        })
    }

    /// Whether invalidations are being received: the cache may be used.
    pub(super) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Empties the cache and fences lookups in flight.
    fn clear(&self) {
        let mut cache = self.lock();
        cache.generation = cache.generation.wrapping_add(1);
        cache.entries.clear();
    }

    fn up(&self) {
        self.clear();
        self.healthy.store(true, Ordering::Release);
    }

    fn down(&self) {
        self.healthy.store(false, Ordering::Release);
        self.clear();
    }

    /// Handles one push message of the tracking connection.
    fn push(&self, info: &PushInfo) {
        match info.kind {
            PushKind::Invalidate => match info.data.first() {
                Some(Value::Array(keys)) => {
                    let mut cache = self.lock();
                    cache.generation = cache.generation.wrapping_add(1);
                    for key in keys {
                        let id = match key {
                            Value::BulkString(b) => std::str::from_utf8(b).ok(),
                            Value::SimpleString(s) => Some(s.as_str()),
                            _ => None,
                        }
                        .and_then(|k| k.strip_prefix(self.key_prefix.as_str()))
                        .and_then(SessionId::parse);
                        if let Some(id) = id {
                            cache.entries.remove(&id);
                        }
                    }
                }
                // FLUSHALL / FLUSHDB, or a message we cannot read: drop all.
                _ => self.clear(),
            },
            PushKind::Disconnection => self.down(),
            _ => {}
        }
    }
}

/// Keeps a tracking connection up for as long as the store lives (the task
/// holds only a weak reference and ends when the store is dropped).
pub(super) async fn run(tracker: Weak<Tracker>, client: redis::Client, timeout: Duration) {
    loop {
        let Some(t) = tracker.upgrade() else { return };
        let prefix = t.key_prefix.clone();
        drop(t);
        let weak = tracker.clone();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_push_sender(move |info: PushInfo| {
                if let Some(t) = weak.upgrade() {
                    t.push(&info);
                }
                Ok::<(), ()>(())
            });
        let connected = async {
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("CLIENT")
                .arg("TRACKING")
                .arg("ON")
                .arg("BCAST")
                .arg("PREFIX")
                .arg(&prefix)
                .exec_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>(conn)
        }
        .await;
        match connected {
            Ok(mut conn) => {
                match tracker.upgrade() {
                    Some(t) => t.up(),
                    None => return,
                }
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    let Some(t) = tracker.upgrade() else { return };
                    let ping: Result<redis::RedisResult<String>, _> =
                        tokio::time::timeout(timeout, redis::cmd("PING").query_async(&mut conn))
                            .await;
                    if !matches!(ping, Ok(Ok(_))) || !t.healthy() {
                        tracing::warn!(
                            "tollgate: redis session tracking lost; local session cache off"
                        );
                        t.down();
                        break;
                    }
                }
            }
            Err(e) => {
                if let Some(t) = tracker.upgrade() {
                    t.down();
                }
                tracing::debug!(error = %e, "tollgate: redis session tracking unavailable");
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// The store's client, speaking RESP3 (push messages need it).
pub(super) fn resp3_client(client: &redis::Client) -> Result<redis::Client, redis::RedisError> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}
