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

mod clock;
mod code;
mod error;
mod family_id;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod refresh;
mod secret;

pub use clock::grants_now;
pub(crate) use clock::{now_ms, ttl_ms};
pub(crate) use code::parse_code;
pub use code::{CODE_LEN, CodeGrant, CodeStore, Redeemed};
pub use error::GrantStoreError;
pub use family_id::{FAMILY_ID_LEN, FamilyId};
pub use memory::{MemoryCodes, MemoryRefreshTokens};
pub use refresh::{
    DEFAULT_TOMBSTONE_TTL, Family, MAX_SPENT, REFRESH_TOKEN_LEN, RefreshStore, Rotation,
};
pub(crate) use refresh::{new_refresh_token, parse_refresh_token};
pub(crate) use secret::random_secret;

#[cfg(feature = "redis")]
pub use self::redis::{RedisCodes, RedisRefreshTokens};
