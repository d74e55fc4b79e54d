//! [`LoginError`]: why a login step failed, and the status it answers with.

use crate::error::AuthError;
use crate::session::StoreError;

/// Why a login step failed.
///
/// No variant ever carries a token, an authorization code, a PKCE verifier
/// or a client secret: `Display` and `Debug` are safe to log.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The login configuration is unusable.
    #[error("login configuration: {0}")]
    Config(String),
    /// The request is malformed or exceeds a size limit.
    #[error("malformed login request: {0}")]
    Malformed(&'static str),
    /// The callback came without a (known, unexpired) pending login: the
    /// cookie is missing, or the pending login was used or expired.
    #[error("no pending login for this callback")]
    NoPendingLogin,
    /// The callback's `state` is missing or does not match.
    #[error("the login state does not match")]
    StateMismatch,
    /// The callback's `iss` names another authorization server (RFC 9207).
    #[error("the callback names another issuer")]
    IssuerMismatch,
    /// The authorization server answered the callback with an error
    /// (`access_denied` when the customer declined).
    #[error("the authorization server refused the login: {0}")]
    Denied(String),
    /// The token endpoint answered with an OAuth error (`invalid_grant`, …).
    #[error("the token endpoint refused: {0}")]
    TokenEndpoint(String),
    /// The authorization server could not be reached or answered garbage.
    #[error("the authorization server is unavailable: {0}")]
    Upstream(String),
    /// The returned access token did not verify with the app's authenticator.
    #[error("the access token was refused: {0}")]
    TokenRefused(AuthError),
    /// The access token verified but names no customer (or no account, or
    /// another client).
    #[error("the access token is not a customer token for this client: {0}")]
    NotACustomer(&'static str),
    /// The ID token is missing, does not verify, or its `nonce` or `sub`
    /// does not match.
    #[error("the ID token was refused: {0}")]
    IdTokenRefused(&'static str),
    /// The session or token store failed.
    #[error("store: {0}")]
    Store(StoreError),
    /// No live session (or no stored tokens for it).
    #[error("no live session")]
    NoSession,
    /// The refresh token was refused: the session has been ended.
    #[error("the login has ended; log in again")]
    SessionEnded,
}

impl LoginError {
    /// The HTTP status a request failing this way is answered with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::Config(_) => S::INTERNAL_SERVER_ERROR,
            Self::Malformed(_) | Self::NoPendingLogin | Self::StateMismatch => S::BAD_REQUEST,
            Self::IssuerMismatch => S::BAD_REQUEST,
            Self::Denied(code) if code == "access_denied" => S::FORBIDDEN,
            Self::Denied(_) => S::BAD_REQUEST,
            Self::TokenEndpoint(_) => S::BAD_REQUEST,
            Self::Upstream(_) => S::BAD_GATEWAY,
            Self::TokenRefused(_) | Self::NotACustomer(_) | Self::IdTokenRefused(_) => S::FORBIDDEN,
            Self::Store(_) => S::SERVICE_UNAVAILABLE,
            Self::NoSession | Self::SessionEnded => S::UNAUTHORIZED,
        }
    }
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// An OAuth error code from the network, kept only if it is a plain code
/// (`[a-z_]`, at most 64 bytes), so it can be shown and logged safely.
pub(crate) fn error_code(raw: &str) -> String {
    if !raw.is_empty()
        && raw.len() <= 64
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        raw.to_owned()
    } else {
        "unrecognized_error".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_sanitized() {
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(error_code("<script>"), "unrecognized_error");
        assert_eq!(error_code(""), "unrecognized_error");
        assert_eq!(error_code(&"a".repeat(65)), "unrecognized_error");
    }

    #[test]
    fn statuses() {
        assert_eq!(LoginError::StateMismatch.status(), 400);
        assert_eq!(LoginError::Denied("access_denied".into()).status(), 403);
        assert_eq!(LoginError::Denied("server_error".into()).status(), 400);
        assert_eq!(LoginError::Upstream("x".into()).status(), 502);
    }
}
