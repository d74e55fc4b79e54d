//! Revoked tokens: a `jti` denylist (entries kept until the token would have
//! expired anyway) and a per-customer "issued before" cut-off (password
//! change, "log out everywhere").
//!
//! The engine consults [`Revocations`] on every request that carries a JWT,
//! cached tokens included (the verified-token cache never skips it), so the
//! check is synchronous and must be a memory lookup: [`MemoryRevocations`]
//! for one process, `RedisRevocations` (feature `redis`) mirrors a shared
//! list into memory and documents its propagation delay.

#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::RedisRevocations;

use crate::context::{AuthContext, TokenMarks};
use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

/// Tells whether a verified token has been revoked.
pub trait Revocations: Send + Sync + fmt::Debug + 'static {
    /// Whether the token behind `ctx` (its `jti`, or its customer and `iat`)
    /// is revoked.
    fn is_revoked(&self, ctx: &AuthContext) -> bool;
}

/// Why a revocation could not be recorded (the shared store did not
/// answer). The text names no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation not recorded: {0}")]
pub struct RevokeError(pub String);

/// Records revocations: what the platform side (logout, password change,
/// a replayed authorization code, a reused refresh token) writes and a
/// [`Revocations`] list then refuses.
#[async_trait::async_trait]
pub trait RevocationWriter: Revocations {
    /// Revokes the token with this `jti` until `expires_at` (seconds).
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), RevokeError>;
    /// Revokes every token of `customer` in `account` issued at or before
    /// `before` (seconds).
    async fn revoke_customer(
        &self,
        account: &str,
        customer: &str,
        before: u64,
    ) -> Result<(), RevokeError>;
}

/// What a token carries that revocation can name.
pub(crate) struct RevocationView<'a> {
    pub(crate) jti: Option<&'a str>,
    pub(crate) iat: Option<u64>,
    pub(crate) account: Option<&'a str>,
    pub(crate) customer: Option<&'a str>,
}

impl<'a> RevocationView<'a> {
    pub(crate) fn of(ctx: &'a AuthContext) -> Self {
        // Kept while the token was parsed (no map of every claim is built
        // per request); else read from the claims, by the same rules.
        let (jti, iat) = match ctx.marks() {
            Some(m) => (m.jti.as_deref(), m.iat),
            None => {
                let claims = ctx.raw_claims();
                (
                    TokenMarks::jti(claims.get("jti")),
                    TokenMarks::iat(claims.get("iat")),
                )
            }
        };
        Self {
            jti,
            iat,
            account: ctx.account(),
            customer: ctx.customer(),
        }
    }
}

/// The key of a customer cut-off.
pub(crate) fn customer_key(account: &str, customer: &str) -> String {
    format!("{}:{account}{customer}", account.len())
}

/// A snapshot of revocations, checked in memory.
#[derive(Debug, Default, Clone)]
pub(crate) struct RevocationSet {
    /// `jti` → when the entry may be dropped (the token's `exp`), seconds.
    pub(crate) jtis: HashMap<String, u64>,
    /// customer key → tokens issued at or before this time (seconds) are revoked.
    pub(crate) customers: HashMap<String, u64>,
}

impl RevocationSet {
    pub(crate) fn revokes(&self, view: &RevocationView<'_>) -> bool {
        if view.jti.is_some_and(|j| self.jtis.contains_key(j)) {
            return true;
        }
        match (view.account, view.customer) {
            // No key is built (an allocation per request) for an empty map.
            _ if self.customers.is_empty() => false,
            (Some(a), Some(c)) => match self.customers.get(&customer_key(a, c)) {
                // A token without `iat` cannot show it is newer: revoked.
                Some(&before) => view.iat.is_none_or(|iat| iat <= before),
                None => false,
            },
            _ => false,
        }
    }

    /// Drops the `jti`s of tokens no verifier can accept any more: past
    /// their `exp` by more than any allowed leeway
    /// ([`MAX_LEEWAY_SECS`](crate::config::MAX_LEEWAY_SECS)). Dropped at
    /// `exp` itself, a revoked token would be accepted again for the rest of
    /// a verifier's leeway.
    pub(crate) fn purge(&mut self, now_secs: u64) {
        self.jtis.retain(|_, exp| still_acceptable(*exp, now_secs));
    }
}

/// Whether a token with this `exp` may still be accepted by a verifier at
/// `now_secs` (within the largest leeway one can be configured with).
pub(crate) fn still_acceptable(exp: u64, now_secs: u64) -> bool {
    exp.saturating_add(crate::config::MAX_LEEWAY_SECS) > now_secs
}

/// The fewest `jti`s [`MemoryRevocations`] holds before it purges.
const MIN_PURGE_AT: usize = 1024;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Revocations held in this process.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    held: RwLock<Held>,
}

