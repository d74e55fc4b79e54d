//! The verified-token cache: a token that verified once is not verified
//! again while it stays valid.
//!
//! - Keyed by the whole token and its kind, never by a prefix or by `jti`:
//!   an entry holds the token (zeroed when the entry is dropped) and a hit
//!   needs the presented token to equal it, compared in constant time. The
//!   table is indexed by a keyed hash (`foldhash`, a random seed per
//!   cache), so a hash collision can only cost a miss, never a wrong hit.
//!   (An earlier version keyed by SHA-256 and kept no token: the digest was
//!   about half of a cached request's time.)
//! - Bounded in entries and bytes (an entry weighs about its token's size);
//!   tokens over a size cap are verified but not stored.
//! - Only successes are stored. Every hit re-checks `exp`/`nbf` against the
//!   clock (with the issuer's leeway) and the key-set generation of the
//!   issuer: any refresh of a remote key set (so also one that removed the
//!   key) invalidates what was verified before it.
//! - Lookups take a shard's read lock only (`quick_cache`), so they proceed
//!   in parallel; nothing is held across an `.await`.
//! - In front of it each thread keeps up to 8 tokens it hit twice, with
//!   private copies of their contexts (`local.rs`), so that a hot token
//!   served by many cores does not bounce one lock and one reference count
//!   between them. These copies are outside `max_bytes` (at most 8 tokens
//!   of `max_token_bytes` and their contexts per thread) and are re-checked
//!   exactly like shared entries.

use crate::context::AuthContext;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

mod local;

/// Distinguishes caches in the per-thread slots (several authenticators
/// can share a thread).
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// Verified-token cache settings (on by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenCacheSettings {
    /// Whether verified tokens are cached (default true).
    pub enabled: bool,
    /// Most entries held (default 10,000).
    pub max_entries: usize,
    /// Most bytes held (default 24 MiB). Each entry is weighed by what it
    /// holds on the heap (the token, its verified context and claims, the
    /// cache's own slot), about 2.2 KiB for a typical 400-byte access token,
    /// so the default holds the default 10,000 entries of up to ~2.4 KiB.
    pub max_bytes: usize,
    /// Tokens longer than this are verified but never stored (default 4 KiB).
    pub max_token_bytes: usize,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: 10_000,
            max_bytes: 24 * 1024 * 1024,
            max_token_bytes: 4096,
        }
    }
}

impl TokenCacheSettings {
    /// Sets whether verified tokens are cached.
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the most entries held.
    #[must_use]
    pub fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// Sets the most bytes held (estimated).
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Sets the size past which tokens are verified but never stored, in bytes.
    #[must_use]
    pub fn with_max_token_bytes(mut self, max_token_bytes: usize) -> Self {
        self.max_token_bytes = max_token_bytes;
        self
    }
}

/// What an entry holds beside the token and the context's heap: its key
/// and value in the shard's slot, and the shard's index into it.
const ENTRY_OVERHEAD: usize = size_of::<CachedToken>() + size_of::<Entry>() + 32;

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) ctx: AuthContext,
    /// `exp` plus leeway, seconds since the epoch.
    pub(crate) valid_until: f64,
    /// `nbf` minus leeway, if the token had one.
    pub(crate) valid_from: Option<f64>,
    pub(crate) issuer: usize,
    pub(crate) generation: u64,
    weight: u32,
}

impl Entry {
    /// Whether the entry may answer at `now`: within `nbf`/`exp` (leeway
    /// included) and its issuer's key set unchanged since it was verified.
    #[inline]
    fn is_fresh(&self, now: f64, generation_of: impl Fn(usize) -> u64) -> bool {
        now < self.valid_until
            && self.valid_from.is_none_or(|nbf| now >= nbf)
            && generation_of(self.issuer) == self.generation
    }
}

/// A cached token: its keyed hash, its kind, and the token itself. No
/// `Debug`: it holds a credential.
pub(crate) struct CachedToken {
    hash: u64,
    kind: u8,
    token: zeroize::Zeroizing<Box<[u8]>>,
}

/// A presented token, looked up without copying it.
pub(crate) struct TokenQuery<'a> {
    hash: u64,
    kind: u8,
    token: &'a [u8],
}

impl std::hash::Hash for CachedToken {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl std::hash::Hash for TokenQuery<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for CachedToken {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.kind == other.kind && ct_eq(&self.token, &other.token)
    }
}

impl Eq for CachedToken {}

