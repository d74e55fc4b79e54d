//! The login's answers: redirects and small HTML pages (no-store, CSP
//! `default-src 'none'`), never echoing request input.

use super::LoginError;
use super::flow::LoginFlow;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

impl LoginFlow {
    pub(super) fn failure(&self, e: &LoginError, cookies: Vec<HeaderValue>) -> Response<Bytes> {
        let (title, message) = match e {
            LoginError::Denied(code) if code == "access_denied" => (
                "Login cancelled",
                "The login was cancelled. You can try again.",
            ),
            LoginError::Denied(_) => ("Login failed", "The login server refused the login."),
            LoginError::NoPendingLogin | LoginError::StateMismatch => (
                "Login expired",
                "This login link is no longer valid. Please start again.",
            ),
            LoginError::Upstream(_) => (
                "Login unavailable",
                "The login server could not be reached. Please try again later.",
            ),
            LoginError::Store(_) => (
                "Login unavailable",
                "Logins are unavailable right now. Please try again later.",
            ),
            _ => ("Login failed", "The login could not be completed."),
        };
        page(e.status(), title, message, cookies)
    }
}

pub(super) fn redirect(
    status: StatusCode,
    location: &str,
    cookies: Vec<HeaderValue>,
) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(loc) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, loc);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    r
}

pub(super) fn page(
    status: StatusCode,
    title: &'static str,
    message: &'static str,
    cookies: Vec<HeaderValue>,
) -> Response<Bytes> {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{message}</p><p><a href=\"/login\">Log in</a></p></body></html>"
    );
    let mut r = Response::new(Bytes::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    r
}
