//! [`CredentialsError`]: why credentials could not be read from a request.

/// Why credentials could not be read from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    DuplicateAuthorization,
    /// The header value is not valid `scheme token` syntax or holds bytes
    /// that are not visible ASCII.
    #[error("malformed Authorization header")]
    Malformed,
    /// `Bearer` with no token.
    #[error("empty bearer token")]
    EmptyToken,
    /// The token is longer than the configured maximum.
    #[error("token exceeds the size limit")]
    TooLarge,
    /// The bearer token was sent by more than one method.
    #[error("bearer token sent by more than one method")]
    MultipleMethods,
    /// An `Authorization` scheme other than `Bearer`.
    #[error("unsupported authorization scheme")]
    UnsupportedScheme,
}