impl quick_cache::Equivalent<CachedToken> for TokenQuery<'_> {
    fn equivalent(&self, key: &CachedToken) -> bool {
        self.hash == key.hash && self.kind == key.kind && ct_eq(self.token, &key.token)
    }
}

/// Constant-time equality of two byte strings (their lengths are not
/// secret). Written here on purpose: `subtle`'s slice comparison puts an
/// optimisation barrier on every byte, about ten times slower on a
/// 500-byte token; this folds 32 bytes at a time with no early exit, and
/// the barrier is on the result.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // `W` bytes at a time into `W` one-byte accumulators (fixed-size arrays,
    // which the compiler turns into vector XORs and ORs: 64-byte windows
    // keep four 16-byte registers busy per step); the last `W` bytes once
    // more instead of a byte-by-byte tail (lengths are equal and public, so
    // which bytes are read twice says nothing). Strings shorter than 32
    // bytes byte by byte.
    fn fold<const W: usize>(a: &[u8], b: &[u8]) -> u64 {
        fn window<const W: usize>(acc: &mut [u8; W], x: &[u8; W], y: &[u8; W]) {
            for ((acc, x), y) in acc.iter_mut().zip(x).zip(y) {
                *acc |= x ^ y;
            }
        }
        let mut acc = [0u8; W];
        let (xs, ys) = (a.as_chunks::<W>().0, b.as_chunks::<W>().0);
        for (x, y) in xs.iter().zip(ys) {
            window(&mut acc, x, y);
        }
        match (a.last_chunk::<W>(), b.last_chunk::<W>()) {
            (Some(x), Some(y)) => window(&mut acc, x, y),
            // Not reached: callers pass at least `W` bytes. Count it as unequal.
            _ => acc[0] |= 1,
        }
        acc.as_chunks::<8>()
            .0
            .iter()
            .fold(0u64, |d, w| d | u64::from_ne_bytes(*w))
    }
    let diff = if a.len() >= 64 {
        fold::<64>(a, b)
    } else if a.len() >= 32 {
        fold::<32>(a, b)
    } else {
        a.iter().zip(b).fold(0u64, |d, (x, y)| d | u64::from(x ^ y))
    };
    std::hint::black_box(diff) == 0
}

#[derive(Clone)]
struct ByWeight;

impl quick_cache::Weighter<CachedToken, Entry> for ByWeight {
    fn weight(&self, _key: &CachedToken, val: &Entry) -> u64 {
        u64::from(val.weight)
    }
}

/// Counts evictions for the metrics. Evicted entries are stashed (as the
/// default lifecycle does) and dropped, and counted, once the shard lock is
/// released.
#[derive(Clone, Default)]
struct CountEvictions;

#[derive(Default)]
struct Evicted {
    stash: [Option<(CachedToken, Entry)>; 2],
    count: u32,
}

impl Drop for Evicted {
    fn drop(&mut self) {
        if self.count > 0 {
            crate::telemetry::token_cache_evictions(self.count);
        }
    }
}

impl quick_cache::Lifecycle<CachedToken, Entry> for CountEvictions {
    type RequestState = Evicted;

    fn on_evict(&self, state: &mut Evicted, key: CachedToken, val: Entry) {
        state.count = state.count.saturating_add(1);
        if let Some(slot) = state.stash.iter_mut().find(|s| s.is_none()) {
            *slot = Some((key, val));
        }
    }
}

