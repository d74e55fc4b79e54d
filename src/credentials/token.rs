//! When a token's `b64token` syntax is checked: at extraction
//! ([`Checked`], what [`extract`](super::extract) returns), or later, by
//! the engine ([`Deferred`]).
//!
//! The engine's synchronous path reads tokens [`Deferred`]: bounded in size
//! but with the per-byte syntax check left out, so that a token the
//! verified-token cache holds is answered without it. That is not a check
//! skipped: the cache compares the whole presented token with the stored
//! one, which passed this very check before it was verified, so equal bytes
//! pass it again. A token the cache does not hold is checked before
//! anything else reads it, and on any failure the engine starts over with
//! [`Checked`] extraction, so errors (and which one comes first) are
//! exactly those of checked extraction.

use super::CredentialsError;
use super::syntax::{bounded, checked_bare_token, checked_token};
use std::borrow::Cow;

/// How extraction treats a token's bytes.
pub(crate) trait TokenSyntax {
    /// What a token becomes.
    type Token<'a>;

    /// A token read from the request's bytes (a header or cookie value).
    fn token(raw: &[u8], max: usize) -> Result<Self::Token<'_>, CredentialsError>;

    /// A dedicated header's value that is not `Bearer <token>`, as a bare
    /// token.
    fn bare_token(value: &[u8], max: usize) -> Result<Self::Token<'_>, CredentialsError>;

    /// A token that is already text and checked (a decoded query
    /// parameter, a custom source's).
    fn text(text: Cow<'_, str>) -> Self::Token<'_>;
}

/// Checked at extraction: the token is text that passed the size cap and
/// the `b64token` syntax.
pub(crate) struct Checked;

impl TokenSyntax for Checked {
    type Token<'a> = Cow<'a, str>;

    fn token(raw: &[u8], max: usize) -> Result<Cow<'_, str>, CredentialsError> {
        checked_token(raw, max).map(Cow::Borrowed)
    }

    fn bare_token(value: &[u8], max: usize) -> Result<Cow<'_, str>, CredentialsError> {
        checked_bare_token(value, max).map(Cow::Borrowed)
    }

    fn text(text: Cow<'_, str>) -> Cow<'_, str> {
        text
    }
}

/// Bounded at extraction (not empty, within the cap), its syntax checked
/// by whoever reads it ([`RawToken::checked`]).
pub(crate) struct Deferred;

impl TokenSyntax for Deferred {
    type Token<'a> = RawToken<'a>;

    fn token(raw: &[u8], max: usize) -> Result<RawToken<'_>, CredentialsError> {
        bounded(raw, max).map(RawToken::Unchecked)
    }

    /// A value with a space fails the deferred check (a space is not a
    /// `b64token` byte), so it is not searched for here.
    fn bare_token(value: &[u8], max: usize) -> Result<RawToken<'_>, CredentialsError> {
        Self::token(value, max)
    }

    fn text(text: Cow<'_, str>) -> RawToken<'_> {
        RawToken::Text(text)
    }
}

/// A token read [`Deferred`]. No `Debug`: it is a credential.
pub(crate) enum RawToken<'a> {
    /// Checked text.
    Text(Cow<'a, str>),
    /// Within the size cap; its syntax not checked yet.
    Unchecked(&'a [u8]),
}

impl<'a> RawToken<'a> {
    /// The token as checked text (`max` is the same cap it was bounded by).
    pub(crate) fn checked(self, max: usize) -> Result<Cow<'a, str>, CredentialsError> {
        match self {
            RawToken::Text(t) => Ok(t),
            RawToken::Unchecked(b) => checked_token(b, max).map(Cow::Borrowed),
        }
    }
}
