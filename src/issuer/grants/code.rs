//! Authorization codes (RFC 6749 §4.1): their format, what one stands for
//! ([`CodeGrant`]), the outcome of redeeming one and the [`CodeStore`] trait.

use super::secret::{digest, is_secret};
use super::{FamilyId, GrantStoreError};
use std::time::Duration;

/// Length of an authorization code: base64url of 32 bytes.
pub const CODE_LEN: usize = 43;

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

/// The digest of a well-formed authorization code, else `None`.
pub(crate) fn parse_code(code: &str) -> Option<[u8; 32]> {
    is_secret(code).then(|| digest(code))
}

#[cfg(test)]
mod tests {
    use super::super::secret::random_secret;
    use super::*;

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
}
