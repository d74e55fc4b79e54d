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

use crate::context::AuthContext;
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
        let claims = ctx.raw_claims();
        Self {
            jti: claims.get("jti").and_then(|v| v.as_str()),
            iat: claims
                .get("iat")
                .and_then(|v| v.as_f64())
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64),
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
            (Some(a), Some(c)) => match self.customers.get(&customer_key(a, c)) {
                // A token without `iat` cannot show it is newer: revoked.
                Some(&before) => view.iat.is_none_or(|iat| iat <= before),
                None => false,
            },
            _ => false,
        }
    }

    pub(crate) fn purge(&mut self, now_secs: u64) {
        self.jtis.retain(|_, exp| *exp > now_secs);
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Revocations held in this process.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    set: RwLock<RevocationSet>,
}

impl MemoryRevocations {
    /// Revokes the token with this `jti` until `expires_at` (seconds since
    /// the epoch; the token's own `exp`, after which it is dead anyway).
    pub fn revoke_jti(&self, jti: &str, expires_at: u64) {
        let mut set = self.set.write().unwrap_or_else(|p| p.into_inner());
        set.purge(now_secs());
        set.jtis.insert(jti.to_owned(), expires_at);
    }

    /// Revokes every token of `customer` in `account` issued before
    /// `before` (seconds since the epoch), e.g. after a password change.
    pub fn revoke_customer_before(&self, account: &str, customer: &str, before: u64) {
        let mut set = self.set.write().unwrap_or_else(|p| p.into_inner());
        let entry = set
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
        let set = self.set.read().unwrap_or_else(|p| p.into_inner());
        set.revokes(&RevocationView::of(ctx))
    }
}
