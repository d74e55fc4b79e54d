//! Failure throttles for endpoints that take unauthenticated input (the
//! token endpoint, customer login, anonymous sessions).
//!
//! Keys are chosen so that no stranger can lock anyone else out: failures
//! are counted per *(identity, client address)* pair and per address, never
//! per identity alone, so wrong secrets sent from one address slow that
//! address's guessing without touching a legitimate client elsewhere.
//!
//! [`MemoryThrottle`] has a fixed capacity whatever the number of keys: it
//! is a count-min sketch (two rows of counters indexed by secret-keyed
//! hashes; a key's count is the smaller of its two counters). It is written
//! here on purpose rather than taken from `governor`, whose keyed limiter
//! keeps one map entry per key and so grows with every made-up client id an
//! attacker sends. Colliding keys can only over-count, never under-count;
//! with the default 2 × 2¹⁷ counters (2 MiB) that takes millions of
//! failures a window. `RedisThrottle` (feature `redis`) counts in Redis, so
//! several instances share one budget.

use async_trait::async_trait;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The client address a throttle keys on, set as a request extension by an
/// app behind a trusted proxy (from `X-Forwarded-For` or the like). Without
/// it the platform handlers use the peer address (axum's `ConnectInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// A budget: at most `limit` failures per `window` (fixed windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures allowed within one window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

impl ThrottleRule {
    /// `limit` failures per `window`.
    pub const fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window }
    }

    fn window_secs(&self) -> u64 {
        self.window.as_secs().max(1)
    }
}

/// Counts failures per key. Implementations must have bounded memory
/// whatever keys callers send.
#[async_trait]
pub trait Throttle: Send + Sync + fmt::Debug + 'static {
    /// `Some(retry_after)` when `key` has used up `rule` in the current window.
    async fn check(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration>;
    /// Counts one failure against `key`.
    async fn fail(&self, key: &[u8], rule: ThrottleRule);
    /// Spends one unit of `rule` for `key` in a single step: counts it and
    /// answers `Some(retry_after)` when the count is now over the limit.
    /// Unlike [`check`](Self::check) then [`fail`](Self::fail), concurrent
    /// callers cannot all pass the check before any of them counts, so a
    /// budget of N lets at most N through per window under any concurrency.
    async fn spend(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration>;

    /// Spends nested budgets in order (say per address, then overall),
    /// stopping at the first one used up: `Some(retry_after)` of that one.
    async fn spend_all(&self, budgets: &[(&[u8], ThrottleRule)]) -> Option<Duration> {
        for (key, rule) in budgets {
            if let Some(after) = self.spend(key, *rule).await {
                return Some(after);
            }
        }
        None
    }

    /// Gives back one unit [`spend`](Self::spend) took in the current
    /// window of `rule`, for an attempt that turned out not to be a failure
    /// (a right password, a busy backend). A unit of a window that has
    /// ended since is not given back (the new window never counted it).
    /// The default gives nothing back: such a throttle counts every
    /// attempt, failed or not.
    async fn refund(&self, key: &[u8], rule: ThrottleRule) {
        let _ = (key, rule);
    }

    /// [`refund`](Self::refund) for each budget.
    async fn refund_all(&self, budgets: &[(&[u8], ThrottleRule)]) {
        for (key, rule) in budgets {
            self.refund(key, *rule).await;
        }
    }
}

/// The address a throttle keys on: the IP, with IPv6 cut to its /64 (one
/// host usually holds a whole /64, so single addresses would be free).
pub fn address_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            if v6.to_ipv4_mapped().is_none() {
                for b in o.iter_mut().skip(8) {
                    *b = 0;
                }
            }
            o
        }
    }
}

