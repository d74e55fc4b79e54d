//! RFC 6749 §5.2 error responses of the token and revocation endpoints,
//! rendered framework-free as `http::Response<Bytes>`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use std::time::Duration;

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) description: &'static str,
    pub(crate) retry_after: Option<Duration>,
}

impl OAuthError {
    pub(crate) fn new(status: StatusCode, code: &'static str, description: &'static str) -> Self {
        Self {
            status,
            code,
            description,
            retry_after: None,
        }
    }
    pub(crate) fn throttled(after: Duration) -> Self {
        Self {
            retry_after: Some(after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_client",
                "too many failed attempts from this address; try again later",
            )
        }
    }
    pub(crate) fn invalid_request(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    pub(crate) fn invalid_client(description: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    pub(crate) fn invalid_grant(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }
    /// RFC 9449 §5: the DPoP proof at the token endpoint is invalid.
    pub(crate) fn invalid_dpop_proof(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    }
    pub(crate) fn unavailable(description: &'static str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }

    /// The response: JSON body, `no-store`, a Basic challenge for
    /// `invalid_client` (RFC 6749 §5.2), `Retry-After` when throttled.
    pub(crate) fn into_http(self) -> Response<Bytes> {
        let body = serde_json::json!({"error": self.code, "error_description": self.description});
        let mut res = json_response(self.status, &body);
        if self.code == "invalid_client" {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
            );
        }
        if let Some(after) = self.retry_after {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(after.as_secs().max(1)),
            );
        }
        res
    }
}

/// A JSON response that no cache may keep (RFC 6749 §5.1).
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    let mut res = Response::new(Bytes::from(body.to_string()));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_carries_a_basic_challenge_and_no_store() {
        let res = OAuthError::invalid_client("x").into_http();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["error"], "invalid_client");
    }

    #[test]
    fn throttled_sets_retry_after() {
        let res = OAuthError::throttled(Duration::from_secs(7)).into_http();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
    }
}