#[derive(Debug, Default)]
struct Held {
    set: RevocationSet,
    /// Purge once the `jti`s reach this many. A purge reads every entry
    /// (under the write lock every request's check waits on), so it runs
    /// when the map has doubled since the last one: amortized O(1) per
    /// revocation, where a purge per revocation made a flood of them
    /// quadratic. Entries no verifier can accept any more are at most
    /// half of the map plus [`MIN_PURGE_AT`].
    purge_at: usize,
}

impl MemoryRevocations {
    /// Revokes the token with this `jti` until `expires_at` (seconds since
    /// the epoch; the token's own `exp`). The entry is kept past it for the
    /// largest leeway a verifier can have
    /// ([`MAX_LEEWAY_SECS`](crate::config::MAX_LEEWAY_SECS)).
    pub fn revoke_jti(&self, jti: &str, expires_at: u64) {
        self.revoke_jti_at(jti, expires_at, now_secs());
    }

    fn revoke_jti_at(&self, jti: &str, expires_at: u64, now: u64) {
        if !still_acceptable(expires_at, now) {
            // No verifier accepts this token any more.
            return;
        }
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        if held.set.jtis.len() >= held.purge_at {
            held.set.purge(now);
            held.purge_at = held.set.jtis.len().saturating_mul(2).max(MIN_PURGE_AT);
        }
        held.set.jtis.insert(jti.to_owned(), expires_at);
    }

    /// Revokes every token of `customer` in `account` issued before
    /// `before` (seconds since the epoch), e.g. after a password change.
    pub fn revoke_customer_before(&self, account: &str, customer: &str, before: u64) {
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        let entry = held
            .set
            .customers
            .entry(customer_key(account, customer))
            .or_insert(0);
        *entry = (*entry).max(before);
    }
}

#[async_trait::async_trait]
impl RevocationWriter for MemoryRevocations {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), RevokeError> {
        self.revoke_jti(jti, expires_at);
        Ok(())
    }
    async fn revoke_customer(
        &self,
        account: &str,
        customer: &str,
        before: u64,
    ) -> Result<(), RevokeError> {
        self.revoke_customer_before(account, customer, before);
        Ok(())
    }
}

impl Revocations for MemoryRevocations {
    fn is_revoked(&self, ctx: &AuthContext) -> bool {
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        held.set.revokes(&RevocationView::of(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MAX_LEEWAY_SECS;

    fn held_len(r: &MemoryRevocations) -> usize {
        r.held.read().unwrap().set.jtis.len()
    }

    fn purge_at(r: &MemoryRevocations) -> usize {
        r.held.read().unwrap().purge_at
    }

    /// A flood of revocations purges a logarithmic number of times (each
    /// purge reads the whole map under the lock every request waits on),
    /// and what no verifier accepts any more is dropped by the next purge.
    #[test]
    fn a_flood_of_revocations_purges_rarely_and_stays_bounded() {
        let r = MemoryRevocations::default();
        let t0 = 1_000_000;
        let n = 200_000;
        let mut purges = 0;
        let mut last = purge_at(&r);
        for i in 0..n {
            r.revoke_jti_at(&format!("live-{i}"), t0 + 3600, t0);
            let now = purge_at(&r);
            if now != last {
                purges += 1;
                last = now;
            }
        }
        assert_eq!(held_len(&r), n);
        // One purge per doubling from MIN_PURGE_AT: 1 + log2(200_000 / 1024).
        assert!(purges <= 9, "{purges} purges for {n} revocations");
        // Past their retention, they go at the next purge; the map never
        // holds more than twice the most entries live at once (plus
        // MIN_PURGE_AT).
        let later = t0 + 3600 + MAX_LEEWAY_SECS + 1;
        for i in 0..2 * n {
            r.revoke_jti_at(&format!("new-{i}"), later + 3600, later);
            let most_live = n.max(i + 1);
            assert!(held_len(&r) <= 2 * most_live + MIN_PURGE_AT);
        }
        assert_eq!(held_len(&r), 2 * n, "the old entries were purged");
    }

    /// A revoked token stays revoked for the whole leeway a verifier may
    /// accept it in, through purges; one past it is not even stored.
    #[test]
    fn a_revocation_outlives_the_tokens_exp_by_the_largest_leeway() {
        let r = MemoryRevocations::default();
        let exp = 1_000_000;
        r.revoke_jti_at("j", exp, exp + 10);
        for i in 0..3 * MIN_PURGE_AT {
            r.revoke_jti_at(&format!("other-{i}"), exp + 3600, exp + 10);
        }
        assert!(r.held.read().unwrap().set.jtis.contains_key("j"));
        // At exp + MAX_LEEWAY_SECS no verifier accepts the token: purged.
        let gone = exp + MAX_LEEWAY_SECS;
        for i in 0..3 * MIN_PURGE_AT {
            r.revoke_jti_at(&format!("more-{i}"), gone + 3600, gone);
        }
        assert!(!r.held.read().unwrap().set.jtis.contains_key("j"));
        r.revoke_jti_at("dead", exp, gone);
        assert!(!r.held.read().unwrap().set.jtis.contains_key("dead"));
    }
}
