//! [`MemoryStore`]: the embedded session store for one process.

use super::{SessionId, SessionRecord, SessionStore, StoreError, now_ms};
use crate::earliest_expiry::EarliestExpiry;
use async_trait::async_trait;
use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;
use std::sync::{Mutex, MutexGuard};

/// Default bound on stored sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// An in-memory session store: bounded, purging expired entries, safe under
/// concurrency. Its lock is a plain `Mutex` held only for map operations,
/// never across an `.await`.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Sessions>,
    max_sessions: usize,
}

#[derive(Debug, Default)]
struct Sessions {
    map: HashMap<SessionId, SessionRecord>,
    /// A full store reads every session for expired ones only once one may
    /// have expired: a flood of creations refused while it is full of live
    /// sessions costs no pass over it each.
    earliest: EarliestExpiry,
    /// The sessions bound to each customer, under a keyed hash of
    /// (account, customer), so that "log out everywhere" reads that
    /// customer's sessions, not the store (a flood of it read the whole
    /// store per request, under the lock every lookup waits on). Kept exact
    /// by every write and removal. A hash, not the two strings: a session
    /// costs its index entry and a copy of its ID, no more.
    by_customer: HashMap<u64, Ids>,
    keys: RandomState,
    #[cfg(test)]
    sweeps: usize,
}

impl Sessions {
    fn sweep(&mut self, now: u64) {
        let swept = self
            .earliest
            .sweep(&mut self.map, now, SessionRecord::deadline_ms);
        if swept {
            // As long as the pass over the map just made.
            let map = &self.map;
            self.by_customer
                .retain(|_, ids| ids.retain(|id| map.contains_key(id)));
        }
        #[cfg(test)]
        {
            self.sweeps += usize::from(swept);
        }
    }

    /// Stores `record` (whose deadline may be earlier than any so far).
    fn put(&mut self, record: &SessionRecord) {
        self.earliest.note(record.deadline_ms());
        if let Some(old) = self.map.insert(record.id.clone(), record.clone()) {
            self.unindex(&old);
        }
        if let Some(customer) = &record.customer {
            let key = self.customer_key(&record.account, customer);
            match self.by_customer.entry(key) {
                Entry::Occupied(mut ids) => ids.get_mut().insert(record.id.clone()),
                Entry::Vacant(slot) => {
                    slot.insert(Ids::One(record.id.clone()));
                }
            }
        }
    }

    fn customer_key(&self, account: &str, customer: &str) -> u64 {
        self.keys.hash_one((account, customer))
    }

    fn remove(&mut self, id: &SessionId) -> Option<SessionRecord> {
        let old = self.map.remove(id)?;
        self.unindex(&old);
        Some(old)
    }

    fn unindex(&mut self, record: &SessionRecord) {
        let Some(customer) = &record.customer else {
            return;
        };
        let key = self.customer_key(&record.account, customer);
        if let Some(ids) = self.by_customer.get_mut(&key)
            && !ids.retain(|id| id != &record.id)
        {
            self.by_customer.remove(&key);
        }
    }
}

/// One customer's sessions: most have one, held without a set.
#[derive(Debug)]
enum Ids {
    One(SessionId),
    Many(HashSet<SessionId>),
}

impl Ids {
    fn insert(&mut self, id: SessionId) {
        match self {
            Self::One(one) if *one == id => {}
            Self::One(one) => {
                let one = one.clone();
                *self = Self::Many(HashSet::from([one, id]));
            }
            Self::Many(set) => {
                set.insert(id);
            }
        }
    }

    /// Keeps the IDs `keep` holds for; whether any is left.
    fn retain(&mut self, mut keep: impl FnMut(&SessionId) -> bool) -> bool {
        match self {
            Self::One(one) => keep(one),
            Self::Many(set) => {
                set.retain(|id| keep(id));
                !set.is_empty()
            }
        }
    }

