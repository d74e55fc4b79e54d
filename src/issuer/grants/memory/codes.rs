//! [`MemoryCodes`]: authorization codes in memory, keyed by their SHA-256
//! digest, bounded.

use super::{DEFAULT_MAX_ENTRIES, SWEEP_EVERY_MS, lock};
use crate::earliest_expiry::EarliestExpiry;
use crate::issuer::grants::{
    CodeGrant, CodeStore, FamilyId, GrantStoreError, Redeemed, now_ms, parse_code, random_secret,
    ttl_ms,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug)]
struct CodeEntry {
    /// `None` once redeemed (the used marker).
    grant: Option<CodeGrant>,
    family: FamilyId,
    expires_ms: u64,
}

#[derive(Debug, Default)]
struct Codes {
    by_digest: HashMap<[u8; 32], CodeEntry>,
    /// Sweeps read the map only once a code may have expired: a flood of
    /// issues refused while the store is full costs no pass over it each.
    earliest: EarliestExpiry,
    last_sweep_ms: u64,
}

/// Authorization codes in memory, keyed by their SHA-256 digest.
///
/// Bounded: at most `max_entries` codes (used markers included). When the
/// limit is reached, expired entries are dropped first; if the store is
/// still full, [`CodeStore::issue`] fails with [`GrantStoreError::Full`]
/// (live codes are never evicted, so a login in progress is never broken
/// by a flood). Expired entries are also swept on writes, at most once a
/// second.
#[derive(Debug)]
pub struct MemoryCodes {
    inner: Mutex<Codes>,
    max_entries: usize,
}

impl Default for MemoryCodes {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCodes {
    /// A store holding at most 100 000 codes.
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store holding at most `max_entries` codes (at least 1).
    pub fn with_max_entries(max_entries: usize) -> Self {
        Self {
            inner: Mutex::new(Codes::default()),
            max_entries: max_entries.max(1),
        }
    }

    /// How many codes (used markers included, expired ones not yet swept
    /// too) are held.
    pub fn len(&self) -> usize {
        lock(&self.inner).by_digest.len()
    }

    /// Whether no code is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl CodeStore for MemoryCodes {
    async fn issue(&self, grant: &CodeGrant, ttl: Duration) -> Result<String, GrantStoreError> {
        let code = random_secret()?;
        let family = FamilyId::generate()?;
        let Some(digest) = parse_code(&code) else {
            return Err(GrantStoreError::Rng);
        };
        let now = now_ms();
        let mut codes = lock(&self.inner);
        let full = codes.by_digest.len() >= self.max_entries;
        if full || now.saturating_sub(codes.last_sweep_ms) >= SWEEP_EVERY_MS {
            let codes = &mut *codes;
            if codes
                .earliest
                .sweep(&mut codes.by_digest, now, |e| e.expires_ms)
            {
                codes.last_sweep_ms = now;
            }
        }
        if codes.by_digest.len() >= self.max_entries {
            return Err(GrantStoreError::Full);
        }
        let expires_ms = now.saturating_add(ttl_ms(ttl));
        codes.earliest.note(expires_ms);
        codes.by_digest.insert(
            digest,
            CodeEntry {
                grant: Some(grant.clone()),
                family,
                expires_ms,
            },
        );
        Ok(code)
    }

    async fn redeem(&self, code: &str) -> Result<Redeemed, GrantStoreError> {
        let Some(digest) = parse_code(code) else {
            return Ok(Redeemed::Unknown);
        };
        let now = now_ms();
        let mut codes = lock(&self.inner);
        let Some(entry) = codes.by_digest.get_mut(&digest) else {
            return Ok(Redeemed::Unknown);
        };
        if entry.expires_ms <= now {
            codes.by_digest.remove(&digest);
            return Ok(Redeemed::Unknown);
        }
        Ok(match entry.grant.take() {
            Some(grant) => Redeemed::Fresh {
                grant,
                family: entry.family.clone(),
            },
            None => Redeemed::Replayed {
                family: entry.family.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::grant;
    use super::*;
    use crate::issuer::grants::CODE_LEN;
    use crate::issuer::grants::secret::digest;

    #[tokio::test]
    async fn a_code_is_single_use_and_stored_as_a_digest() {
        let codes = MemoryCodes::new();
        let code = codes
            .issue(&grant(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(code.len(), CODE_LEN);
        {
            let inner = lock(&codes.inner);
            assert!(inner.by_digest.contains_key(&digest(&code)));
        }
        let Redeemed::Fresh { grant: g, family } = codes.redeem(&code).await.unwrap() else {
            panic!("not fresh")
        };
        assert_eq!(g, grant());
        assert_eq!(
            codes.redeem(&code).await.unwrap(),
            Redeemed::Replayed { family }
        );
        assert_eq!(codes.redeem("nope").await.unwrap(), Redeemed::Unknown);
    }

    #[tokio::test]
    async fn the_code_store_is_bounded_and_sweeps_expired_codes() {
        let codes = MemoryCodes::with_max_entries(2);
        codes
            .issue(&grant(), Duration::from_millis(1))
            .await
            .unwrap();
        codes
            .issue(&grant(), Duration::from_secs(60))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Full, but one entry is expired: it makes room.
        codes
            .issue(&grant(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(codes.len(), 2);
        assert_eq!(
            codes.issue(&grant(), Duration::from_secs(60)).await,
            Err(GrantStoreError::Full)
        );
    }

    /// Issues refused while the store is full of live codes do not read
    /// the store each (the next possible expiry is a minute away).
    #[tokio::test]
    async fn a_full_code_store_refuses_a_flood_without_reading_itself_each_time() {
        let codes = MemoryCodes::with_max_entries(1_000);
        for _ in 0..1_000 {
            codes
                .issue(&grant(), Duration::from_secs(60))
                .await
                .unwrap();
        }
        let swept_at = lock(&codes.inner).last_sweep_ms;
        for _ in 0..2_000 {
            assert_eq!(
                codes.issue(&grant(), Duration::from_secs(60)).await,
                Err(GrantStoreError::Full)
            );
        }
        assert_eq!(
            lock(&codes.inner).last_sweep_ms,
            swept_at,
            "no pass was made"
        );
    }
}
