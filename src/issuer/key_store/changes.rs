//! Changing the shared set: the first install at start-up, rotation and
//! retirement by compare-and-swap on the set's version, and applying a
//! newer set to the local ring.

use super::document::{StoredKey, StoredSet, decode, encode, now_ms};
use super::{KeyStoreError, RedisKeyStore};
use crate::issuer::keys::SigningKey;

/// How often `rotate` / `retire` re-read and retry after losing the
/// compare-and-swap to a concurrent change.
const CAS_ATTEMPTS: usize = 5;

impl RedisKeyStore {
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
    pub(super) async fn fetch(&self, known: Option<u64>) -> Result<Option<String>, KeyStoreError> {
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
    pub(super) fn apply(&self, doc: &str) -> Result<bool, KeyStoreError> {
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
}
