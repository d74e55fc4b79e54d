//! Storage for authorization codes (RFC 6749 §4.1) and refresh-token
//! families with rotation and reuse detection (RFC 9700 §4.14): the traits
//! [`CodeStore`] and [`RefreshStore`], in memory ([`MemoryCodes`],
//! [`MemoryRefreshTokens`]) and in Redis (`RedisCodes`,
//! `RedisRefreshTokens`, feature `redis`).
//!
//! Neither store keeps a secret in clear: a code and the secret half of a
//! refresh token are stored as SHA-256 digests only.
//!
//! - An **authorization code** is 32 random bytes, base64url (43 chars). It
//!   is redeemed at most once; a second redemption before its expiry names
//!   the refresh-token family the first one started, so the caller can
//!   revoke it (RFC 6749 §4.1.2).
//! - A **refresh token** is `<family id>.<secret>`: a [`FamilyId`] (22
//!   chars), a dot and 32 random bytes base64url (43 chars), 66 chars in
//!   all. Each rotation spends the presented token and hands out the next
//!   one; presenting a spent token again revokes the whole family
//!   ([`Rotation::Reused`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tollgate::issuer::GrantStoreError> {
//! use std::time::Duration;
//! use tollgate::issuer::{
//!     CodeGrant, CodeStore, Family, MemoryCodes, MemoryRefreshTokens, Redeemed, RefreshStore,
//!     Rotation,
//! };
//!
//! let codes = MemoryCodes::new();
//! let refresh = MemoryRefreshTokens::new();
//! let grant = CodeGrant {
//!     client_id: "shop-web".into(),
//!     redirect_uri: "https://shop.example/cb".into(),
//!     code_challenge: None,
//!     customer_id: "cust-1".into(),
//!     account: "acct-1".into(),
//!     scope: "orders:read".into(),
//!     nonce: None,
//!     auth_time: 1_700_000_000,
//! };
//! let code = codes.issue(&grant, Duration::from_secs(60)).await?;
//! let Redeemed::Fresh { grant, family } = codes.redeem(&code).await? else { panic!() };
//! let now = tollgate::issuer::grants_now();
//! let first = refresh
//!     .start(&Family::new(family, &grant, now, 30 * 86_400, 86_400))
//!     .await?;
//! let Rotation::Rotated { refresh_token: second, .. } =
//!     refresh.rotate(&first, "shop-web").await?
//! else { panic!() };
//! // The first token is spent now: showing it again revokes the family.
//! assert!(matches!(refresh.rotate(&first, "shop-web").await?, Rotation::Reused { .. }));
//! assert_eq!(refresh.rotate(&second, "shop-web").await?, Rotation::Invalid);
//! # Ok(()) }
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;
use std::fmt;
use std::time::Duration;

mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{RedisCodes, RedisRefreshTokens};
pub use memory::{MemoryCodes, MemoryRefreshTokens};

/// Length of an authorization code: base64url of 32 bytes.
pub const CODE_LEN: usize = 43;
/// Length of a [`FamilyId`]: base64url of 16 bytes.
pub const FAMILY_ID_LEN: usize = 22;
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

/// Length of the secret half of a refresh token: base64url of 32 bytes.
const SECRET_LEN: usize = 43;

/// What an authorization code (or a consent ticket) stands for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeGrant {
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request (compared exactly at
    /// the token endpoint).
    pub redirect_uri: String,
    /// PKCE S256 challenge, base64url (RFC 7636).
    pub code_challenge: Option<String>,
    /// The customer who logged in and consented.
    pub customer_id: String,
    /// The account (tenant) the customer belongs to.
    pub account: String,
    /// Granted scopes, space-delimited.
    pub scope: String,
    /// OIDC `nonce` of the authorization request, echoed in the ID token.
    pub nonce: Option<String>,
    /// When the customer authenticated, seconds since the epoch.
    pub auth_time: u64,
}

/// A refresh-token family id: 16 random bytes, base64url (22 chars). Not a
/// secret (it is the visible half of every refresh token of the family);
/// knowing it is never enough to use or revoke the family.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FamilyId(String);

impl FamilyId {
    /// A new random family id.
    pub fn generate() -> Result<Self, GrantStoreError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| GrantStoreError::Rng)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id as text (22 base64url chars).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an id strictly: exactly 22 canonical base64url chars.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != FAMILY_ID_LEN {
            return None;
        }
        let mut bytes = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(s, &mut bytes) {
            Ok(16) => Some(Self(s.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FamilyId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "invalid refresh-token family id".to_owned())
    }
}

impl From<FamilyId> for String {
    fn from(id: FamilyId) -> Self {
        id.0
    }
}

/// The outcome of [`CodeStore::redeem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// First use: the grant, and the family id fixed when the code was issued.
    Fresh {
        /// What the code stands for.
        grant: CodeGrant,
        /// The refresh-token family this exchange starts.
        family: FamilyId,
    },
    /// The code was already redeemed: the caller revokes this family (RFC 6749 §4.1.2).
    Replayed {
        /// The family the first redemption started (or is starting).
        family: FamilyId,
    },
    /// Never issued, or expired.
    Unknown,
}

