//! [`GrantStoreError`]: why a grant store could not answer.

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
    ///
    /// [`RefreshStore::start`]: super::RefreshStore::start
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