/// The throttle address of an `http` request, from its extensions: the
/// [`ClientAddr`] the app set, else axum's `ConnectInfo` (feature `axum`),
/// else unknown (all such requests share one budget). For the `addr`
/// argument of the framework-free handlers ([`TokenEndpoint`](super::TokenEndpoint), …).
pub fn request_address(ext: &http::Extensions) -> [u8; 16] {
    if let Some(ClientAddr(ip)) = ext.get::<ClientAddr>() {
        return address_key(*ip);
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return address_key(addr.ip());
    }
    [0u8; 16]
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds left in the current window of `rule`.
fn retry_after(rule: ThrottleRule, now: u64) -> Duration {
    let w = rule.window_secs();
    Duration::from_secs(w - now % w)
}

/// An in-process throttle of fixed size (see the module docs).
pub struct MemoryThrottle {
    rows: [Box<[AtomicU64]>; 2],
    hashers: [RandomState; 2],
    mask: usize,
}

impl fmt::Debug for MemoryThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryThrottle")
            .field("counters_per_row", &(self.mask + 1))
            .finish()
    }
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::with_capacity(1 << 17)
    }
}

/// A counter packs the window number (high 32 bits) and the count (low 32).
fn pack(window: u64, count: u64) -> u64 {
    (window << 32) | (count & 0xffff_ffff)
}

impl MemoryThrottle {
    /// A throttle with `counters` per row (rounded up to a power of two,
    /// at least 1024): 16 bytes of memory per counter, fixed.
    pub fn with_capacity(counters: usize) -> Self {
        let n = counters.clamp(1024, 1 << 24).next_power_of_two();
        let row = || (0..n).map(|_| AtomicU64::new(0)).collect::<Box<[_]>>();
        Self {
            rows: [row(), row()],
            hashers: [RandomState::new(), RandomState::new()],
            mask: n - 1,
        }
    }

    fn counters<'a>(&'a self, key: &[u8]) -> impl Iterator<Item = &'a AtomicU64> + 'a {
        let idx = [0, 1].map(|i| {
            let h = self.hashers.get(i).map_or(0, |h| h.hash_one(key));
            usize::try_from(h).unwrap_or(0) & self.mask
        });
        self.rows.iter().zip(idx).filter_map(|(row, i)| row.get(i))
    }

    /// The key's failure count in the current window of `rule`.
    pub fn count(&self, key: &[u8], rule: ThrottleRule) -> u32 {
        let window = (now_secs() / rule.window_secs()) & 0xffff_ffff;
        self.counters(key)
            .map(|c| {
                let v = c.load(Ordering::Relaxed);
                if v >> 32 == window {
                    v & 0xffff_ffff
                } else {
                    0
                }
            })
            .min()
            .map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX))
    }

    /// Synchronous [`Throttle::check`].
    pub fn check_now(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration> {
        (self.count(key, rule) >= rule.limit).then(|| retry_after(rule, now_secs()))
    }

    /// Synchronous [`Throttle::fail`].
    pub fn fail_now(&self, key: &[u8], rule: ThrottleRule) {
        self.add_one(key, rule);
    }

    /// Synchronous [`Throttle::spend`].
    pub fn spend_now(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration> {
        let now = now_secs();
        (self.add_one(key, rule) > u64::from(rule.limit)).then(|| retry_after(rule, now))
    }

    /// Synchronous [`Throttle::refund`]: each of the key's counters that is
    /// in the current window and above zero goes down by one.
    pub fn refund_now(&self, key: &[u8], rule: ThrottleRule) {
        let window = (now_secs() / rule.window_secs()) & 0xffff_ffff;
        for c in self.counters(key) {
            let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                let count = v & 0xffff_ffff;
                (v >> 32 == window && count > 0).then(|| pack(window, count - 1))
            });
        }
    }

    /// Counts one against `key` and returns its count afterwards (the
    /// smaller of its counters, each read from its own atomic update).
    fn add_one(&self, key: &[u8], rule: ThrottleRule) -> u64 {
        let window = (now_secs() / rule.window_secs()) & 0xffff_ffff;
        let mut count = u64::MAX;
        for c in self.counters(key) {
            let bump = |v: u64| {
                if v >> 32 == window {
                    pack(window, (v & 0xffff_ffff).saturating_add(1).min(0xffff_ffff))
                } else {
                    pack(window, 1)
                }
            };
            let before = c
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(bump(v)))
                .unwrap_or_else(|v| v);
            count = count.min(bump(before) & 0xffff_ffff);
        }
        count
    }
}