/// Why a grant store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantStoreError {
    /// The backend is unreachable or failed (answer 503).
    #[error("grant store unavailable: {0}")]
    Unavailable(String),
    /// The OS random number generator failed.
    #[error("the OS random number generator failed")]
    Rng,
    /// The family was revoked (by a code replay or a refresh-token reuse):
    /// nothing may be issued in it.
    #[error("the refresh-token family was revoked")]
    Revoked,
    /// The family is not known (never started, or expired).
    #[error("unknown or expired refresh-token family")]
    UnknownFamily,
    /// [`RefreshStore::start`] was called twice for one family.
    #[error("the refresh-token family was already started")]
    AlreadyStarted,
    /// A memory store is at its entry limit (even after dropping expired
    /// entries): nothing new is stored until entries expire (answer 503).
    #[error("grant store full")]
    Full,
    /// A stored record could not be read back (answer 503; logged).
    #[error("unreadable stored grant: {0}")]
    Corrupt(String),
}

/// Stores authorization codes (RFC 6749 §4.1): 32 random bytes, base64url
/// ([`CODE_LEN`] chars), kept only as SHA-256 digests, each redeemed at most
/// once. A second redemption before the code's expiry names the
/// refresh-token family the first one started, so the caller can revoke it
/// (RFC 6749 §4.1.2).
#[async_trait::async_trait]
pub trait CodeStore: Send + Sync + std::fmt::Debug + 'static {
    /// Creates a fresh random code (base64url of 32 random bytes), storing
    /// only its SHA-256 digest with the grant and a new [`FamilyId`], for
    /// `ttl` (at least 1 ms).
    async fn issue(&self, grant: &CodeGrant, ttl: Duration) -> Result<String, GrantStoreError>;

    /// Single use, atomically: the first call returns [`Redeemed::Fresh`]
    /// and marks the code used; later calls until the code's expiry return
    /// [`Redeemed::Replayed`]; afterwards (or never issued, or malformed)
    /// [`Redeemed::Unknown`]. Used markers are kept until the original expiry.
    async fn redeem(&self, code: &str) -> Result<Redeemed, GrantStoreError>;
}

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

/// Seconds since the epoch (0 if the clock is before it): the time base of
/// [`Family`] and [`CodeGrant::auth_time`].
pub fn grants_now() -> u64 {
    now_ms() / 1000
}

/// Milliseconds since the epoch (0 if the clock is before it).
pub(crate) use crate::session::now_ms;

/// A duration in milliseconds, at least 1.
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// 32 random bytes, base64url (43 chars).
pub(crate) fn random_secret() -> Result<String, GrantStoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| GrantStoreError::Rng)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of `s`.
pub(crate) fn digest(s: &str) -> [u8; 32] {
    sha2::Sha256::digest(s.as_bytes()).into()
}

/// Whether `s` is 43 canonical base64url chars of 32 bytes.
fn is_secret(s: &str) -> bool {
    if s.len() != SECRET_LEN {
        return false;
    }
    let mut bytes = [0u8; 32];
    matches!(URL_SAFE_NO_PAD.decode_slice(s, &mut bytes), Ok(32))
}

/// The digest of a well-formed authorization code, else `None`.
pub(crate) fn parse_code(code: &str) -> Option<[u8; 32]> {
    is_secret(code).then(|| digest(code))
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
    fn family_ids_are_22_canonical_chars() {
        let id = FamilyId::generate().unwrap();
        assert_eq!(id.as_str().len(), FAMILY_ID_LEN);
        assert_eq!(FamilyId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.to_string(), id.as_str());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<FamilyId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<FamilyId>("\"short\"").is_err());
        for bad in [
            "",
            "a",
            "AAAAAAAAAAAAAAAAAAAAA!",
            "AAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAB",
        ] {
            assert_eq!(FamilyId::parse(bad), None, "{bad:?}");
        }
        // Non-ASCII of the right byte length.
        assert_eq!(FamilyId::parse("ééééééééééé"), None);
    }

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

    #[test]
    fn codes_parse_strictly() {
        let code = random_secret().unwrap();
        assert_eq!(code.len(), CODE_LEN);
        assert_eq!(parse_code(&code), Some(digest(&code)));
        for bad in [
            "",
            "abc",
            &"A".repeat(44),
            &"*".repeat(43),
            &"A".repeat(10_000),
        ] {
            assert_eq!(parse_code(bad), None);
        }
    }

    #[test]
    fn rotation_debug_hides_the_token() {
        let grant = CodeGrant {
            client_id: "c".into(),
            redirect_uri: "https://x/cb".into(),
            code_challenge: None,
            customer_id: "u".into(),
            account: "a".into(),
            scope: "s".into(),
            nonce: None,
            auth_time: 1,
        };
        let r = Rotation::Rotated {
            family: Family::new(FamilyId::generate().unwrap(), &grant, 1, 10, 10),
            refresh_token: "secret-token-value".into(),
        };
        assert!(!format!("{r:?}").contains("secret-token-value"));
    }

    #[test]
    fn family_expiry_is_inclusive() {
        let grant = CodeGrant {
            client_id: "c".into(),
            redirect_uri: "https://x/cb".into(),
            code_challenge: None,
            customer_id: "u".into(),
            account: "a".into(),
            scope: "s".into(),
            nonce: None,
            auth_time: 1,
        };
        let f = Family::new(FamilyId::generate().unwrap(), &grant, 100, 50, 10);
        assert!(!f.is_expired(109));
        assert!(f.is_expired(110));
        let f = Family::new(FamilyId::generate().unwrap(), &grant, 100, 5, 10);
        assert!(!f.is_expired(104));
        assert!(f.is_expired(105));
    }
}
