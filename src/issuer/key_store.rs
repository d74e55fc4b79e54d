//! [`RedisKeyStore`] (feature `redis`): one signing-key set in Redis, shared
//! by every instance of a platform.
#![cfg(feature = "redis")]

use super::keys::{KeyRing, SigningAlgorithm, SigningKey};
use crate::config::ConfigError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

/// The Redis key under the prefix.
const KEY_NAME: &str = "signing-keys";

/// How often `rotate` / `retire` re-read and retry after losing the
/// compare-and-swap to a concurrent change.
const CAS_ATTEMPTS: usize = 5;

/// While the refresher keeps failing, it logs a warning on the first failure
/// and then once every this many failures.
const WARN_EVERY: u64 = 60;

/// Shortest refresher interval (a zero interval would spin).
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The stored document.
#[derive(Serialize, Deserialize)]
struct StoredSet {
    version: u64,
    active_kid: String,
    /// Active key first, then the previous keys, newest first.
    keys: Vec<StoredKey>,
}

/// One key of the stored document (`pem` is the private key).
#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    alg: String,
    pem: String,
}

impl StoredKey {
    fn of(key: &SigningKey) -> Self {
        Self {
            kid: key.kid().to_owned(),
            alg: key.signing_algorithm().jose_name().to_owned(),
            pem: key.to_pkcs8_pem(),
        }
    }
}

/// KEYS: the set. ARGV: a candidate document. Installs the candidate when
/// nothing is stored; returns {1, candidate} then, else {0, stored}.
const INIT_SCRIPT: &str = r"
local d = redis.call('GET', KEYS[1])
if d then
  return {0, d}
end
redis.call('SET', KEYS[1], ARGV[1])
return {1, ARGV[1]}
";

/// KEYS: the set. ARGV: the version the caller holds (or -1). Returns nil
/// when nothing is stored, '' when the stored version is the caller's, else
/// the stored document (an unreadable one included, for the caller to
/// report).
const POLL_SCRIPT: &str = r"
local d = redis.call('GET', KEYS[1])
if not d then
  return false
end
local ok, set = pcall(cjson.decode, d)
if ok and type(set) == 'table' and set.version == tonumber(ARGV[1]) then
  return ''
end
return d
";

/// KEYS: the set. ARGV: expected version, new document. Replaces the
/// document only if it still has the expected version: returns 1 then, 0
/// when the version moved on (or the stored document is unreadable), -1
/// when nothing is stored.
const CAS_SCRIPT: &str = r"
local d = redis.call('GET', KEYS[1])
if not d then
  return -1
end
local ok, set = pcall(cjson.decode, d)
if not (ok and type(set) == 'table' and set.version == tonumber(ARGV[1])) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";

/// What went wrong in a [`RedisKeyStore`] call. The local [`KeyRing`] is
/// left as it was whenever a call fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// Redis could not be reached or did not answer within the timeout.
    #[error("signing key store unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with an error (a failed script, an ACL refusal).
    #[error("signing key store: redis error: {0}")]
    Backend(String),
    /// Redis holds no key set under the store's key (not initialized yet,
    /// or Redis lost its data).
    #[error("signing key store: {0}")]
    Missing(String),
    /// What Redis holds is not a key set this store can read.
    #[error("signing key store: the stored key set is unreadable: {0}")]
    Corrupt(String),
    /// The change was refused (retiring the active key, adding a key id
    /// already in the set).
    #[error("signing key store: {0}")]
    Rejected(String),
    /// Concurrent changes kept winning the compare-and-swap.
    #[error("signing key store: {0}")]
    Conflict(String),
}

