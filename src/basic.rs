//! Legacy basic credentials (POS terminals / tills): `Authorization: Basic`,
//! checked by an app-provided [`BasicVerifier`], switchable off per account.
//!
//! [`StaticBasicCredentials`] is a ready verifier for a fixed set of tills.
//! It stores secrets as the API-client registry does: HMAC-SHA-256 under a
//! random per-process key (never the secret, never an unsalted hash),
//! compared in constant time, with the same work for unknown users.

use crate::secret_digest::{SecretDigest, SecretDigester};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;

/// Who a valid basic credential is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BasicIdentity {
    /// The account (tenant).
    pub account: String,
    /// The till (reported as the context's client id).
    pub till: String,
    /// Scopes, space-delimited.
    pub scopes: String,
    /// What writes are attributed to (e.g. the store of the till).
    pub attribution: Option<String>,
}

impl BasicIdentity {
    /// The till `till` of `account`, granted `scopes` (space-delimited),
    /// with no attribution.
    pub fn new(
        account: impl Into<String>,
        till: impl Into<String>,
        scopes: impl Into<String>,
    ) -> Self {
        Self {
            account: account.into(),
            till: till.into(),
            scopes: scopes.into(),
            attribution: None,
        }
    }

    /// Sets what writes are attributed to.
    #[must_use]
    pub fn with_attribution(mut self, attribution: impl Into<String>) -> Self {
        self.attribution = Some(attribution.into());
        self
    }
}

/// Why a basic credential was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BasicRejection {
    /// Unknown user or wrong secret.
    Invalid,
    /// Basic credentials are switched off for the account.
    DisabledForAccount,
    /// The verifier's backend is unreachable.
    Unavailable,
}

/// Checks basic credentials. Implement it over your own till registry;
/// compare secrets in constant time.
#[async_trait]
pub trait BasicVerifier: Send + Sync + fmt::Debug + 'static {
    /// Verifies `user`/`secret`.
    async fn verify(&self, user: &str, secret: &str) -> Result<BasicIdentity, BasicRejection>;
}

/// A fixed set of tills, with per-account switches.
pub struct StaticBasicCredentials {
    digester: Option<SecretDigester>,
    tills: RwLock<HashMap<String, (SecretDigest, BasicIdentity)>>,
    disabled_accounts: RwLock<HashSet<String>>,
}

impl Default for StaticBasicCredentials {
    fn default() -> Self {
        Self {
            // Without OS randomness no till can be added (and none verifies).
            digester: SecretDigester::random().ok(),
            tills: RwLock::default(),
            disabled_accounts: RwLock::default(),
        }
    }
}

impl fmt::Debug for StaticBasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticBasicCredentials")
            .finish_non_exhaustive()
    }
}

impl StaticBasicCredentials {
    /// Adds (or replaces) a till with user name `user` and `secret`.
    pub fn add(&self, user: impl Into<String>, secret: &str, identity: BasicIdentity) {
        let Some(digester) = &self.digester else {
            tracing::error!("tollgate: no OS randomness; till not added");
            return;
        };
        if let Ok(mut t) = self.tills.write() {
            t.insert(user.into(), (digester.digest(secret.as_bytes()), identity));
        }
    }

    /// Switches basic credentials on or off for `account`.
    pub fn set_enabled(&self, account: &str, enabled: bool) {
        if let Ok(mut d) = self.disabled_accounts.write() {
            if enabled {
                d.remove(account);
            } else {
                d.insert(account.to_owned());
            }
        }
    }
}

#[async_trait]
impl BasicVerifier for StaticBasicCredentials {
    async fn verify(&self, user: &str, secret: &str) -> Result<BasicIdentity, BasicRejection> {
        let digester = self.digester.as_ref().ok_or(BasicRejection::Unavailable)?;
        let found = self
            .tills
            .read()
            .map_err(|_| BasicRejection::Unavailable)?
            .get(user)
            .cloned();
        // The same keyed digest and comparison for unknown users, so timing
        // does not tell which tills exist.
        let (stored, identity) = match found {
            Some((stored, identity)) => (Some(stored), Some(identity)),
            None => (None, None),
        };
        let equal = digester.verify(secret.as_bytes(), stored.as_ref());
        let identity = match identity {
            Some(identity) if equal => identity,
            _ => return Err(BasicRejection::Invalid),
        };
        let disabled = self
            .disabled_accounts
            .read()
            .map_err(|_| BasicRejection::Unavailable)?
            .contains(&identity.account);
        if disabled {
            return Err(BasicRejection::DisabledForAccount);
        }
        Ok(identity)
    }
}

/// Decodes `Basic` credentials (RFC 7617): base64 of `user:secret`, UTF-8.
pub(crate) fn decode(value: &[u8]) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, secret) = text.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> BasicIdentity {
        BasicIdentity {
            account: "acct".into(),
            till: "till-1".into(),
            scopes: "orders:read".into(),
            attribution: None,
        }
    }

    #[test]
    fn till_secrets_are_keyed_not_plain_sha256() {
        use sha2::Digest;
        let a = StaticBasicCredentials::default();
        let b = StaticBasicCredentials::default();
        a.add("till-1", "till-secret-0123", identity());
        b.add("till-1", "till-secret-0123", identity());
        let da = a.tills.read().unwrap()["till-1"].0.clone();
        let db = b.tills.read().unwrap()["till-1"].0.clone();
        let plain: [u8; 32] = sha2::Sha256::digest(b"till-secret-0123").into();
        assert_ne!(da.0, plain, "stored as unsalted SHA-256");
        assert_ne!(da, db, "the same secret digests alike in two stores");
    }

    #[tokio::test]
    async fn verifies_only_the_right_secret() {
        let t = StaticBasicCredentials::default();
        t.add("till-1", "till-secret-0123", identity());
        assert!(t.verify("till-1", "till-secret-0123").await.is_ok());
        assert_eq!(
            t.verify("till-1", "till-secret-0124").await,
            Err(BasicRejection::Invalid)
        );
        assert_eq!(
            t.verify("till-2", "till-secret-0123").await,
            Err(BasicRejection::Invalid)
        );
        t.set_enabled("acct", false);
        assert_eq!(
            t.verify("till-1", "till-secret-0123").await,
            Err(BasicRejection::DisabledForAccount)
        );
    }
}
