//! Credential extraction from request headers: `parse_authorization`,
//! `extract` under several source configurations, the customer-token
//! header, session IDs and cookies.
//!
//! Input: lines separated by `\n`. A line's first byte picks what it is:
//! `A` Authorization, `C` X-Customer-Token, `S` X-Session-Id, `K` Cookie,
//! `Q` the query string; any other line is an Authorization value as a
//! whole. Values the `http` crate refuses as header values are still fed to
//! `parse_authorization` directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::credentials::{
    CredentialSources, DEFAULT_MAX_TOKEN_BYTES, extract, parse_authorization,
};

fn is_b64token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// What every accepted token must look like.
fn check_token(t: &str, max: usize) {
    assert!(!t.is_empty(), "empty token accepted");
    assert!(t.len() <= max, "token over the limit accepted");
    let body = t.trim_end_matches('=');
    assert!(!body.is_empty(), "padding-only token accepted: {t:?}");
    assert!(
        body.bytes().all(is_b64token_byte),
        "token with non-b64token bytes accepted: {t:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut headers = http::HeaderMap::new();
    let mut query: Option<String> = None;
    for line in data.split(|&b| b == b'\n') {
        let (name, value) = match line.split_first() {
            Some((b'A', v)) => ("authorization", v),
            Some((b'C', v)) => ("x-customer-token", v),
            Some((b'S', v)) => ("x-session-id", v),
            Some((b'K', v)) => ("cookie", v),
            Some((b'Q', v)) => {
                query = std::str::from_utf8(v).ok().map(str::to_owned);
                continue;
            }
            _ => ("authorization", line),
        };
        if name == "authorization" {
            for max in [DEFAULT_MAX_TOKEN_BYTES, 16, 1] {
                match parse_authorization(value, max) {
                    Ok(Some(t)) => {
                        check_token(t, max);
                        // The token is a slice of the value.
                        assert!(
                            value.windows(t.len()).any(|w| w == t.as_bytes()),
                            "token is not part of the value"
                        );
                    }
                    Ok(None) => panic!("parse_authorization returned Ok(None)"),
                    Err(_) => {}
                }
            }
        }
        if let Ok(v) = http::HeaderValue::from_bytes(value) {
            headers.append(name, v);
        }
    }

    let request = {
        let uri = match &query {
            Some(q) => format!("/p?{q}"),
            None => "/p".to_owned(),
        };
        let mut builder = http::Request::builder().uri(uri.as_str());
        if builder.uri_ref().is_none() {
            builder = http::Request::builder().uri("/p");
        }
        let mut req = builder.body(()).unwrap_or_else(|_| http::Request::new(()));
        *req.headers_mut() = headers.clone();
        req
    };

    let configs = [
        CredentialSources::default(),
        CredentialSources::default().with_cookie("at"),
        CredentialSources::default()
            .with_authorization_header(false)
            .with_cookie("at")
            .with_query_parameter("access_token")
            .with_max_token_bytes(32),
        CredentialSources::default()
            .with_query_parameter("access_token")
            .with_max_token_bytes(1),
    ];
    for sources in &configs {
        for result in [extract(&headers, sources), extract(&request, sources)] {
            match result {
                Ok(creds) => {
                    if let Some(b) = creds.bearer {
                        check_token(b.as_str(), sources.max_token_bytes);
                    }
                }
                Err(_) => {}
            }
        }
    }

    for max in [DEFAULT_MAX_TOKEN_BYTES, 8] {
        if let Ok(Some(t)) = tollgate::fuzzing::header_token(&headers, "x-customer-token", max) {
            check_token(t, max);
        }
    }
    for (header, cookie) in [
        (Some("x-session-id"), None),
        (None, Some("sid")),
        (Some("x-session-id"), Some("sid")),
    ] {
        if let Ok(Some(id)) = tollgate::fuzzing::session_id(&headers, header, cookie) {
            assert!(!id.is_empty());
            assert_eq!(id, id.trim_matches([' ', '\t']), "session id not trimmed");
            // Format check on top, as the engine does.
            let _ = tollgate::session::SessionId::parse(id);
        }
    }
    let _ = tollgate::fuzzing::find_cookie(&headers, "at");
});
