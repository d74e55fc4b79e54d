//! gRPC refusals: how [`AuthLayer`](super::AuthLayer) and
//! [`RequireScopesLayer`](super::RequireScopesLayer) answer a request whose
//! `content-type` is `application/grpc` (or `application/grpc+proto`, …).
//!
//! A gRPC client reads the outcome from `grpc-status`, not from the HTTP
//! status, so a refusal is a *trailers-only* response: HTTP 200, no body,
//! and `content-type: application/grpc`, `grpc-status` and a percent-encoded
//! `grpc-message` in the headers. The `WWW-Authenticate` challenge(s) and
//! the [`AuthError`] in the response extensions are kept.
//!
//! | [`AuthErrorKind`] | HTTP status otherwise | `grpc-status` |
//! |---|---|---|
//! | `Missing`, `InvalidToken`, `Expired`, `InvalidDpopProof` | 401 (or the configured expired status) | 16 `UNAUTHENTICATED` |
//! | `InsufficientScope` | 403 | 7 `PERMISSION_DENIED` |
//! | `InvalidRequest` | 400 | 3 `INVALID_ARGUMENT` |
//! | `Unavailable` | 503 | 14 `UNAVAILABLE` |
//!
//! On a tonic server the [`AuthContext`](crate::AuthContext) of an admitted
//! call is in the request extensions:
//! `request.extensions().get::<tollgate::AuthContext>()`. Per-method scopes
//! are a table in front of the service:
//! [`GrpcMethodScopesLayer`](super::GrpcMethodScopesLayer). A scope check
//! inside a handler can turn its [`AuthError`] into a `tonic::Status` with
//! [`code`] and the error's `Display`; `examples/grpc_api.rs` shows the
//! whole server.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tollgate::{Authenticator, IssuerConfig};
//! use tollgate::tower::AuthLayer;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://issuer.example").audience("api")
//!         .hmac_secret("a-very-long-shared-secret-of-32+-bytes"))
//!     .build()
//!     .unwrap();
//! let svc = ServiceBuilder::new()
//!     .layer(AuthLayer::required(auth))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//!     }));
//!
//! let req = Request::post("/orders.Orders/List")
//!     .header("content-type", "application/grpc")
//!     .body(String::new())
//!     .unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.headers()["grpc-status"], "16");
//! assert_eq!(res.headers()["grpc-message"], "unauthorized: credentials are required");
//! assert!(res.body().is_empty());
//! # });
//! ```

use crate::error::{AuthError, AuthErrorKind};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// gRPC status code `INVALID_ARGUMENT`.
const INVALID_ARGUMENT: u8 = 3;
/// gRPC status code `PERMISSION_DENIED`.
const PERMISSION_DENIED: u8 = 7;
/// gRPC status code `UNAVAILABLE`.
const UNAVAILABLE: u8 = 14;
/// gRPC status code `UNAUTHENTICATED`.
const UNAUTHENTICATED: u8 = 16;

/// Whether `headers` mark a gRPC request: `content-type` is
/// `application/grpc`, optionally followed by `+format` or `;params`.
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().get(..16).map(|p| (p, v.as_bytes().get(16))))
        .is_some_and(|(prefix, next)| {
            prefix.eq_ignore_ascii_case(b"application/grpc")
                && matches!(next, None | Some(b'+' | b';'))
        })
}

/// The gRPC status code for `err` (see the [module docs](self) for the
/// table): `16` `UNAUTHENTICATED`, `7` `PERMISSION_DENIED`, `3`
/// `INVALID_ARGUMENT` or `14` `UNAVAILABLE`. `tonic::Code::from(code(&err)
/// as i32)` gives tonic's code.
pub fn code(err: &AuthError) -> u8 {
    match err.kind() {
        AuthErrorKind::Missing
        | AuthErrorKind::InvalidToken
        | AuthErrorKind::Expired
        | AuthErrorKind::InvalidDpopProof => UNAUTHENTICATED,
        AuthErrorKind::InsufficientScope => PERMISSION_DENIED,
        AuthErrorKind::InvalidRequest => INVALID_ARGUMENT,
        AuthErrorKind::Unavailable => UNAVAILABLE,
    }
}

