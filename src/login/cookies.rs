//! Reading and writing the login's cookies (`cookie` crate), with the size
//! of the `Cookie` header capped before anything is parsed.

use super::LoginError;
use std::time::Duration;

/// Largest `Cookie` header content read (all values together).
pub(crate) const MAX_COOKIE_HEADER_BYTES: usize = 8 * 1024;

/// The value of cookie `name`, if present once or more (the first wins).
pub(crate) fn read(headers: &http::HeaderMap, name: &str) -> Result<Option<String>, LoginError> {
    let mut total = 0usize;
    for value in headers.get_all(http::header::COOKIE) {
        total = total.saturating_add(value.len());
        if total > MAX_COOKIE_HEADER_BYTES {
            return Err(LoginError::Malformed("the Cookie header is too large"));
        }
    }
    for value in headers.get_all(http::header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for c in cookie::Cookie::split_parse(text).flatten() {
            if c.name() == name {
                return Ok(Some(c.value().to_owned()));
            }
        }
    }
    Ok(None)
}

/// `name=value; HttpOnly; SameSite=Lax; Path=/; Max-Age=…` (+ `Secure`).
pub(crate) fn set(
    name: &str,
    value: &str,
    max_age: Duration,
    secure: bool,
) -> Result<http::HeaderValue, LoginError> {
    let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    let c = cookie::Cookie::build((name, value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(secs))
        .secure(secure)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build();
    http::HeaderValue::from_str(&c.to_string())
        .map_err(|_| LoginError::Config(format!("cookie {name:?} is not a valid cookie")))
}

/// Expires cookie `name` now.
pub(crate) fn clear(name: &str, secure: bool) -> Result<http::HeaderValue, LoginError> {
    set(name, "", Duration::ZERO, secure)
}

/// Whether `name` is a cookie token (RFC 6265 §4.1.1).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_caps() {
        let mut h = http::HeaderMap::new();
        h.insert("cookie", "a=1; b=2".parse().unwrap());
        assert_eq!(read(&h, "b").unwrap().as_deref(), Some("2"));
        assert_eq!(read(&h, "c").unwrap(), None);
        h.append("cookie", "x".repeat(9000).parse().unwrap());
        assert!(read(&h, "a").is_err());
    }

    #[test]
    fn attributes() {
        let c = set("n", "v", Duration::from_secs(600), true).unwrap();
        let c = c.to_str().unwrap();
        for a in [
            "n=v",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=600",
            "Secure",
        ] {
            assert!(c.contains(a), "{a}: {c}");
        }
        assert!(!c.contains("Domain"));
        let c = clear("n", false).unwrap();
        assert!(c.to_str().unwrap().contains("Max-Age=0"));
        assert!(!c.to_str().unwrap().contains("Secure"));
    }
}