#[async_trait]
impl Throttle for MemoryThrottle {
    async fn check(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration> {
        self.check_now(key, rule)
    }

    async fn fail(&self, key: &[u8], rule: ThrottleRule) {
        self.fail_now(key, rule);
    }

    async fn spend(&self, key: &[u8], rule: ThrottleRule) -> Option<Duration> {
        self.spend_now(key, rule)
    }

    async fn refund(&self, key: &[u8], rule: ThrottleRule) {
        self.refund_now(key, rule);
    }
}

/// Builds a throttle key from parts, length-prefixed so that no two
/// different part lists give the same key.
pub fn throttle_key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        out.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_to_the_limit_per_key() {
        let t = MemoryThrottle::default();
        let rule = ThrottleRule::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(t.check_now(b"a", rule).is_none());
            t.fail_now(b"a", rule);
        }
        let after = t.check_now(b"a", rule).unwrap();
        assert!(after <= Duration::from_secs(60) && after > Duration::ZERO);
        assert!(
            t.check_now(b"b", rule).is_none(),
            "another key is untouched"
        );
    }

    #[test]
    fn spending_from_many_threads_lets_exactly_the_limit_through() {
        let t = std::sync::Arc::new(MemoryThrottle::default());
        let rule = ThrottleRule::new(30, Duration::from_secs(3600));
        let passed = std::sync::Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (t, passed) = (t.clone(), passed.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        if t.spend_now(b"k", rule).is_none() {
                            passed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        // A window boundary (hourly here) may fall inside the run.
        let n = passed.load(Ordering::Relaxed);
        assert!(n == 30 || n == 60, "{n} passed");
        assert!(t.spend_now(b"k", rule).is_some());
        assert!(t.spend_now(b"other", rule).is_none());
    }

    #[test]
    fn refunds_give_back_spent_units_of_the_current_window_only() {
        let t = MemoryThrottle::default();
        let rule = ThrottleRule::new(3, Duration::from_secs(3600));
        // Attempts that succeed are refunded: they never use the budget.
        for _ in 0..10 {
            assert!(t.spend_now(b"a", rule).is_none());
            t.refund_now(b"a", rule);
        }
        assert_eq!(t.count(b"a", rule), 0);
        // Refunds never go below zero nor touch another key.
        t.refund_now(b"a", rule);
        assert!(t.spend_now(b"b", rule).is_none());
        t.refund_now(b"a", rule);
        assert_eq!(t.count(b"b", rule), 1);
        // Failures (not refunded) use it up.
        for _ in 0..3 {
            assert!(t.spend_now(b"a", rule).is_none());
        }
        assert!(t.spend_now(b"a", rule).is_some());
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_in_fixed_memory_and_spares_others() {
        let rule = ThrottleRule::new(10, Duration::from_secs(60));
        // 200k distinct failing keys (a flood of made-up client ids).
        let big = MemoryThrottle::default();
        for i in 0u32..200_000 {
            big.fail_now(&i.to_be_bytes(), rule);
        }
        let spared = (0u32..1000)
            .filter(|i| {
                big.check_now(format!("client-{i}").as_bytes(), rule)
                    .is_none()
            })
            .count();
        assert_eq!(spared, 1000);
        // Memory is fixed: two rows of 2^17 counters, whatever was sent.
        assert_eq!(big.rows.iter().map(|r| r.len()).sum::<usize>(), 2 << 17);
    }

    #[test]
    fn keys_are_unambiguous_and_ipv6_is_cut_to_64() {
        assert_ne!(throttle_key(&[b"ab", b"c"]), throttle_key(&[b"a", b"bc"]));
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let c: IpAddr = "2001:db9::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v4b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_ne!(address_key(v4), address_key(v4b));
    }
}
