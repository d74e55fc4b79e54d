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

mod request;
mod sources;
mod syntax;

pub(crate) use request::AsDyn;
pub use request::RequestParts;
pub use sources::{Credential, CredentialSources, CustomSource};
use std::borrow::Cow;
use std::fmt;
#[cfg(test)]
use syntax::is_b64token_byte;
pub use syntax::parse_authorization;
use syntax::{checked_token, dpop_token, trim_ows};

/// Default cap on a token's size: 8 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

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

/// A bearer token as it arrived: borrowed from the request, or decoded
/// from a percent-encoded query parameter.
///
/// Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken<'a>(Cow<'a, str>);

impl<'a> BearerToken<'a> {
    /// The token text. Treat it as a secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_inner(self) -> Cow<'a, str> {
        self.0
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

/// Reads the credentials of a request according to `sources`.
pub fn extract<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    sources: &CredentialSources,
) -> Result<Credentials<'a>, CredentialsError> {
    let mut creds = Credentials::default();
    let max = sources.max_token_bytes;

    if sources.authorization_header {
        let value = unique_header(req, "authorization")
            .map_err(|_| CredentialsError::DuplicateAuthorization)?;
        if let Some(value) = value {
            match parse_authorization(value, max) {
                Ok(token) => creds.bearer = token.map(|t| BearerToken(Cow::Borrowed(t))),
                Err(CredentialsError::UnsupportedScheme) => match dpop_token(value, max)? {
                    Some(token) => {
                        creds.bearer = Some(BearerToken(Cow::Borrowed(token)));
                        creds.dpop_scheme = true;
                    }
                    None => creds.other_scheme = true,
                },
                Err(e) => return Err(e),
            }
        }
    }

    if let Some(name) = &sources.cookie
        && let Some(raw) = find_cookie(req, name)?
    {
        let token = checked_token(raw, max)?;
        if creds
            .bearer
            .replace(BearerToken(Cow::Borrowed(token)))
            .is_some()
        {
            return Err(CredentialsError::MultipleMethods);
        }
    }

    // RFC 6750 §2.3: the query is `application/x-www-form-urlencoded`, so
    // the value is percent-decoded (`%2B` is `+`; a bare `+` is a space and
    // fails the token syntax). The size cap applies to the decoded value;
    // the query itself is bounded by the server's URI limit.
    if let (Some(name), Some(query)) = (&sources.query_parameter, req.query()) {
        let mut found: Option<Cow<'a, str>> = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == name.as_str() && found.replace(v).is_some() {
                return Err(CredentialsError::Malformed);
            }
        }
        if let Some(raw) = found {
            checked_token(raw.as_bytes(), max)?;
            if creds.bearer.replace(BearerToken(raw)).is_some() {
                return Err(CredentialsError::MultipleMethods);
            }
        }
    }

    if let Some(name) = &sources.header
        && let Some(token) = header_token(req, name, max)?
        && creds
            .bearer
            .replace(BearerToken(Cow::Borrowed(token)))
            .is_some()
    {
        return Err(CredentialsError::MultipleMethods);
    }

    if let Some(prefix) = &sources.websocket_protocol_prefix
        && let Some(token) = websocket_token(req, prefix, max)?
        && creds
            .bearer
            .replace(BearerToken(Cow::Borrowed(token)))
            .is_some()
    {
        return Err(CredentialsError::MultipleMethods);
    }

    if let Some(custom) = &sources.custom
        && let Some(Credential::Bearer(token)) = (custom.0)(&AsDyn(req))
    {
        checked_token(token.as_bytes(), max)?;
        if creds
            .bearer
            .replace(BearerToken(Cow::Owned(token)))
            .is_some()
        {
            return Err(CredentialsError::MultipleMethods);
        }
    }

    Ok(creds)
}

/// The token in a `Sec-WebSocket-Protocol` offer (RFC 6455 §11.3.4: a
/// comma-separated list of tokens, in one or more header fields): the one
/// element that starts with `prefix`. Two such elements are ambiguous.
fn websocket_token<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    prefix: &str,
    max: usize,
) -> Result<Option<&'a str>, CredentialsError> {
    let mut found: Option<&'a [u8]> = None;
    let mut dup = false;
    req.visit_header("sec-websocket-protocol", &mut |v| {
        for item in v.split(|&b| b == b',') {
            if let Some(token) = trim_ows(item).strip_prefix(prefix.as_bytes()) {
                dup |= found.replace(token).is_some();
            }
        }
    });
    if dup {
        return Err(CredentialsError::MultipleMethods);
    }
    found.map(|raw| checked_token(raw, max)).transpose()
}

/// The value of a header that must appear at most once.
pub(crate) fn unique_header<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: &str,
) -> Result<Option<&'a [u8]>, CredentialsError> {
    let mut first: Option<&'a [u8]> = None;
    let mut count = 0usize;
    req.visit_header(name, &mut |v| {
        count += 1;
        first.get_or_insert(v);
    });
    if count > 1 {
        return Err(CredentialsError::Malformed);
    }
    Ok(first)
}