/// The trailers-only gRPC response for `err` (see the [module docs](self)).
/// The body is empty (`B::from(String::new())`).
pub fn to_response<B: From<String>>(err: &AuthError) -> Response<B> {
    let mut res = Response::new(B::from(String::new()));
    *res.status_mut() = StatusCode::OK;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from(u16::from(code(err))));
    // Percent-encoding leaves only visible ASCII, always a valid value.
    if let Ok(message) = HeaderValue::try_from(percent_encode(&err.to_string())) {
        headers.insert("grpc-message", message);
    }
    for challenge in err.www_authenticate_all() {
        headers.append(header::WWW_AUTHENTICATE, challenge);
    }
    res.extensions_mut().insert(err.clone());
    res
}

/// The refusal for a request: gRPC's when `grpc`, the JSON one otherwise.
pub(crate) fn refusal<B: From<String>>(err: &AuthError, grpc: bool) -> Response<B> {
    if grpc {
        to_response(err)
    } else {
        err.to_response()
    }
}

/// Percent-encodes a `grpc-message` (gRPC over HTTP/2 spec): bytes outside
/// `0x20..=0x7E`, and `%` itself, become `%XX` of the UTF-8 bytes.
fn percent_encode(message: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(message.len());
    for &b in message.as_bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorSettings;

    fn err(kind: AuthErrorKind) -> AuthError {
        AuthError::new(kind, "a reason", &ErrorSettings::default())
    }

    #[test]
    fn maps_each_kind_to_its_grpc_status() {
        let cases = [
            (AuthErrorKind::Missing, "16"),
            (AuthErrorKind::InvalidToken, "16"),
            (AuthErrorKind::Expired, "16"),
            (AuthErrorKind::InvalidDpopProof, "16"),
            (AuthErrorKind::InsufficientScope, "7"),
            (AuthErrorKind::InvalidRequest, "3"),
            (AuthErrorKind::Unavailable, "14"),
        ];
        for (kind, expected) in cases {
            let res: Response<String> = to_response(&err(kind));
            assert_eq!(res.headers()["grpc-status"], expected, "{kind:?}");
        }
    }

    #[test]
    fn trailers_only_shape() {
        let e = err(AuthErrorKind::InvalidToken);
        let res: Response<String> = to_response(&e);
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.body().is_empty());
        assert_eq!(res.headers()["content-type"], "application/grpc");
        assert_eq!(res.headers()["grpc-message"], "invalid_token: a reason");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"a reason\""
        );
        assert!(res.headers().get("cache-control").is_none());
        assert_eq!(
            res.extensions().get::<AuthError>().map(AuthError::kind),
            Some(AuthErrorKind::InvalidToken)
        );
    }

    #[test]
    fn unavailable_has_no_challenge() {
        let res: Response<String> = to_response(&err(AuthErrorKind::Unavailable));
        assert!(res.headers().get("www-authenticate").is_none());
    }

    #[test]
    fn message_is_percent_encoded() {
        assert_eq!(percent_encode("a b:c"), "a b:c");
        assert_eq!(percent_encode("100%"), "100%25");
        assert_eq!(percent_encode("é\n~"), "%C3%A9%0A~");
    }

    #[cfg(any(feature = "aws_lc_rs", feature = "rust_crypto"))]
    #[tokio::test]
    async fn both_services_answer_grpc_requests_the_grpc_way() {
        use crate::tower::{AuthLayer, RequireScopesLayer};
        use http::Request;
        use tower::{ServiceBuilder, ServiceExt, service_fn};
        let (auth, token) = super::super::test_support::auth_and_token("orders:read");
        let svc = ServiceBuilder::new()
            .layer(AuthLayer::required(auth))
            .layer(RequireScopesLayer::new(crate::policy::scope(
                "orders:write",
            )))
            .service(service_fn(|_req: Request<String>| async {
                Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
            }));
        let call = |content_type: &'static str, token: Option<&str>| {
            let mut req =
                Request::post("/orders.Orders/Create").header("content-type", content_type);
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            svc.clone().oneshot(req.body(String::new()).unwrap())
        };

        let res = call("application/grpc+proto", Some(&token)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["grpc-status"], "7");
        assert!(res.body().is_empty());
        let res = call("application/grpc", None).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["grpc-status"], "16");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"tollgate\""
        );
        // The same calls as plain HTTP keep the JSON refusals.
        let res = call("application/json", Some(&token)).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers().get("grpc-status").is_none());
        let res = call("application/json", None).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn detects_grpc_content_types() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_grpc(&h)
        };
        assert!(with("application/grpc"));
        assert!(with("application/grpc+proto"));
        assert!(with("Application/GRPC;charset=utf-8"));
        assert!(!with("application/grpc-web"));
        assert!(!with("application/json"));
        assert!(!with("application/grp"));
        assert!(!is_grpc(&HeaderMap::new()));
    }
}
