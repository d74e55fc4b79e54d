//! The server-rendered pages of the login (plain HTML forms, no script),
//! with the headers every page of an authorization server needs: no
//! caching, no framing (RFC 6749 §10.13 clickjacking), no referrer.
//! Also the double-submit CSRF cookie the forms are checked against.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use subtle::ConstantTimeEq;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A hidden form field.
pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!(
        r#"<input type="hidden" name="{}" value="{}">"#,
        esc(name),
        esc(value)
    )
}

/// A full page with the security headers.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response<Bytes> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}\
         label,input,button{{display:block;margin:.4rem 0;font-size:1rem}}input{{width:100%;padding:.4rem}}\
         button{{padding:.5rem 1rem}}.error{{color:#a00}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    let mut res = Response::new(Bytes::from(html));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// An error page (never a redirect).
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response<Bytes> {
    page(
        status,
        "Cannot continue",
        &format!("<p class=\"error\">{}</p>", esc(message)),
    )
}

/// A `303 See Other` to `location` (after a form post).
pub(crate) fn see_other(location: &str) -> Response<Bytes> {
    let mut res = Response::new(Bytes::new());
    *res.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The name of the CSRF cookie: `__Host-` prefixed when served over https.
pub(crate) fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tollgate_csrf"
    } else {
        "tollgate_csrf"
    }
}

/// `Set-Cookie` for a fresh CSRF token (SameSite=Strict, HttpOnly, Path=/).
pub(crate) fn csrf_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((csrf_cookie_name(secure), token))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::minutes(30))
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// The CSRF cookie's value, if exactly one is present.
pub(crate) fn csrf_from_cookies(headers: &http::HeaderMap, secure: bool) -> Option<String> {
    let name = csrf_cookie_name(secure);
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for c in cookie::Cookie::split_parse(text).flatten() {
            if c.name() == name {
                if found.is_some() {
                    // Two cookies of one name (e.g. one planted by a
                    // sibling domain): refuse rather than pick one.
                    return None;
                }
                found = Some(c.value().to_owned());
            }
        }
    }
    found
}

/// Whether the form's CSRF field matches the cookie (constant time).
pub(crate) fn csrf_ok(cookie: Option<&str>, field: Option<&str>) -> bool {
    match (cookie, field) {
        (Some(c), Some(f)) if c.len() >= 22 => c.as_bytes().ct_eq(f.as_bytes()).into(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn pages_forbid_framing_and_caching() {
        let res = error_page(StatusCode::BAD_REQUEST, "<script>");
        assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        assert!(!String::from_utf8_lossy(res.body()).contains("<script>"));
    }

    #[test]
    fn csrf_needs_one_matching_cookie() {
        let token = "abcdefghijklmnopqrstuvwxyz";
        let mut h = http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("tollgate_csrf={token}")).unwrap(),
        );
        let got = csrf_from_cookies(&h, false);
        assert!(csrf_ok(got.as_deref(), Some(token)));
        assert!(!csrf_ok(got.as_deref(), Some("abcdefghijklmnopqrstuvwxyZ")));
        assert!(!csrf_ok(got.as_deref(), None));
        assert!(!csrf_ok(None, Some(token)));
        assert!(!csrf_ok(Some("short"), Some("short")));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("tollgate_csrf=other"),
        );
        assert_eq!(csrf_from_cookies(&h, false), None);
        let set = csrf_cookie(token, true).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-tollgate_csrf="));
        for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set.contains(attr), "{set}");
        }
    }
}
