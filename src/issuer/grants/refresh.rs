//! Refresh-token families with rotation and reuse detection (RFC 9700
//! §4.14): the token format, the [`Family`] record, the outcome of a
//! rotation ([`Rotation`]) and the [`RefreshStore`] trait.

use super::secret::{SECRET_LEN, digest, is_secret, random_secret};
use super::{CodeGrant, FAMILY_ID_LEN, FamilyId, GrantStoreError};
use std::fmt;
use std::time::Duration;

/// Length of a refresh token: `<family id>.<base64url of 32 bytes>`.
pub const REFRESH_TOKEN_LEN: usize = FAMILY_ID_LEN + 1 + SECRET_LEN;
/// How many spent refresh tokens a family remembers for reuse detection
/// (the oldest are forgotten first; the family's absolute lifetime bounds
/// the chain anyway).
pub const MAX_SPENT: usize = 100;
/// How long a revoked family's tombstone is kept by default (so a `start`
/// racing a code replay fails): one day. It must exceed the longest code
/// lifetime plus the time a code exchange can take.
pub const DEFAULT_TOMBSTONE_TTL: Duration = Duration::from_secs(86_400);

/// A refresh-token family: one login's chain of rotating refresh tokens.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Family {
    /// The family id (the visible half of each of its refresh tokens).
    pub id: FamilyId,
    /// The client the family belongs to.
    pub client_id: String,
    /// The customer who logged in.
    pub customer_id: String,
    /// The customer's account (tenant).
    pub account: String,
    /// Granted scopes, space-delimited.
    pub scope: String,
    /// When the family started, seconds since the epoch.
    pub created_at: u64,
    /// Seconds since the epoch; no rotation at or after it.
    pub absolute_expiry: u64,
    /// Seconds; a refresh token unused this long is dead.
    pub idle_ttl: u64,
    /// When a token of the family was last used (or the family started),
    /// seconds since the epoch.
    pub last_used: u64,
    /// Access tokens issued in this family (jti, exp), so revoking the
    /// family can revoke them. Entries whose `exp` passed are dropped on
    /// append.
    pub access_tokens: Vec<(String, u64)>,
}

impl Family {
    /// A family for `grant` started at `now` (seconds since the epoch),
    /// living at most `max_lifetime` seconds and `idle_ttl` seconds without
    /// use.
    pub fn new(
        id: FamilyId,
        grant: &CodeGrant,
        now: u64,
        max_lifetime: u64,
        idle_ttl: u64,
    ) -> Self {
        Self {
            id,
            client_id: grant.client_id.clone(),
            customer_id: grant.customer_id.clone(),
            account: grant.account.clone(),
            scope: grant.scope.clone(),
            created_at: now,
            absolute_expiry: now.saturating_add(max_lifetime),
            idle_ttl,
            last_used: now,
            access_tokens: Vec::new(),
        }
    }

    /// Whether the family is past its absolute or idle expiry at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.absolute_expiry || now >= self.last_used.saturating_add(self.idle_ttl)
    }
}

/// The outcome of [`RefreshStore::rotate`].
#[derive(Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was the current one: here is the family
    /// (`last_used` updated) and the next refresh token. The presented
    /// token is now spent.
    Rotated {
        /// The family, as updated.
        family: Family,
        /// The next refresh token (a secret: never logged).
        refresh_token: String,
    },
    /// The presented token was an earlier (spent) one of a live family: the
    /// family is now revoked; these access tokens (jti, exp) should be
    /// revoked by the caller.
    Reused {
        /// The revoked family.
        family: FamilyId,
        /// Its unexpired access tokens (jti, exp).
        access_tokens: Vec<(String, u64)>,
    },
    /// Revoked family, expired (absolute or idle), another client's,
    /// malformed or unknown token. Never revokes anything.
    Invalid,
}

impl fmt::Debug for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rotated { family, .. } => f
                .debug_struct("Rotated")
                .field("family", family)
                .field("refresh_token", &"******")
                .finish(),
            Self::Reused {
                family,
                access_tokens,
            } => f
                .debug_struct("Reused")
                .field("family", family)
                .field("access_tokens", access_tokens)
                .finish(),
            Self::Invalid => f.write_str("Invalid"),
        }
    }
}