/// The value of cookie `name` across all `Cookie` headers; a cookie sent
/// twice is ambiguous and refused.
pub(crate) fn find_cookie<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: &str,
) -> Result<Option<&'a [u8]>, CredentialsError> {
    let mut found: Option<&'a [u8]> = None;
    let mut dup = false;
    req.visit_header("cookie", &mut |v| {
        for pair in v.split(|&b| b == b';') {
            let pair = trim_ows(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (k, val) = pair.split_at(eq);
            if k == name.as_bytes() {
                let val = val.get(1..).unwrap_or_default();
                // RFC 6265 allows the value in double quotes.
                let val = val
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(val);
                dup |= found.replace(val).is_some();
            }
        }
    });
    if dup {
        return Err(CredentialsError::Malformed);
    }
    Ok(found)
}

/// A token in a dedicated header (customer token): the bare token, or
/// `Bearer <token>`.
pub(crate) fn header_token<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, CredentialsError> {
    let Some(raw) = unique_header(req, name)? else {
        return Ok(None);
    };
    let trimmed = trim_ows(raw);
    if trimmed.contains(&b' ') {
        return match parse_authorization(trimmed, max) {
            Err(CredentialsError::UnsupportedScheme) => Err(CredentialsError::Malformed),
            other => other,
        };
    }
    checked_token(trimmed, max).map(Some)
}