/// Maps a Redis error: anything about reaching the server is `Unavailable`.
fn map_err(e: &redis::RedisError) -> KeyStoreError {
    if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
    {
        KeyStoreError::Unavailable(format!("redis: {e}"))
    } else {
        KeyStoreError::Backend(format!("redis: {e}"))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A key set decoded and checked, ready to apply to a ring.
struct Decoded {
    set: StoredSet,
    active: SigningKey,
    published: Vec<SigningKey>,
}

fn decode(doc: &str) -> Result<Decoded, KeyStoreError> {
    let set: StoredSet =
        serde_json::from_str(doc).map_err(|e| KeyStoreError::Corrupt(format!("{e}")))?;
    let mut active = None;
    let mut published = Vec::new();
    for k in &set.keys {
        let alg = SigningAlgorithm::from_jose_name(&k.alg).ok_or_else(|| {
            KeyStoreError::Corrupt(format!("key {}: unknown algorithm {:?}", k.kid, k.alg))
        })?;
        let key = SigningKey::from_pem(&k.pem, alg, k.kid.as_str())
            .map_err(|e| KeyStoreError::Corrupt(format!("key {}: {e}", k.kid)))?;
        if k.kid == set.active_kid {
            if active.is_some() {
                return Err(KeyStoreError::Corrupt(format!(
                    "key id {} appears twice",
                    k.kid
                )));
            }
            active = Some(key);
        } else {
            published.push(key);
        }
    }
    let active = active.ok_or_else(|| {
        KeyStoreError::Corrupt(format!(
            "the active key {} is not in the set",
            set.active_kid
        ))
    })?;
    Ok(Decoded {
        set,
        active,
        published,
    })
}

fn encode(set: &StoredSet) -> Result<String, KeyStoreError> {
    serde_json::to_string(set)
        .map_err(|e| KeyStoreError::Backend(format!("cannot encode the key set: {e}")))
}

struct Inner {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    prefix: String,
    key: String,
    timeout: Duration,
    ring: KeyRing,
    /// The version of the set last applied to `ring`.
    applied: Mutex<Option<u64>>,
    init_script: redis::Script,
    poll_script: redis::Script,
    cas_script: redis::Script,
}

/// One signing-key set in Redis, shared by every instance of a platform
/// that points at the same Redis and key prefix, and mirrored into a local
/// [`KeyRing`] (the one given to [`RedisKeyStore::new`]; give clones of it
/// to the [`Minter`](super::Minter) and the JWKS route).
///
/// * [`load_or_init`](Self::load_or_init) at start-up: the first instance
///   to start installs a freshly generated key (atomically, a Lua script);
///   every other instance adopts what Redis holds.
/// * [`rotate`](Self::rotate) / [`retire`](Self::retire) change the set in
///   Redis (compare-and-swap on its version, a Lua script) and apply it to
///   the local ring at once.
/// * [`spawn_refresher`](Self::spawn_refresher) polls Redis every
///   `interval` and applies a newer set to the local ring.
///
/// **Propagation delay**: a change made on one instance is applied on
/// another within its refresher's `interval` plus one Redis round trip
/// (each poll is one small script call that returns only the version when
/// nothing changed). A poll that fails (Redis down or slower than the
/// timeout) leaves the local ring as it is, logs a warning, and the next
/// poll tries again: instances keep signing and publishing their last good
/// set while Redis is away, and converge once it is back. Between a
/// rotation and the moment an instance applies it, that instance still
/// signs with the previous key, and its JWKS does not list the new key
/// yet; verifiers that cache a JWKS served by such an instance see the new
/// `kid` at their next fetch (tollgate's remote key source refetches on an
/// unknown `kid`).
///
/// **Redis then holds the private signing keys**, in clear: whoever can
/// read the key `{prefix}signing-keys` can mint tokens every verifier of
/// the platform accepts. Protect that Redis like the keys themselves: an
/// ACL user limited to this key for the issuer instances, TLS
/// (`rediss://`), no shared multi-tenant server, and backups treated as
/// secrets. Redis must also persist (RDB or AOF): if it loses the set, the
/// next `load_or_init` installs a new one and every instance adopts it,
/// after which tokens signed with the lost keys stop verifying. The
/// alternative that keeps private keys out of Redis is to mount the same
/// PEM files on every instance ([`KeyRing::from_pem_files`] /
/// [`KeyRing::from_pem_dir`]) and rotate by deploying.
///
/// Data layout: one string key `{prefix}signing-keys` (prefix default
/// `tollgate:`) holding the JSON document
/// `{"version": u64, "active_kid": "...", "keys": [{"kid", "alg", "pem"}]}`
/// (`alg` the JOSE name, `pem` the PKCS#8 private key; active key first).
/// `version` is the install time in ms since the epoch and grows with every
/// change (to at least the current time), so a set installed after a data
/// loss is newer than any set an instance still holds.
///
/// Connection: [`RedisKeyStore::new`] does not connect; the connection is
/// made on first use and re-established automatically. Every call,
/// connecting included, gets the timeout (default 500 ms).
#[derive(Clone)]
pub struct RedisKeyStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyStore")
            .field("key", &self.inner.key)
            .field("timeout", &self.inner.timeout)
            .field("applied_version", &self.applied_version())
            .field("connected", &self.inner.manager.initialized())
            .finish_non_exhaustive()
    }
}

