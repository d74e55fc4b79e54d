//! Thin wrappers over crate-private parsers, for the `fuzz/` targets only
//! (feature `fuzzing`). Not part of the public API; no stability promise.
#![doc(hidden)]

use crate::credentials::{self, CredentialsError, RequestParts};
use crate::jwt::keys::{KeyLookup, KeySet};
use crate::jwt::token;

/// Parses a compact JWS (`crate::jwt::token::parse`). On success returns
/// the signed message (`header.payload`) and the signature segment, both
/// borrowed from `s`.
pub fn jws_parse(s: &str) -> Option<(&str, &str)> {
    token::parse(s).ok().map(|t| (t.message, t.signature))
}

/// What [`jwks_parse`] made of a JWKS document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksSummary {
    /// Keys kept.
    pub keys: usize,
    /// Keys kept that verify HMAC algorithms.
    pub symmetric: usize,
    /// Keys kept whose algorithm set is empty (must never happen).
    pub without_algorithms: usize,
}

/// Parses a JWKS document (`KeySet::from_jwks`).
pub fn jwks_parse(json: &[u8], allow_symmetric: bool) -> Option<JwksSummary> {
    let set = KeySet::from_jwks(json, allow_symmetric).ok()?;
    let hmac = crate::jwt::keys::AlgSet::hmac();
    Some(JwksSummary {
        keys: set.keys.len(),
        symmetric: set
            .keys
            .iter()
            .filter(|k| {
                crate::jwt::keys::ALL_ALGORITHMS
                    .iter()
                    .any(|a| hmac.contains(*a) && k.algs.contains(*a))
            })
            .count(),
        without_algorithms: set.keys.iter().filter(|k| k.algs.is_empty()).count(),
    })
}

/// Parses a JWKS document, then `token` as a compact JWS, looks its key up
/// in the set and verifies its signature with that key. Returns whether
/// the signature verified (`None` when either does not parse or no key
/// matches).
pub fn jwks_verify(json: &[u8], allow_symmetric: bool, token: &str) -> Option<bool> {
    let set = KeySet::from_jwks(json, allow_symmetric).ok()?;
    let parsed = token::parse(token).ok()?;
    match set.lookup(parsed.kid.as_deref(), parsed.alg) {
        KeyLookup::Found(key) => {
            Some(key.verify(parsed.alg, parsed.message.as_bytes(), parsed.signature))
        }
        KeyLookup::UnknownKid | KeyLookup::NoMatch => None,
    }
}

/// Decodes `Basic` credentials (`crate::basic::decode`).
pub fn basic_decode(value: &[u8]) -> Option<(String, String)> {
    crate::basic::decode(value)
}

/// A token from a dedicated header such as `X-Customer-Token`
/// (`crate::credentials::header_token`).
pub fn header_token<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, CredentialsError> {
    credentials::header_token(req, name, max)
}

/// A session ID from a header and/or cookie (`crate::credentials::session_id`).
pub fn session_id<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    header: Option<&str>,
    cookie: Option<&str>,
) -> Result<Option<&'a str>, CredentialsError> {
    credentials::session_id(req, header, cookie)
}

/// The cookie `name` across all `Cookie` headers (`crate::credentials::find_cookie`).
pub fn find_cookie<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: &str,
) -> Result<Option<&'a [u8]>, CredentialsError> {
    credentials::find_cookie(req, name)
}

/// The SHA-256 thumbprint of the certificate in a proxy's header
/// (`crate::mtls::header_thumbprint`); `format`: 0 PEM, 1 XFCC, else base64
/// DER. `None` when refused.
pub fn mtls_header(value: &[u8], format: u8, max: usize) -> Option<[u8; 32]> {
    use crate::mtls::CertificateHeaderFormat as F;
    let format = match format {
        0 => F::Pem,
        1 => F::Xfcc,
        _ => F::Base64Der,
    };
    crate::mtls::header_thumbprint(value, format, max).ok()
}
