//! [`MemoryRefreshTokens`]: refresh-token families in memory, with
//! rotation, reuse detection and tombstones, bounded.

use super::{DEFAULT_MAX_ENTRIES, SWEEP_EVERY_MS, lock};
use crate::earliest_expiry::EarliestExpiry;
use crate::issuer::grants::{
    DEFAULT_TOMBSTONE_TTL, Family, FamilyId, GrantStoreError, MAX_SPENT, RefreshStore, Rotation,
    new_refresh_token, now_ms, parse_refresh_token, ttl_ms,
};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use subtle::ConstantTimeEq as _;

#[derive(Debug)]
struct LiveFamily {
    family: Family,
    current: [u8; 32],
    /// Spent secrets' digests, newest first, at most [`MAX_SPENT`].
    spent: VecDeque<[u8; 32]>,
}

impl LiveFamily {
    fn is_current(&self, digest: &[u8; 32]) -> bool {
        bool::from(self.current.ct_eq(digest))
    }

    /// Constant time in the position of a match (every entry is compared).
    fn is_spent(&self, digest: &[u8; 32]) -> bool {
        let mut found = subtle::Choice::from(0);
        for d in &self.spent {
            found |= d.ct_eq(digest);
        }
        bool::from(found)
    }
}

#[derive(Debug)]
enum Slot {
    Live(Box<LiveFamily>),
    /// Revoked; kept until this time (ms since the epoch).
    Revoked {
        until_ms: u64,
    },
}

impl Slot {
    fn is_dead(&self, now_ms: u64) -> bool {
        match self {
            Self::Live(l) => l.family.is_expired(now_ms / 1000),
            Self::Revoked { until_ms } => *until_ms <= now_ms,
        }
    }

    /// When [`is_dead`](Self::is_dead) turns true, ms since the epoch.
    fn deadline_ms(&self) -> u64 {
        match self {
            Self::Live(l) => {
                let f = &l.family;
                f.absolute_expiry
                    .min(f.last_used.saturating_add(f.idle_ttl))
                    .saturating_mul(1000)
            }
            Self::Revoked { until_ms } => *until_ms,
        }
    }
}

#[derive(Debug, Default)]
struct Families {
    by_id: HashMap<FamilyId, Slot>,
    last_sweep_ms: u64,
    /// Sweeps read the map only once a family may have died: a flood of
    /// starts refused while the store is full costs no pass over it each.
    earliest: EarliestExpiry,
}

impl Families {
    /// Drops dead families and tombstones: at most once a second, or when
    /// the store is `full`; either way only once one may have died.
    fn sweep(&mut self, now: u64, full: bool) {
        if (full || now.saturating_sub(self.last_sweep_ms) >= SWEEP_EVERY_MS)
            && self.earliest.sweep(&mut self.by_id, now, Slot::deadline_ms)
        {
            self.last_sweep_ms = now;
        }
    }

    /// Stores `slot` as `id`.
    fn put(&mut self, id: &FamilyId, slot: Slot) -> Option<Slot> {
        self.earliest.note(slot.deadline_ms());
        self.by_id.insert(id.clone(), slot)
    }

    /// The live, unexpired family `id`, else `None`.
    fn live(&mut self, id: &FamilyId, now: u64) -> Option<&mut LiveFamily> {
        match self.by_id.get_mut(id) {
            Some(Slot::Live(l)) if !l.family.is_expired(now / 1000) => Some(l),
            _ => None,
        }
    }

    /// Replaces `id` by a tombstone; returns its unexpired access tokens.
    fn revoke(&mut self, id: &FamilyId, now: u64, tombstone_ms: u64) -> Vec<(String, u64)> {
        let until_ms = now.saturating_add(tombstone_ms);
        let old = self.put(id, Slot::Revoked { until_ms });
        match old {
            Some(Slot::Live(l)) => {
                let secs = now / 1000;
                let mut tokens = l.family.access_tokens;
                tokens.retain(|(_, exp)| *exp > secs);
                tokens
            }
            Some(Slot::Revoked { until_ms: before }) => {
                // Never shorten an earlier tombstone.
                if before > until_ms {
                    self.by_id
                        .insert(id.clone(), Slot::Revoked { until_ms: before });
                }
                Vec::new()
            }
            None => Vec::new(),
        }
    }
}