impl RedisKeyStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "tollgate:";
    /// The default time budget of one Redis call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// A store on `client` mirrored into `ring`, with the default prefix
    /// and timeout. Does not connect.
    pub fn new(client: redis::Client, ring: KeyRing) -> Self {
        Self::build(
            client,
            ring,
            Self::DEFAULT_PREFIX.to_owned(),
            Self::DEFAULT_TIMEOUT,
        )
    }

    /// A store on the Redis at `url` (`redis://[:password@]host[:port][/db]`
    /// or `rediss://`), mirrored into `ring`. Checks the URL; does not
    /// connect.
    pub fn open(url: &str, ring: KeyRing) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|e| {
            ConfigError::new(format!("the signing key store's redis url is invalid: {e}"))
        })?;
        Ok(Self::new(client, ring))
    }

    /// This store with key prefix `prefix` (default `tollgate:`). Call it
    /// before using the store: it returns a new store, and refreshers
    /// spawned on the old one stop when the old one is dropped.
    pub fn key_prefix(self, prefix: impl Into<String>) -> Self {
        let inner = &self.inner;
        Self::build(
            inner.client.clone(),
            inner.ring.clone(),
            prefix.into(),
            inner.timeout,
        )
    }

    /// This store with time budget `timeout` per Redis call (default 500
    /// ms, at least 1 ms). Same caveat as [`key_prefix`](Self::key_prefix).
    pub fn timeout(self, timeout: Duration) -> Self {
        let inner = &self.inner;
        Self::build(
            inner.client.clone(),
            inner.ring.clone(),
            inner.prefix.clone(),
            timeout,
        )
    }

    fn build(client: redis::Client, ring: KeyRing, prefix: String, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                manager: OnceCell::new(),
                key: format!("{prefix}{KEY_NAME}"),
                prefix,
                timeout: timeout.max(Duration::from_millis(1)),
                ring,
                applied: Mutex::new(None),
                init_script: redis::Script::new(INIT_SCRIPT),
                poll_script: redis::Script::new(POLL_SCRIPT),
                cas_script: redis::Script::new(CAS_SCRIPT),
            }),
        }
    }

    /// The local ring this store keeps up to date.
    pub fn ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// The Redis key holding the set (`{prefix}signing-keys`).
    pub fn redis_key(&self) -> &str {
        &self.inner.key
    }

    /// The version of the set last applied to the local ring (`None` until
    /// one was loaded).
    pub fn applied_version(&self) -> Option<u64> {
        *self.inner.applied.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads the set Redis holds into the local ring or, when Redis holds
    /// none, atomically installs a set made of `generate()`'s key: of N
    /// instances starting together exactly one installs its key and all
    /// adopt it. `generate` runs only when Redis held nothing at the first
    /// look (its key is discarded if another instance won the race).
    ///
    /// Returns `true` when this call installed the set. Fails when Redis is
    /// unreachable (the ring keeps its current keys; whether to start
    /// anyway, e.g. with a ring from local PEM files, is the caller's
    /// decision) or holds an unreadable set.
    pub async fn load_or_init(
        &self,
        generate: impl FnOnce() -> SigningKey,
    ) -> Result<bool, KeyStoreError> {
        if let Some(doc) = self.fetch(None).await? {
            self.apply(&doc)?;
            return Ok(false);
        }
        let key = generate();
        let candidate = encode(&StoredSet {
            version: now_ms(),
            active_kid: key.kid().to_owned(),
            keys: vec![StoredKey::of(&key)],
        })?;
        let mut call = self.inner.init_script.key(&self.inner.key);
        call.arg(candidate);
        let (installed, doc): (i64, String) = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await?;
        self.apply(&doc)?;
        Ok(installed == 1)
    }

    /// Makes `new_key` the active key of the shared set; the previous keys
    /// stay published. Applied to the local ring at once, to the other
    /// instances by their refreshers.
    ///
    /// Fails when Redis holds no set yet ([`load_or_init`](Self::load_or_init)
    /// first), when `new_key`'s `kid` is already in the set, or when Redis
    /// is unreachable.
    pub async fn rotate(&self, new_key: SigningKey) -> Result<(), KeyStoreError> {
        self.change(|set| {
            if set.keys.iter().any(|k| k.kid == new_key.kid()) {
                return Err(KeyStoreError::Rejected(format!(
                    "key id {} is already in the set",
                    new_key.kid()
                )));
            }
            set.active_kid = new_key.kid().to_owned();
            set.keys.insert(0, StoredKey::of(&new_key));
            Ok(true)
        })
        .await
        .map(|_| ())
    }

    /// Stops publishing previous key `kid` in the shared set: tokens it
    /// signed stop verifying once verifiers refresh their key set. Returns
    /// `false` when the set has no such key. The active key cannot be
    /// retired (rotate first).
    pub async fn retire(&self, kid: &str) -> Result<bool, KeyStoreError> {
        self.change(|set| {
            if set.active_kid == kid {
                return Err(KeyStoreError::Rejected(format!(
                    "key {kid} is the active key; rotate to a new key before retiring it"
                )));
            }
            let before = set.keys.len();
            set.keys.retain(|k| k.kid != kid);
            Ok(set.keys.len() != before)
        })
        .await
    }

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

    /// Reads, changes and compare-and-swaps the set, retrying when a
    /// concurrent change won. `edit` returns whether it changed anything.
    async fn change(
        &self,
        mut edit: impl FnMut(&mut StoredSet) -> Result<bool, KeyStoreError>,
    ) -> Result<bool, KeyStoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(doc) = self.fetch(None).await? else {
                return Err(self.missing());
            };
            let mut set = decode(&doc)?.set;
            if !edit(&mut set)? {
                // Nothing to change, but the ring may still be behind.
                self.apply(&doc)?;
                return Ok(false);
            }
            let expected = set.version;
            set.version = expected.saturating_add(1).max(now_ms());
            let new_doc = encode(&set)?;
            // Check the new set reads back before it reaches other instances.
            decode(&new_doc)?;
            let mut call = self.inner.cas_script.key(&self.inner.key);
            call.arg(expected).arg(&new_doc);
            let swapped: i64 = self
                .run(|mut conn| async move { call.invoke_async(&mut conn).await })
                .await?;
            match swapped {
                1 => {
                    self.apply(&new_doc)?;
                    return Ok(true);
                }
                -1 => return Err(self.missing()),
                _ => continue,
            }
        }
        Err(KeyStoreError::Conflict(format!(
            "{} changed concurrently {CAS_ATTEMPTS} times in a row; try again",
            self.inner.key
        )))
    }

    fn missing(&self) -> KeyStoreError {
        KeyStoreError::Missing(format!(
            "redis holds no key set under {} (call load_or_init first)",
            self.inner.key
        ))
    }

    /// The stored document: `None` when nothing is stored or (with `known`)
    /// when its version is `known`.
    async fn fetch(&self, known: Option<u64>) -> Result<Option<String>, KeyStoreError> {
        let known = known.map_or(-1_i128, i128::from);
        let mut call = self.inner.poll_script.key(&self.inner.key);
        call.arg(known.to_string());
        let doc: Option<String> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await?;
        match doc {
            Some(d) if d.is_empty() => Ok(None),
            Some(d) => Ok(Some(d)),
            None if known >= 0 => Err(self.missing()),
            None => Ok(None),
        }
    }

    /// Applies `doc` to the ring if it is newer than what the ring holds.
    fn apply(&self, doc: &str) -> Result<bool, KeyStoreError> {
        // Decode (parse every key) before taking the lock.
        let decoded = decode(doc)?;
        let mut applied = self.inner.applied.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = *applied
            && current >= decoded.set.version
        {
            if current > decoded.set.version {
                // A restored backup, or a poll that raced with a local change.
                tracing::warn!(
                    key = %self.inner.key,
                    stored = decoded.set.version,
                    applied = current,
                    "tollgate: redis holds an older signing key set than this instance; keeping the newer one"
                );
            }
            return Ok(false);
        }
        self.inner
            .ring
            .replace_all(decoded.active, decoded.published);
        *applied = Some(decoded.set.version);
        Ok(true)
    }

    /// The connection manager, connecting on first use. A failed attempt
    /// leaves the cell empty, so the next call tries again.
    async fn connection(&self) -> Result<ConnectionManager, KeyStoreError> {
        let timeout = self.inner.timeout;
        self.inner
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(timeout);
                ConnectionManager::new_with_config(self.inner.client.clone(), config)
                    .await
                    .map_err(|e| KeyStoreError::Unavailable(format!("redis: {e}")))
            })
            .await
            .cloned()
    }

    /// Runs `op` on the connection within the call's time budget.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, KeyStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            op(conn).await.map_err(|e| map_err(&e))
        };
        tokio::time::timeout(self.inner.timeout, call)
            .await
            .map_err(|_| {
                KeyStoreError::Unavailable(format!(
                    "redis: no answer within {} ms",
                    self.inner.timeout.as_millis()
                ))
            })?
    }
}