/// Stores refresh-token families with rotation and reuse detection
/// (RFC 9700 §4.14). A refresh token is `<family id>.<secret>`
/// ([`REFRESH_TOKEN_LEN`] chars: a [`FamilyId`], a dot and 32 random bytes
/// base64url); only SHA-256 digests of the current and the last
/// [`MAX_SPENT`] spent secrets are kept. Each rotation spends the presented
/// token; presenting a spent one again revokes the whole family
/// ([`Rotation::Reused`]).
#[async_trait::async_trait]
pub trait RefreshStore: Send + Sync + std::fmt::Debug + 'static {
    /// Starts a family (from a [`Redeemed::Fresh`] code) and returns its
    /// first refresh token. Fails with [`GrantStoreError::Revoked`] if this
    /// family id was already revoked (a code replay raced the first
    /// exchange), [`GrantStoreError::AlreadyStarted`] if it exists.
    ///
    /// [`Redeemed::Fresh`]: super::Redeemed::Fresh
    async fn start(&self, family: &Family) -> Result<String, GrantStoreError>;

    /// Rotates `presented`, for `client_id` (a token of another client is
    /// [`Rotation::Invalid`], nothing revoked).
    async fn rotate(&self, presented: &str, client_id: &str) -> Result<Rotation, GrantStoreError>;

    /// Records an access token issued in the family (after start/rotate).
    /// Fails with [`GrantStoreError::Revoked`] if the family was revoked
    /// meanwhile (the caller must then revoke or withhold the token) and
    /// [`GrantStoreError::UnknownFamily`] if it is unknown or expired.
    async fn record_access_token(
        &self,
        family: &FamilyId,
        jti: &str,
        exp: u64,
    ) -> Result<(), GrantStoreError>;

    /// Revokes a family (also one not started yet: a tombstone is kept for
    /// the store's tombstone lifetime so a later start fails). Returns the
    /// unexpired access tokens (jti, exp) to revoke.
    async fn revoke(&self, family: &FamilyId) -> Result<Vec<(String, u64)>, GrantStoreError>;

    /// RFC 7009: the family of a presented refresh token if it is current
    /// or spent for `client_id` in a live family (used to revoke it), else
    /// `None`.
    async fn family_of(
        &self,
        presented: &str,
        client_id: &str,
    ) -> Result<Option<FamilyId>, GrantStoreError>;
}

/// Splits a well-formed refresh token into its family and the digest of
/// its secret, else `None`. The length is checked before anything else.
pub(crate) fn parse_refresh_token(token: &str) -> Option<(FamilyId, [u8; 32])> {
    if token.len() != REFRESH_TOKEN_LEN {
        return None;
    }
    let (family, secret) = token.split_once('.')?;
    let family = FamilyId::parse(family)?;
    is_secret(secret).then(|| (family, digest(secret)))
}

/// A new secret for `family`: the refresh token and its secret's digest.
pub(crate) fn new_refresh_token(family: &FamilyId) -> Result<(String, [u8; 32]), GrantStoreError> {
    let secret = random_secret()?;
    let d = digest(&secret);
    Ok((format!("{family}.{secret}"), d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_parse_strictly() {
        let id = FamilyId::generate().unwrap();
        let (token, d) = new_refresh_token(&id).unwrap();
        assert_eq!(token.len(), REFRESH_TOKEN_LEN);
        assert_eq!(parse_refresh_token(&token), Some((id.clone(), d)));
        let long = "a".repeat(10_240);
        let no_dot = token.replace('.', "A");
        let moved_dot = format!("{}.{}", &token[..21], &token[21..].replace('.', ""));
        let not_b64 = format!("{id}.{}", "*".repeat(43));
        for bad in ["", ".", "x.y", &long, &no_dot, &moved_dot, &not_b64] {
            assert_eq!(parse_refresh_token(bad), None, "{bad:?}");
        }
        // A multi-byte char across the split point never panics.
        let tricky = format!("{}é{}", "A".repeat(21), "A".repeat(43));
        assert_eq!(parse_refresh_token(&tricky), None);
    }

    fn grant() -> CodeGrant {
        CodeGrant {
            client_id: "c".into(),
            redirect_uri: "https://x/cb".into(),
            code_challenge: None,
            customer_id: "u".into(),
            account: "a".into(),
            scope: "s".into(),
            nonce: None,
            auth_time: 1,
        }
    }

    #[test]
    fn rotation_debug_hides_the_token() {
        let grant = grant();
        let r = Rotation::Rotated {
            family: Family::new(FamilyId::generate().unwrap(), &grant, 1, 10, 10),
            refresh_token: "secret-token-value".into(),
        };
        assert!(!format!("{r:?}").contains("secret-token-value"));
    }

    #[test]
    fn family_expiry_is_inclusive() {
        let grant = grant();
        let f = Family::new(FamilyId::generate().unwrap(), &grant, 100, 50, 10);
        assert!(!f.is_expired(109));
        assert!(f.is_expired(110));
        let f = Family::new(FamilyId::generate().unwrap(), &grant, 100, 5, 10);
        assert!(!f.is_expired(104));
        assert!(f.is_expired(105));
    }
}
