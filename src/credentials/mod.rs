//! Pulling credentials out of a request, parsed at the edge.
//!
//! The engine reads requests through [`RequestParts`], a small trait that
//! both `http` 1.x types and other frameworks' request types implement, so
//! the engine never depends on a web framework.
//!
//! Parsing follows RFC 6750 and RFC 9110: the `Bearer` scheme is matched
//! case-insensitively, the token must be an RFC 6750 `b64token`, a token
//! longer than the configured maximum is refused before anything else looks
//! at it, and a request that sends its bearer token by more than one method
//! (header, cookie, query, another header, a websocket subprotocol, a
//! custom source) is malformed (RFC 6750 §2).
//!
//! Besides `Authorization`, a bearer token can come from a header of your
//! choice ([`CredentialSources::with_header`]: `X-Api-Key: Bearer …` or a
//! bare token), from the `Sec-WebSocket-Protocol` convention of browser
//! websockets ([`CredentialSources::with_websocket_protocol_prefix`]), or
//! from a function of yours ([`CredentialSources::with_custom`]). Every
//! source goes through the same size cap and token syntax, before anything
//! else looks at the token.

mod bearer;
mod error;
mod extract;
mod headers;
mod request;
mod sources;
mod syntax;
#[cfg(test)]
mod tests;
mod token;

pub use bearer::{BearerToken, Credentials};
pub use error::CredentialsError;
pub use extract::extract;
pub(crate) use extract::extract_with;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use headers::header_token;
pub(crate) use headers::{find_cookie, header_value_token, session_id, unique_header};
pub(crate) use request::AsDyn;
pub use request::RequestParts;
pub use sources::{Credential, CredentialSources, CustomSource};
pub use syntax::parse_authorization;
pub(crate) use token::{Checked, Deferred, RawToken, TokenSyntax};

/// Default cap on a token's size: 8 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
