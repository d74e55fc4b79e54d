//! Header and cookie values that must come once (a second one is refused),
//! and the customer token and session id read from them.

use super::syntax::{bearer_value, trim_ows};
use super::{CredentialsError, RequestParts, TokenSyntax};

/// A header name as the engine holds it: a constant's text, or a
/// configured name parsed once when the authenticator was built.
pub(crate) trait HeaderKey: Copy {
    fn visit<'a, R: RequestParts + ?Sized>(self, req: &'a R, visit: &mut dyn FnMut(&'a [u8]));
}

impl HeaderKey for &str {
    fn visit<'a, R: RequestParts + ?Sized>(self, req: &'a R, visit: &mut dyn FnMut(&'a [u8])) {
        req.visit_header(self, visit);
    }
}

impl HeaderKey for &http::HeaderName {
    fn visit<'a, R: RequestParts + ?Sized>(self, req: &'a R, visit: &mut dyn FnMut(&'a [u8])) {
        req.visit_header_name(self, visit);
    }
}

/// The value of a header that must appear at most once.
pub(crate) fn unique_header<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: impl HeaderKey,
) -> Result<Option<&'a [u8]>, CredentialsError> {
    let mut first: Option<&'a [u8]> = None;
    let mut count = 0usize;
    name.visit(req, &mut |v| {
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
/// `Bearer <token>`, checked. (The engine reads it with
/// [`header_value_token`]; this is the fuzz targets' and tests' entry.)
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn header_token<R: RequestParts + ?Sized>(
    req: &R,
    name: impl HeaderKey,
    max: usize,
) -> Result<Option<&str>, CredentialsError> {
    use super::syntax::{checked_bare_token, checked_token};
    match dedicated_value(req, name)? {
        None => Ok(None),
        Some(Dedicated::Bearer(token)) => checked_token(token, max).map(Some),
        Some(Dedicated::Bare(value)) => checked_bare_token(value, max).map(Some),
    }
}

/// [`header_token`], with the token as `S` makes it.
pub(crate) fn header_value_token<'a, S: TokenSyntax, R: RequestParts + ?Sized>(
    req: &'a R,
    name: impl HeaderKey,
    max: usize,
) -> Result<Option<S::Token<'a>>, CredentialsError> {
    match dedicated_value(req, name)? {
        None => Ok(None),
        Some(Dedicated::Bearer(token)) => S::token(token, max).map(Some),
        Some(Dedicated::Bare(value)) => S::bare_token(value, max).map(Some),
    }
}

/// A dedicated header's value.
enum Dedicated<'a> {
    /// `Bearer <token>`: the token.
    Bearer(&'a [u8]),
    /// Anything else (trimmed): a bare token, if well-formed.
    Bare(&'a [u8]),
}

fn dedicated_value<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    name: impl HeaderKey,
) -> Result<Option<Dedicated<'a>>, CredentialsError> {
    let Some(raw) = unique_header(req, name)? else {
        return Ok(None);
    };
    let value = trim_ows(raw);
    // Of the values with a space (a scheme and its credentials), only
    // `Bearer` is taken; the scheme's 6 bytes are read, not the whole value.
    let bearer = value.get(6) == Some(&b' ')
        && value
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"bearer"));
    if bearer {
        return bearer_value(value).map(|t| Some(Dedicated::Bearer(t)));
    }
    Ok(Some(Dedicated::Bare(value)))
}

/// A session ID from its header and/or cookie (not format-checked here).
pub(crate) fn session_id<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    header: Option<impl HeaderKey>,
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