/// Refresh-token families in memory.
///
/// Bounded: at most `max_entries` live families. When the limit is reached,
/// expired families and tombstones are dropped first; if the store is still
/// full, [`RefreshStore::start`] fails with [`GrantStoreError::Full`].
/// Revocation is never refused: a tombstone for a family that was never
/// started may exceed the limit (such revocations need a real replayed code,
/// so they cannot be flooded). Expired entries are also swept on writes, at
/// most once a second.
#[derive(Debug)]
pub struct MemoryRefreshTokens {
    inner: Mutex<Families>,
    max_entries: usize,
    tombstone_ttl: Duration,
}

impl Default for MemoryRefreshTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRefreshTokens {
    /// A store holding at most 100 000 families, with tombstones kept for
    /// [`DEFAULT_TOMBSTONE_TTL`].
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store holding at most `max_entries` families (at least 1).
    pub fn with_max_entries(max_entries: usize) -> Self {
        Self {
            inner: Mutex::new(Families::default()),
            max_entries: max_entries.max(1),
            tombstone_ttl: DEFAULT_TOMBSTONE_TTL,
        }
    }

    /// Keeps a revoked family's tombstone this long (at least 1 ms). It
    /// must exceed the longest code lifetime plus the time an exchange takes.
    #[must_use]
    pub fn tombstone_ttl(mut self, ttl: Duration) -> Self {
        self.tombstone_ttl = ttl;
        self
    }

    /// How many families (tombstones and expired ones not yet swept
    /// included) are held.
    pub fn len(&self) -> usize {
        lock(&self.inner).by_id.len()
    }

    /// Whether no family is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl RefreshStore for MemoryRefreshTokens {
    async fn start(&self, family: &Family) -> Result<String, GrantStoreError> {
        let (token, digest) = new_refresh_token(&family.id)?;
        let now = now_ms();
        let mut families = lock(&self.inner);
        let full = families.by_id.len() >= self.max_entries;
        families.sweep(now, full);
        match families.by_id.get(&family.id) {
            Some(slot) if slot.is_dead(now) => {}
            Some(Slot::Revoked { .. }) => return Err(GrantStoreError::Revoked),
            Some(Slot::Live(_)) => return Err(GrantStoreError::AlreadyStarted),
            None => {}
        }
        if families.by_id.len() >= self.max_entries {
            return Err(GrantStoreError::Full);
        }
        families.put(
            &family.id,
            Slot::Live(Box::new(LiveFamily {
                family: family.clone(),
                current: digest,
                spent: VecDeque::new(),
            })),
        );
        Ok(token)
    }

    async fn rotate(&self, presented: &str, client_id: &str) -> Result<Rotation, GrantStoreError> {
        let Some((id, digest)) = parse_refresh_token(presented) else {
            return Ok(Rotation::Invalid);
        };
        let (next, next_digest) = new_refresh_token(&id)?;
        let now = now_ms();
        let mut families = lock(&self.inner);
        let Some(live) = families.live(&id, now) else {
            return Ok(Rotation::Invalid);
        };
        if live.family.client_id != client_id {
            return Ok(Rotation::Invalid);
        }
        if live.is_current(&digest) {
            let spent = std::mem::replace(&mut live.current, next_digest);
            live.spent.push_front(spent);
            live.spent.truncate(MAX_SPENT);
            live.family.last_used = now / 1000;
            return Ok(Rotation::Rotated {
                family: live.family.clone(),
                refresh_token: next,
            });
        }
        if live.is_spent(&digest) {
            let access_tokens = families.revoke(&id, now, ttl_ms(self.tombstone_ttl));
            tracing::debug!(family = %id, client = client_id, "tollgate: refresh token reused; family revoked");
            return Ok(Rotation::Reused {
                family: id,
                access_tokens,
            });
        }
        Ok(Rotation::Invalid)
    }

    async fn record_access_token(
        &self,
        family: &FamilyId,
        jti: &str,
        exp: u64,
    ) -> Result<(), GrantStoreError> {
        let now = now_ms();
        let mut families = lock(&self.inner);
        if let Some(Slot::Revoked { until_ms }) = families.by_id.get(family)
            && *until_ms > now
        {
            return Err(GrantStoreError::Revoked);
        }
        let Some(live) = families.live(family, now) else {
            return Err(GrantStoreError::UnknownFamily);
        };
        let secs = now / 1000;
        live.family.access_tokens.retain(|(_, e)| *e > secs);
        live.family.access_tokens.push((jti.to_owned(), exp));
        Ok(())
    }

    async fn revoke(&self, family: &FamilyId) -> Result<Vec<(String, u64)>, GrantStoreError> {
        let now = now_ms();
        let mut families = lock(&self.inner);
        families.sweep(now, false);
        Ok(families.revoke(family, now, ttl_ms(self.tombstone_ttl)))
    }

