//! [`MemoryStore`]: the embedded session store for one process.

use super::{SessionId, SessionRecord, SessionStore, StoreError, now_ms};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Default bound on stored sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// An in-memory session store: bounded, purging expired entries, safe under
/// concurrency. Its lock is a plain `Mutex` held only for map operations,
/// never across an `.await`.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<HashMap<SessionId, SessionRecord>>,
    max_sessions: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SESSIONS)
    }
}

impl MemoryStore {
    /// A store holding at most `max_sessions` live sessions.
    pub fn new(max_sessions: usize) -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
            max_sessions: max_sessions.max(1),
        }
    }

    fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<SessionId, SessionRecord>>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    /// Number of stored sessions (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired session.
    pub fn purge_expired(&self) {
        if let Ok(mut map) = self.lock() {
            let now = now_ms();
            map.retain(|_, r| !r.is_expired_at(now));
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut map = self.lock()?;
        if map.len() >= self.max_sessions {
            let now = now_ms();
            map.retain(|_, r| !r.is_expired_at(now));
            if map.len() >= self.max_sessions {
                return Err(StoreError::Full);
            }
        }
        if map.contains_key(&record.id) {
            return Err(StoreError::Backend("session id collision".into()));
        }
        map.insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let mut map = self.lock()?;
        match map.get(id) {
            Some(r) if r.is_expired_at(now_ms()) => {
                map.remove(id);
                Ok(None)
            }
            Some(r) => Ok(Some(r.clone())),
            None => Ok(None),
        }
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock()?;
        match map.get_mut(&record.id) {
            Some(current) if current.version == expected_version => {
                *current = record.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.lock()?.remove(id).is_some())
    }

    async fn remove_customer(&self, account: &str, customer: &str) -> Result<u64, StoreError> {
        let mut map = self.lock()?;
        let before = map.len();
        map.retain(|_, r| !(r.account == account && r.customer.as_deref() == Some(customer)));
        Ok((before - map.len()) as u64)
    }
}
