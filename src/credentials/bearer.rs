//! [`Credentials`]: what a request carries, borrowed from it, and the
//! [`BearerToken`] among them (redacted in `Debug`).

use std::borrow::Cow;
use std::fmt;

/// A bearer token as it arrived: borrowed from the request, or decoded
/// from a percent-encoded query parameter.
///
/// Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken<'a>(pub(super) Cow<'a, str>);

impl<'a> BearerToken<'a> {
    /// The token text. Treat it as a secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(******)")
    }
}

/// The credentials a request carries, borrowed from it.
#[derive(Debug, Default, Clone)]
pub struct Credentials<'a> {
    /// The bearer token, from whichever single source carried it.
    pub bearer: Option<BearerToken<'a>>,
    /// An `Authorization` header with a scheme other than `Bearer` (or
    /// `DPoP`) was present.
    pub other_scheme: bool,
    /// The token in [`bearer`](Self::bearer) arrived as `Authorization: DPoP`
    /// (RFC 9449): a proof must accompany it.
    pub dpop_scheme: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = BearerToken(Cow::Borrowed("secret-token"));
        assert_eq!(format!("{t:?}"), "BearerToken(******)");
    }
}
