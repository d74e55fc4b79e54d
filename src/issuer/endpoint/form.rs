//! The form body of the OAuth endpoints: its declared content type, and its
//! parameters.

use crate::issuer::oauth_error::OAuthError;
use http::{HeaderMap, header};
use std::collections::HashMap;

/// `application/x-www-form-urlencoded` parameters, refusing repeats (RFC 6749 §3.2).
pub(crate) fn form_params(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request("a parameter was repeated"));
        }
    }
    Ok(out)
}

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub(crate) fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if form {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}
