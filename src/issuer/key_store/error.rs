//! [`KeyStoreError`]: what went wrong in a
//! [`RedisKeyStore`](super::RedisKeyStore) call.

/// What went wrong in a [`RedisKeyStore`](super::RedisKeyStore) call. The
/// local [`KeyRing`](crate::issuer::KeyRing) is left as it was whenever a
/// call fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// Redis could not be reached or did not answer within the timeout.
    #[error("signing key store unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with an error (a failed script, an ACL refusal).
    #[error("signing key store: redis error: {0}")]
    Backend(String),
    /// Redis holds no key set under the store's key (not initialized yet,
    /// or Redis lost its data).
    #[error("signing key store: {0}")]
    Missing(String),
    /// What Redis holds is not a key set this store can read.
    #[error("signing key store: the stored key set is unreadable: {0}")]
    Corrupt(String),
    /// The change was refused (retiring the active key, adding a key id
    /// already in the set).
    #[error("signing key store: {0}")]
    Rejected(String),
    /// Concurrent changes kept winning the compare-and-swap.
    #[error("signing key store: {0}")]
    Conflict(String),
}
