//! Code and refresh-token stores in Redis (feature `redis`), shared by
//! every instance on one key prefix. Each state change is one Lua script,
//! so concurrent instances agree (one redemption per code, one rotation per
//! refresh token).
//!
//! Keys (every one expires):
//! - `<prefix>code:<hex sha256 of the code>`: hash `fam` (family id),
//!   `grant` (JSON; deleted on redemption, which leaves the used marker
//!   until the code's expiry).
//! - `<prefix>fam:{<family id>}`: hash `state` (`live` or `revoked`),
//!   `data` (the [`Family`] as started, JSON), `client`, `abs`, `idle`,
//!   `last` (seconds), `cur` (hex sha256 of the current secret). A
//!   revoked family keeps only `state` for the tombstone lifetime.
//! - `<prefix>fam:{<family id>}:spent`: list of spent secrets' digests,
//!   newest first, at most [`MAX_SPENT`].
//! - `<prefix>fam:{<family id>}:at`: sorted set of access-token `jti`s
//!   scored by `exp`.
//!
//! The `{…}` hash tag keeps a family's keys in one Redis Cluster slot.
//!
//! Digests are compared inside the scripts with Lua string equality, not in
//! constant time: they are SHA-256 digests of attacker-chosen input, so a
//! timing difference reveals at most how many leading digest bytes match,
//! which does not help to find a preimage. `family_of` compares in Rust,
//! in constant time.
//!
//! [`Family`]: super::Family
//! [`MAX_SPENT`]: super::MAX_SPENT

mod codes;
mod families;

pub use codes::RedisCodes;
pub use families::RedisRefreshTokens;

use crate::issuer::grants::GrantStoreError;
use crate::redis_conn::{RedisConn, RedisError};
use std::time::Duration;

/// The default time budget of one Redis call.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
/// Longest key lifetime written (100 years, ms): keeps `PEXPIRE` arguments
/// well inside what Lua numbers print as integers.
const MAX_KEY_TTL_MS: u64 = 3_153_600_000_000;

fn unavailable(e: RedisError) -> GrantStoreError {
    GrantStoreError::Unavailable(e.to_string())
}

fn hex(digest: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<RedisConn, crate::ConfigError> {
    RedisConn::new(url, prefix, timeout).map_err(crate::ConfigError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lower_hex() {
        assert_eq!(hex(&[0xab; 32]), "ab".repeat(32));
    }

    #[test]
    fn bad_urls_are_config_errors() {
        assert!(RedisCodes::new("not a url", "p:").is_err());
        assert!(RedisRefreshTokens::with_timeout("redis://x", "p:", Duration::ZERO).is_err());
    }
}