    fn into_vec(self) -> Vec<SessionId> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(set) => set.into_iter().collect(),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(set) => set.len(),
        }
    }
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
            inner: Mutex::new(Sessions::default()),
            max_sessions: max_sessions.max(1),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Sessions>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    /// Number of stored sessions (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.lock().map(|s| s.map.len()).unwrap_or(0)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired session.
    pub fn purge_expired(&self) {
        if let Ok(mut sessions) = self.lock() {
            sessions.sweep(now_ms());
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut sessions = self.lock()?;
        if sessions.map.len() >= self.max_sessions {
            sessions.sweep(now_ms());
            if sessions.map.len() >= self.max_sessions {
                return Err(StoreError::Full);
            }
        }
        if sessions.map.contains_key(&record.id) {
            return Err(StoreError::Backend("session id collision".into()));
        }
        sessions.put(record);
        Ok(())
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let mut sessions = self.lock()?;
        match sessions.map.get(id) {
            Some(r) if r.is_expired_at(now_ms()) => {
                sessions.remove(id);
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
        let mut sessions = self.lock()?;
        match sessions.map.get(&record.id) {
            Some(current) if current.version == expected_version => {
                sessions.put(record);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.lock()?.remove(id).is_some())
    }

    async fn remove_customer(&self, account: &str, customer: &str) -> Result<u64, StoreError> {
        let mut sessions = self.lock()?;
        let key = sessions.customer_key(account, customer);
        let Some(ids) = sessions.by_customer.remove(&key) else {
            return Ok(0);
        };
        let mut removed = 0;
        // Another customer whose key is the same hash keeps its sessions.
        let mut others: Option<Ids> = None;
        for id in ids.into_vec() {
            match sessions.map.get(&id) {
                Some(r) if r.account == account && r.customer.as_deref() == Some(customer) => {
                    sessions.map.remove(&id);
                    removed += 1;
                }
                Some(_) => match &mut others {
                    Some(o) => o.insert(id),
                    None => others = Some(Ids::One(id)),
                },
                None => {}
            }
        }
        if let Some(others) = others {
            sessions.by_customer.insert(key, others);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::NewSession;
    use futures_util::FutureExt as _;
    use std::time::Duration;

    fn create(store: &MemoryStore, ttl: Duration) -> Result<SessionRecord, StoreError> {
        store
            .create(NewSession::anonymous("a", "").with_ttl(ttl))
            .now_or_never()
            .expect("the memory store answers at once")
    }

    fn sweeps(store: &MemoryStore) -> usize {
        store.lock().unwrap().sweeps
    }

    /// Creations refused while the store is full of live sessions read it
    /// whole only once a session may have expired, not once each; once one
    /// has, it makes room.
    #[test]
    fn a_full_store_refuses_a_flood_without_reading_itself_each_time() {
        let store = MemoryStore::new(1_000);
        create(&store, Duration::from_millis(500)).unwrap();
        for _ in 1..1_000 {
            create(&store, Duration::from_secs(3600)).unwrap();
        }
        let before = sweeps(&store);
        for _ in 0..5_000 {
            assert_eq!(
                create(&store, Duration::from_secs(3600)).unwrap_err(),
                StoreError::Full
            );
        }
        // (Unless the loop outlasted the first session's 500 ms, when one
        // pass would have made room and a creation succeeded.)
        assert_eq!(sweeps(&store), before, "no session could have expired");
        std::thread::sleep(Duration::from_millis(550));
        create(&store, Duration::from_secs(3600)).expect("the expired session made room");
        assert_eq!(store.len(), 1_000);
    }

    /// "Log out everywhere" reads the customer's own sessions through an
    /// index that every write and removal keeps exact: creation for a
    /// customer, binding an anonymous session, removal, expiry.
    #[test]
    fn the_customer_index_stays_exact() {
        let store = MemoryStore::new(100);
        fn now<T>(f: impl std::future::Future<Output = T>) -> T {
            f.now_or_never().expect("the memory store answers at once")
        }
        let for_customer = |c: &str, ttl: Duration| {
            now(store.create(NewSession::for_customer("a", c, "").with_ttl(ttl))).unwrap()
        };
        let a1 = for_customer("ann", Duration::from_secs(3600));
        for_customer("ann", Duration::from_millis(300));
        let b = for_customer("bob", Duration::from_secs(3600));
        let anon = create(&store, Duration::from_secs(3600)).unwrap();
        // An anonymous session bound to ann (a write of its record).
        let mut bound = anon.clone();
        bound.customer = Some("ann".into());
        bound.version += 1;
        assert!(now(store.compare_and_swap(anon.version, &bound)).unwrap());
        // Removed one by one: out of the index too.
        assert!(now(store.remove(&a1.id)).unwrap());
        std::thread::sleep(Duration::from_millis(350));
        store.purge_expired();
        let index = |s: &MemoryStore| {
            let g = s.lock().unwrap();
            let mut v: Vec<_> = ["ann", "bob"]
                .into_iter()
                .filter_map(|c| {
                    let ids = g.by_customer.get(&g.customer_key("a", c))?;
                    Some((c.to_owned(), ids.len()))
                })
                .collect();
            assert_eq!(v.len(), g.by_customer.len(), "no other entries");
            v.sort();
            v
        };
        assert_eq!(
            index(&store),
            [("ann".to_owned(), 1), ("bob".to_owned(), 1)]
        );
        assert_eq!(now(store.remove_customer("a", "ann")).unwrap(), 1);
        assert_eq!(
            now(store.load(&anon.id)).unwrap(),
            None,
            "the bound one went"
        );
        assert_eq!(now(store.remove_customer("a", "ann")).unwrap(), 0);
        assert_eq!(now(store.remove_customer("other", "bob")).unwrap(), 0);
        assert_eq!(index(&store), [("bob".to_owned(), 1)]);
        assert!(now(store.load(&b.id)).unwrap().is_some());
        assert_eq!(store.len(), 1);
    }
}
