//! [`RedisKeyStore`] (feature `redis`): one signing-key set in Redis, shared
//! by every instance of a platform.
#![cfg(feature = "redis")]

mod changes;
mod connection;
mod document;
mod error;
mod refresher;
mod scripts;

pub use error::KeyStoreError;

use super::keys::KeyRing;
use crate::config::ConfigError;
use crate::redis_conn::RedisConn;
use scripts::{CAS_SCRIPT, INIT_SCRIPT, POLL_SCRIPT};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The Redis key under the prefix.
const KEY_NAME: &str = "signing-keys";

struct Inner {
    conn: RedisConn,
    key: String,
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
            .field("timeout", &self.inner.conn.timeout())
            .field("applied_version", &self.applied_version())
            .field("connected", &self.inner.conn.is_connected())
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
            inner.conn.client().clone(),
            inner.ring.clone(),
            prefix.into(),
            inner.conn.timeout(),
        )
    }

    /// This store with time budget `timeout` per Redis call (default 500
    /// ms, at least 1 ms). Same caveat as [`key_prefix`](Self::key_prefix).
    pub fn timeout(self, timeout: Duration) -> Self {
        let inner = &self.inner;
        Self::build(
            inner.conn.client().clone(),
            inner.ring.clone(),
            inner.conn.prefix.clone(),
            timeout,
        )
    }

    fn build(client: redis::Client, ring: KeyRing, prefix: String, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                key: format!("{prefix}{KEY_NAME}"),
                conn: RedisConn::from_client(client, &prefix, timeout).with_retries(2),
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
}