/// A session ID from its header and/or cookie (not format-checked here).
pub(crate) fn session_id<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    header: Option<&str>,
    cookie: Option<&str>,
) -> Result<Option<&'a str>, CredentialsError> {
    let from_header = match header {
        Some(h) => unique_header(req, h)?,
        None => None,
    };
    let from_cookie = match cookie {
        Some(c) => find_cookie(req, c)?,
        None => None,
    };
    let raw = match (from_header, from_cookie) {
        (Some(_), Some(_)) => return Err(CredentialsError::MultipleMethods),
        (Some(v), None) | (None, Some(v)) => trim_ows(v),
        (None, None) => return Ok(None),
    };
    if raw.is_empty() {
        return Err(CredentialsError::EmptyToken);
    }
    std::str::from_utf8(raw)
        .map(Some)
        .map_err(|_| CredentialsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_are_form_decoded() {
        let sources = CredentialSources {
            query_parameter: Some("access_token".into()),
            ..CredentialSources::default()
        };
        let get = |q: &str| {
            let req = http::Request::get(format!("/x?{q}")).body(()).unwrap();
            extract(&req, &sources).map(|c| c.bearer.map(|b| b.as_str().to_owned()))
        };
        // %2B / %2F / %3D are `+`, `/`, `=` (all b64token characters).
        assert_eq!(
            get("access_token=ab%2Bc%2Fd%3D").unwrap().as_deref(),
            Some("ab+c/d=")
        );
        assert_eq!(
            get("a=1&access_token=abc&b=2").unwrap().as_deref(),
            Some("abc")
        );
        // A bare `+` is a space in a form body: not a token.
        assert!(get("access_token=ab+c").is_err());
        assert!(matches!(
            get("access_token=a&access_token=b"),
            Err(CredentialsError::Malformed)
        ));
        // An encoded parameter name is the same parameter.
        assert_eq!(get("access%5Ftoken=abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(get("other=abc").unwrap(), None);
    }

    const MAX: usize = DEFAULT_MAX_TOKEN_BYTES;

    #[test]
    fn bearer_syntax() {
        assert_eq!(
            parse_authorization(b"Bearer abc.def-_~+/==", MAX),
            Ok(Some("abc.def-_~+/=="))
        );
        assert_eq!(parse_authorization(b"bEaReR   abc  ", MAX), Ok(Some("abc")));
        assert_eq!(
            parse_authorization(b"Bearer", MAX),
            Err(CredentialsError::EmptyToken)
        );
        assert_eq!(
            parse_authorization(b"Bearer   ", MAX),
            Err(CredentialsError::EmptyToken)
        );
        assert_eq!(
            parse_authorization(b"Bearer ===", MAX),
            Err(CredentialsError::Malformed)
        );
        assert_eq!(
            parse_authorization(b"Bearer a=b", MAX),
            Err(CredentialsError::Malformed)
        );
        assert_eq!(
            parse_authorization(b"Bearer a b", MAX),
            Err(CredentialsError::Malformed)
        );
        assert_eq!(
            parse_authorization(b"Bearer a\xffb", MAX),
            Err(CredentialsError::Malformed)
        );
        assert_eq!(
            parse_authorization(b"", MAX),
            Err(CredentialsError::Malformed)
        );
        assert_eq!(
            parse_authorization(b"Basic abc", MAX),
            Err(CredentialsError::UnsupportedScheme)
        );
        assert_eq!(
            parse_authorization(b"Bearerx abc", MAX),
            Err(CredentialsError::UnsupportedScheme)
        );
        assert_eq!(
            parse_authorization(b"Bearer abcdef", 5),
            Err(CredentialsError::TooLarge)
        );
        assert_eq!(parse_authorization(b"Bearer abcde", 5), Ok(Some("abcde")));
    }

    #[test]
    fn b64token_bytes_match_the_grammar() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), want, "byte {b:#x}");
        }
    }

    #[test]
    fn duplicate_header_and_multiple_methods() {
        let mut h = http::HeaderMap::new();
        h.append("authorization", "Bearer a".parse().unwrap());
        h.append("authorization", "Bearer a".parse().unwrap());
        let src = CredentialSources::default();
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::DuplicateAuthorization
        );

        let src = CredentialSources {
            cookie: Some("at".into()),
            ..CredentialSources::default()
        };
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Bearer a".parse().unwrap());
        h.insert("cookie", "at=b".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::MultipleMethods
        );
        let mut h = http::HeaderMap::new();
        h.append("cookie", "x=1; at=\"tok\"".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap().bearer.unwrap().as_str(), "tok");
        h.append("cookie", "at=other".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
    }

    #[test]
    fn a_custom_header_carries_a_bare_or_bearer_token() {
        let src = CredentialSources::default().with_header("x-api-key");
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", "abc.def".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap().bearer.unwrap().as_str(),
            "abc.def"
        );
        h.insert("x-api-key", "Bearer abc.def".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap().bearer.unwrap().as_str(),
            "abc.def"
        );
        h.insert("x-api-key", "Basic abc".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
        h.insert("x-api-key", "a".repeat(MAX + 1).parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::TooLarge);
        h.insert("x-api-key", "abc".parse().unwrap());
        h.append("x-api-key", "abc".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", "abc".parse().unwrap());
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::MultipleMethods
        );
    }

    #[test]
    fn a_websocket_subprotocol_carries_the_token() {
        let src = CredentialSources::default().with_websocket_protocol_prefix("bearer.");
        let get = |values: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append("sec-websocket-protocol", v.parse().unwrap());
            }
            extract(&h, &src).map(|c| c.bearer.map(|b| b.as_str().to_owned()))
        };
        assert_eq!(
            get(&["chat.v1, bearer.eyJ.a-b_c"]).unwrap().as_deref(),
            Some("eyJ.a-b_c")
        );
        assert_eq!(
            get(&["chat.v1", "bearer.tok"]).unwrap().as_deref(),
            Some("tok")
        );
        assert_eq!(get(&["chat.v1"]).unwrap(), None);
        assert_eq!(
            get(&["bearer.a, bearer.b"]).unwrap_err(),
            CredentialsError::MultipleMethods
        );
        assert_eq!(get(&["bearer."]).unwrap_err(), CredentialsError::EmptyToken);
        assert_eq!(
            get(&[&format!("bearer.{}", "a".repeat(MAX + 1))]).unwrap_err(),
            CredentialsError::TooLarge
        );
    }

    #[test]
    fn a_custom_source_keeps_the_rules() {
        let src = CredentialSources::default().with_custom(|req| {
            let mut found = None;
            req.visit_header("x-ticket", &mut |v| {
                found = std::str::from_utf8(v).ok().map(str::to_owned);
            });
            found.map(Credential::Bearer)
        });
        let mut h = http::HeaderMap::new();
        assert!(extract(&h, &src).unwrap().bearer.is_none());
        h.insert("x-ticket", "tok".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap().bearer.unwrap().as_str(), "tok");
        h.insert("x-ticket", "not a token".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
        h.insert("x-ticket", "a".repeat(MAX + 1).parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::TooLarge);
        h.insert("x-ticket", "tok".parse().unwrap());
        h.insert("authorization", "Bearer tok".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::MultipleMethods
        );
        assert_eq!(
            format!("{:?}", Credential::Bearer("s3cret".into())),
            "Bearer(******)"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let t = BearerToken(Cow::Borrowed("secret-token"));
        assert_eq!(format!("{t:?}"), "BearerToken(******)");
    }

    #[test]
    fn source_validation() {
        assert!(CredentialSources::default().validate().is_ok());
        let bad = CredentialSources {
            cookie: Some("a b".into()),
            ..CredentialSources::default()
        };
        assert!(bad.validate().is_err());
        let none = CredentialSources {
            authorization_header: false,
            ..CredentialSources::default()
        };
        assert!(none.validate().is_err());
        for bad in [
            CredentialSources::default().with_header("Authorization"),
            CredentialSources::default().with_header("bad header"),
            CredentialSources::default().with_websocket_protocol_prefix(""),
            CredentialSources::default().with_websocket_protocol_prefix("a,b"),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let only_ws = CredentialSources::default()
            .with_authorization_header(false)
            .with_websocket_protocol_prefix("bearer.");
        assert!(only_ws.validate().is_ok());
    }
}