    async fn family_of(
        &self,
        presented: &str,
        client_id: &str,
    ) -> Result<Option<FamilyId>, GrantStoreError> {
        let Some((id, digest)) = parse_refresh_token(presented) else {
            return Ok(None);
        };
        let now = now_ms();
        let mut families = lock(&self.inner);
        let Some(live) = families.live(&id, now) else {
            return Ok(None);
        };
        let known = live.is_current(&digest) | live.is_spent(&digest);
        Ok((live.family.client_id == client_id && known).then_some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::grant;
    use super::*;
    use crate::issuer::grants::grants_now;

    fn family(idle: u64, life: u64) -> Family {
        Family::new(
            FamilyId::generate().unwrap(),
            &grant(),
            grants_now(),
            life,
            idle,
        )
    }

    #[tokio::test]
    async fn the_family_store_is_bounded_but_revocation_is_not() {
        let store = MemoryRefreshTokens::with_max_entries(1);
        store.start(&family(60, 60)).await.unwrap();
        assert_eq!(
            store.start(&family(60, 60)).await,
            Err(GrantStoreError::Full)
        );
        let f = family(60, 60);
        store.revoke(&f.id).await.unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.start(&f).await, Err(GrantStoreError::Revoked));
    }

    /// Starts refused while the store is full of live families do not read
    /// the store each (no family can die for a minute).
    #[tokio::test]
    async fn a_full_family_store_refuses_a_flood_without_reading_itself_each_time() {
        let store = MemoryRefreshTokens::with_max_entries(500);
        for _ in 0..500 {
            store.start(&family(60, 60)).await.unwrap();
        }
        let swept_at = lock(&store.inner).last_sweep_ms;
        for _ in 0..2_000 {
            assert_eq!(
                store.start(&family(60, 60)).await,
                Err(GrantStoreError::Full)
            );
        }
        assert_eq!(
            lock(&store.inner).last_sweep_ms,
            swept_at,
            "no pass was made"
        );
    }

    #[tokio::test]
    async fn starting_twice_fails_and_tombstones_expire() {
        let store = MemoryRefreshTokens::new().tombstone_ttl(Duration::from_millis(1));
        let f = family(60, 60);
        store.start(&f).await.unwrap();
        assert_eq!(store.start(&f).await, Err(GrantStoreError::AlreadyStarted));
        let g = family(60, 60);
        store.revoke(&g.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        store.start(&g).await.unwrap();
    }

    #[tokio::test]
    async fn spent_tokens_are_capped() {
        let store = MemoryRefreshTokens::new();
        let f = family(600, 600);
        let mut token = store.start(&f).await.unwrap();
        let first = token.clone();
        for _ in 0..=MAX_SPENT {
            let Rotation::Rotated { refresh_token, .. } =
                store.rotate(&token, "web").await.unwrap()
            else {
                panic!("not rotated")
            };
            token = refresh_token;
        }
        // The very first token fell off the spent list: merely Invalid.
        assert_eq!(
            store.rotate(&first, "web").await.unwrap(),
            Rotation::Invalid
        );
        assert!(matches!(
            store.rotate(&token, "web").await.unwrap(),
            Rotation::Rotated { .. }
        ));
        let inner = lock(&store.inner);
        let Some(Slot::Live(l)) = inner.by_id.get(&f.id) else {
            panic!("gone")
        };
        assert_eq!(l.spent.len(), MAX_SPENT);
    }

    #[tokio::test]
    async fn access_tokens_are_pruned_on_append() {
        let store = MemoryRefreshTokens::new();
        let f = family(600, 600);
        store.start(&f).await.unwrap();
        let now = grants_now();
        store
            .record_access_token(&f.id, "old", now - 1)
            .await
            .unwrap();
        store
            .record_access_token(&f.id, "a", now + 60)
            .await
            .unwrap();
        store
            .record_access_token(&f.id, "b", now + 60)
            .await
            .unwrap();
        assert_eq!(
            store.revoke(&f.id).await.unwrap(),
            vec![("a".to_owned(), now + 60), ("b".to_owned(), now + 60)]
        );
        assert_eq!(
            store.record_access_token(&f.id, "c", now + 60).await,
            Err(GrantStoreError::Revoked)
        );
        assert_eq!(
            store
                .record_access_token(&FamilyId::generate().unwrap(), "c", now + 60)
                .await,
            Err(GrantStoreError::UnknownFamily)
        );
    }
}
