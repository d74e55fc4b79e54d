//! Legacy basic credentials (POS terminals / tills): `Authorization: Basic`,
//! checked by an app-provided [`BasicVerifier`], switchable off per account.
//!
//! [`StaticBasicCredentials`] is a ready verifier for a fixed set of tills;
//! it compares secrets in constant time (SHA-256 digests compared with
//! `subtle`, so neither content nor length leaks through timing).

use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;
use subtle::ConstantTimeEq;

/// Who a valid basic credential is.
#[derive(Clone, Debug, PartialEq, Eq)]
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

fn digest(s: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).into()
}

/// A fixed set of tills, with per-account switches.
#[derive(Default)]
pub struct StaticBasicCredentials {
    tills: RwLock<HashMap<String, ([u8; 32], BasicIdentity)>>,
    disabled_accounts: RwLock<HashSet<String>>,
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
        if let Ok(mut t) = self.tills.write() {
            t.insert(user.into(), (digest(secret), identity));
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
        let presented = digest(secret);
        let found = self
            .tills
            .read()
            .map_err(|_| BasicRejection::Unavailable)?
            .get(user)
            .cloned();
        // Compare against a dummy for unknown users, so timing does not tell.
        let (stored, identity) = match found {
            Some((stored, identity)) => (stored, Some(identity)),
            None => ([0u8; 32], None),
        };
        let equal: bool = stored.ct_eq(&presented).into();
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