pub(crate) struct TokenCache {
    inner: quick_cache::sync::Cache<
        CachedToken,
        Entry,
        ByWeight,
        quick_cache::DefaultHashBuilder,
        CountEvictions,
    >,
    max_token_bytes: usize,
    min_weight: usize,
    /// Seeded at random per cache.
    hasher: foldhash::quality::RandomState,
    /// This cache in the per-thread slots.
    id: u64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.inner.len())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(settings: &TokenCacheSettings) -> Option<Self> {
        if !settings.enabled || settings.max_entries == 0 || settings.max_bytes == 0 {
            return None;
        }
        // Each entry weighs at least max_bytes / max_entries, so the byte cap
        // also caps the number of entries.
        let min_weight = (settings.max_bytes / settings.max_entries).max(1);
        // quick_cache also remembers the hashes of recently evicted keys
        // ("ghosts", half its estimated item count), each in a slot the size
        // of an entry's key and value, outside the weights. Its estimate is
        // kept to what `max_bytes` can hold (at least 1 KiB per entry), and
        // the ghosts' slots are taken from the weight capacity, so that
        // `max_bytes` bounds both.
        let estimated = settings.max_entries.min(settings.max_bytes / 1024).max(16);
        let ghosts = estimated / 2;
        let weight_capacity = settings
            .max_bytes
            .saturating_sub(ghosts * ENTRY_OVERHEAD)
            .max(min_weight);
        let mut options = quick_cache::OptionsBuilder::new();
        options
            .estimated_items_capacity(estimated)
            .weight_capacity(weight_capacity as u64)
            .ghost_allocation(0.5);
        // Cannot fail: both capacities are set.
        let options = options.build().ok()?;
        Some(Self {
            inner: quick_cache::sync::Cache::with_options(
                options,
                ByWeight,
                quick_cache::DefaultHashBuilder::default(),
                CountEvictions,
            ),
            max_token_bytes: settings.max_token_bytes,
            min_weight,
            hasher: foldhash::quality::RandomState::default(),
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The lookup key of a presented token of `kind`.
    pub(crate) fn query<'a>(&self, kind: u8, token: &'a [u8]) -> TokenQuery<'a> {
        use std::hash::BuildHasher as _;
        // The hash only picks a bucket (a hit needs the whole token equal,
        // compared in constant time), so it reads the length and the last
        // 32 bytes, not all of them: the cache holds verified JWSs only,
        // whose last bytes are their issuer's signature (or MAC), which no
        // one else can choose, so distinct cached tokens have distinct
        // tails and made-up tokens cannot crowd one bucket. The hasher is
        // seeded per cache.
        let tail = token.get(token.len().saturating_sub(32)..).unwrap_or(token);
        // Four words and one for the length and kind: five multiply-folds,
        // not a byte-slice hash with its length prefix and tail handling.
        let hash = match <&[u8; 32]>::try_from(tail) {
            Ok(tail) => {
                let mut w = [0u64; 4];
                for (w, bytes) in w.iter_mut().zip(tail.chunks_exact(8)) {
                    *w = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
                }
                let shape = (token.len() as u64) << 8 | u64::from(kind);
                self.hasher.hash_one((w[0], w[1], w[2], w[3], shape))
            }
            Err(_) => self.hasher.hash_one((kind, token.len(), tail)),
        };
        TokenQuery { hash, kind, token }
    }

    /// A still-valid entry, checked against the clock and the current
    /// key-set generation of its issuer.
    pub(crate) fn get(
        &self,
        key: &TokenQuery<'_>,
        now: f64,
        generation_of: impl Fn(usize) -> u64,
    ) -> Option<(AuthContext, usize)> {
        let fresh = |entry: &Entry| entry.is_fresh(now, &generation_of);
        if let Some(hit) = local::get(self.id, key, fresh) {
            return Some(hit);
        }
        let entry = self.inner.get(key)?;
        if fresh(&entry) {
            local::offer(self.id, key, &entry);
            Some((entry.ctx, entry.issuer))
        } else {
            self.inner.remove(key);
            None
        }
    }

    /// Runs `f` on the contexts (and their issuers' indexes) of both keys,
    /// borrowed from this thread's private copies, when both are there and
    /// still fresh (the same checks as [`get`](Self::get)); `None`
    /// otherwise, and the caller takes the owned path.
    pub(crate) fn with_local_pair<R>(
        &self,
        keys: [&TokenQuery<'_>; 2],
        now: f64,
        generation_of: impl Fn(u8, usize) -> u64,
        f: impl FnOnce([(&AuthContext, usize); 2]) -> R,
    ) -> Option<R> {
        let fresh = |entry: &Entry, kind: u8| entry.is_fresh(now, |idx| generation_of(kind, idx));
        local::with_pair(self.id, keys, fresh, |[a, c]| {
            f([(&a.ctx, a.issuer), (&c.ctx, c.issuer)])
        })
    }

    pub(crate) fn insert(
        &self,
        key: &TokenQuery<'_>,
        ctx: AuthContext,
        valid_until: f64,
        valid_from: Option<f64>,
        issuer: usize,
        generation: u64,
    ) {
        let token_len = key.token.len();
        if token_len > self.max_token_bytes {
            return;
        }
        // The entry's real size (measured by `benches/memory.rs`), so that
        // `max_bytes` bounds memory, not a nominal count.
        let weight = (crate::context::heap::block(token_len) + ctx.heap_bytes() + ENTRY_OVERHEAD)
            .max(self.min_weight);
        self.inner.insert(
            CachedToken {
                hash: key.hash,
                kind: key.kind,
                token: zeroize::Zeroizing::new(key.token.into()),
            },
            Entry {
                ctx,
                valid_until,
                valid_from,
                issuer,
                generation,
                weight: u32::try_from(weight).unwrap_or(u32::MAX),
            },
        );
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_cache::Equivalent as _;

    #[test]
    fn ct_eq_is_byte_equality() {
        let base: Vec<u8> = (0..200u8).collect();
        for len in 0..base.len() {
            let a = &base[..len];
            assert!(ct_eq(a, a));
            assert!(!ct_eq(a, &base[..len + 1]), "length {len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x01;
                assert!(!ct_eq(a, &b), "length {len}, byte {at}");
            }
        }
    }

    #[test]
    fn a_hit_needs_the_same_kind_and_the_whole_token() {
        let cache = TokenCache::new(&TokenCacheSettings::default()).unwrap();
        let q = cache.query(0, b"header.payload.signature");
        let stored = CachedToken {
            hash: q.hash,
            kind: q.kind,
            token: zeroize::Zeroizing::new(q.token.into()),
        };
        assert!(q.equivalent(&stored));
        // The same hash (a collision) with another token is no hit.
        let forged = TokenQuery {
            hash: q.hash,
            kind: 0,
            token: b"header.payload.signaturf",
        };
        assert!(!forged.equivalent(&stored));
        // The same token of another kind: another key, and no hit either.
        assert_ne!(cache.query(1, b"header.payload.signature").hash, q.hash);
        let other_kind = TokenQuery {
            hash: q.hash,
            kind: 1,
            token: q.token,
        };
        assert!(!other_kind.equivalent(&stored));
        // Each cache has its own seed.
        let other = TokenCache::new(&TokenCacheSettings::default()).unwrap();
        assert_ne!(other.query(0, b"header.payload.signature").hash, q.hash);
    }

    #[test]
    fn entries_weigh_what_their_contexts_hold() {
        let claims: serde_json::Map<_, _> = (0..40)
            .map(|i| {
                (
                    format!("claim-{i}"),
                    serde_json::Value::String("x".repeat(100)),
                )
            })
            .collect();
        let big = AuthContext::for_tests_with_claims("https://issuer.test", claims);
        let small = AuthContext::for_tests("https://issuer.test");
        // 40 members of 100-byte strings: their text alone is 4,000 bytes.
        assert!(big.heap_bytes() > 40 * (100 + "claim-00".len()));
        assert!(small.heap_bytes() < 1024, "{}", small.heap_bytes());
        let max_bytes = 256 * 1024;
        let cache = TokenCache::new(
            &TokenCacheSettings::default()
                .with_max_entries(10_000)
                .with_max_bytes(max_bytes),
        )
        .unwrap();
        for i in 0..500 {
            let token = format!("token-{i:04}");
            cache.insert(
                &cache.query(0, token.as_bytes()),
                big.clone(),
                f64::MAX,
                None,
                0,
                1,
            );
        }
        // Weighed by their tokens alone (as before), all 500 would fit.
        let fit = max_bytes / big.heap_bytes();
        assert!(cache.len() <= fit, "{} entries, {fit} fit", cache.len());
        assert!(cache.len() > fit / 4, "{} entries, {fit} fit", cache.len());
    }

    fn cache_with(token: &str, valid_until: f64) -> (TokenCache, AuthContext) {
        let cache = TokenCache::new(&TokenCacheSettings::default()).unwrap();
        let ctx = AuthContext::for_tests("https://issuer.test");
        cache.insert(
            &cache.query(0, token.as_bytes()),
            ctx.clone(),
            valid_until,
            None,
            0,
            7,
        );
        (cache, ctx)
    }

    #[test]
    fn a_thread_keeps_its_own_copy_of_a_token_hit_twice() {
        local::clear();
        let token = "h.p.s1";
        let (cache, shared) = cache_with(token, 100.0);
        let get = |now: f64, generation: u64| {
            cache
                .get(&cache.query(0, token.as_bytes()), now, |_| generation)
                .map(|(ctx, _)| ctx)
        };
        // The first two hits come from the shared cache; the second admits
        // a private copy, which the third serves.
        assert_eq!(get(1.0, 7).unwrap().addr(), shared.addr());
        assert_eq!(get(1.0, 7).unwrap().addr(), shared.addr());
        let own = get(1.0, 7).unwrap();
        assert_ne!(own.addr(), shared.addr());
        assert_eq!(own.issuer(), "https://issuer.test");
        assert_eq!(get(2.0, 7).unwrap().addr(), own.addr());
        // Every check still holds for the copy: a new key-set generation
        // or the expiry refuses it (and empties the shared entry too).
        assert!(get(2.0, 8).is_none());
        assert!(get(2.0, 7).is_none(), "the stale entry was removed");
        local::clear();
        let (cache, _) = cache_with(token, 100.0);
        for _ in 0..3 {
            assert!(
                cache
                    .get(&cache.query(0, token.as_bytes()), 1.0, |_| 7)
                    .is_some()
            );
        }
        assert!(
            cache
                .get(&cache.query(0, token.as_bytes()), 100.0, |_| 7)
                .is_none()
        );
    }

    #[test]
    fn two_hot_tokens_of_one_slot_pair_both_get_private_copies() {
        local::clear();
        let cache = TokenCache::new(&TokenCacheSettings::default()).unwrap();
        // Two tokens whose hashes pick the same pair of slots.
        let tokens: Vec<String> = (0..64).map(|i| format!("h.p.pair{i}")).collect();
        let slot = |t: &str| local::slot_of(cache.query(0, t.as_bytes()).hash);
        let a = &tokens[0];
        let mut same = tokens[1..].iter().filter(|t| slot(t) == slot(a));
        let (b, old) = (
            same.next().expect("one of 63 shares the first's slots"),
            same.next().expect("two of 63 share the first's slots"),
        );
        let mut shared = Vec::new();
        for t in [a, b, old] {
            let ctx = AuthContext::for_tests("https://issuer.test");
            cache.insert(
                &cache.query(0, t.as_bytes()),
                ctx.clone(),
                100.0,
                None,
                0,
                7,
            );
            shared.push(ctx);
        }
        let get = |t: &str| {
            cache
                .get(&cache.query(0, t.as_bytes()), 1.0, |_| 7)
                .unwrap()
                .0
        };
        // A token used earlier holds a slot of the pair.
        for _ in 0..3 {
            get(old);
        }
        assert_ne!(get(old).addr(), shared[2].addr());
        // Alternating hits: each is admitted on its second sighting, and
        // neither pushes the other out (the older token makes way).
        for _ in 0..3 {
            get(a);
            get(b);
        }
        assert_ne!(get(a).addr(), shared[0].addr());
        assert_ne!(get(b).addr(), shared[1].addr());
        assert_eq!(get(a).addr(), get(a).addr());
        for _ in 0..3 {
            let (own_a, own_b) = (get(a).addr(), get(b).addr());
            assert_ne!(own_a, shared[0].addr());
            assert_ne!(own_b, shared[1].addr());
        }
        // Both are lent out together, with the same checks as `get`.
        let (qa, qb) = (cache.query(0, a.as_bytes()), cache.query(0, b.as_bytes()));
        let pair = cache.with_local_pair(
            [&qa, &qb],
            1.0,
            |_, _| 7,
            |[(x, _), (y, _)]| (x.addr(), y.addr()),
        );
        assert_eq!(pair, Some((get(a).addr(), get(b).addr())));
        assert!(
            cache
                .with_local_pair([&qa, &qb], 1.0, |_, _| 8, |_| ())
                .is_none()
        );
        assert!(
            cache
                .with_local_pair([&qa, &qb], 100.0, |_, _| 7, |_| ())
                .is_none()
        );
        let qold = cache.query(0, old.as_bytes());
        assert!(
            cache
                .with_local_pair([&qa, &qold], 1.0, |_, _| 7, |_| ())
                .is_none()
        );
    }

    #[test]
    fn a_private_copy_is_served_only_for_its_cache_kind_and_token() {
        local::clear();
        let token = "h.p.s2";
        let (cache, shared) = cache_with(token, 100.0);
        for _ in 0..3 {
            assert!(
                cache
                    .get(&cache.query(0, token.as_bytes()), 1.0, |_| 7)
                    .is_some()
            );
        }
        let q = cache.query(0, token.as_bytes());
        // Same hash, another token (a collision): not served.
        let forged = TokenQuery {
            hash: q.hash,
            kind: 0,
            token: b"h.p.s3",
        };
        assert!(cache.get(&forged, 1.0, |_| 7).is_none());
        // Same hash and token, another kind: not served.
        let other_kind = TokenQuery {
            hash: q.hash,
            kind: 1,
            token: q.token,
        };
        assert!(cache.get(&other_kind, 1.0, |_| 7).is_none());
        // Another cache on this thread with the same hash: not served.
        let other = TokenCache::new(&TokenCacheSettings::default()).unwrap();
        assert!(other.get(&q, 1.0, |_| 7).is_none());
        // The real token still is, from the private copy.
        let own = cache.get(&q, 1.0, |_| 7).unwrap().0;
        assert_ne!(own.addr(), shared.addr());
    }
}
