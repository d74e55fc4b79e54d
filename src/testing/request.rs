//! Attaching credentials to requests: `http::Request` for tower and axum,
//! `actix_web::test::TestRequest` for actix-web. Header names are the
//! defaults (`Authorization`, `X-Customer-Token`, `X-Session-Id`).

use super::tokens::TokenPair;
use crate::session::SessionId;
use http::HeaderValue;

/// The default header carrying customer tokens.
const CUSTOMER_HEADER: &str = "x-customer-token";
/// The default header carrying session IDs.
const SESSION_HEADER: &str = "x-session-id";

/// The credentials of a test request, for [`with_credential`], `axum_request` and
/// `actix_request`. Converts from a token (`&str`, `String`: a bearer
/// token), a [`TokenPair`] (both headers) or a [`SessionId`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credential {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// The customer-token header alone.
    CustomerToken(String),
    /// An access token and a customer token.
    Pair(TokenPair),
    /// The session header.
    Session(String),
}

impl Credential {
    /// The headers (name, value) this credential becomes, for any client.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::None => Vec::new(),
            Self::Bearer(t) => vec![("authorization", format!("Bearer {t}"))],
            Self::CustomerToken(t) => vec![(CUSTOMER_HEADER, t.clone())],
            Self::Pair(p) => vec![
                ("authorization", format!("Bearer {}", p.access)),
                (CUSTOMER_HEADER, p.customer.clone()),
            ],
            Self::Session(s) => vec![(SESSION_HEADER, s.clone())],
        }
    }
}

impl From<&str> for Credential {
    fn from(token: &str) -> Self {
        Self::Bearer(token.to_owned())
    }
}

impl From<String> for Credential {
    fn from(token: String) -> Self {
        Self::Bearer(token)
    }
}

impl From<&String> for Credential {
    fn from(token: &String) -> Self {
        Self::Bearer(token.clone())
    }
}

impl From<TokenPair> for Credential {
    fn from(pair: TokenPair) -> Self {
        Self::Pair(pair)
    }
}

impl From<&TokenPair> for Credential {
    fn from(pair: &TokenPair) -> Self {
        Self::Pair(pair.clone())
    }
}

impl From<&SessionId> for Credential {
    fn from(id: &SessionId) -> Self {
        Self::Session(id.as_str().to_owned())
    }
}

impl From<SessionId> for Credential {
    fn from(id: SessionId) -> Self {
        Self::Session(id.as_str().to_owned())
    }
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("a test credential must be a valid header value")
}

fn insert<B>(mut req: http::Request<B>, name: &'static str, value: &str) -> http::Request<B> {
    req.headers_mut().insert(name, header_value(value));
    req
}

/// Sets `credential`'s headers on any `http::Request` (replacing same-named ones).
///
/// # Panics
///
/// If a credential is not a valid header value.
pub fn with_credential<B>(
    mut req: http::Request<B>,
    credential: impl Into<Credential>,
) -> http::Request<B> {
    for (name, value) in credential.into().headers() {
        req.headers_mut().insert(name, header_value(&value));
    }
    req
}

/// Sets `Authorization: Bearer <token>` (replacing any `Authorization`).
///
/// # Panics
///
/// If `token` is not a valid header value.
pub fn with_bearer<B>(req: http::Request<B>, token: &str) -> http::Request<B> {
    insert(req, "authorization", &format!("Bearer {token}"))
}

/// Sets the customer-token header (`X-Customer-Token`).
///
/// # Panics
///
/// If `token` is not a valid header value.
pub fn with_customer_token<B>(req: http::Request<B>, token: &str) -> http::Request<B> {
    insert(req, CUSTOMER_HEADER, token)
}

/// Sets the session header (`X-Session-Id`).
pub fn with_session<B>(req: http::Request<B>, id: &SessionId) -> http::Request<B> {
    insert(req, SESSION_HEADER, id.as_str())
}

/// Inserts the client certificate `der` into the request extensions, as an
/// app that terminates TLS does after the handshake (see [`crate::mtls`]).
pub fn with_client_certificate<B>(mut req: http::Request<B>, der: &[u8]) -> http::Request<B> {
    req.extensions_mut()
        .insert(crate::mtls::ClientCertificate::from_der(der));
    req
}

/// A request with an empty body and `credential`, ready for axum's
/// `Router::oneshot` (feature `axum`).
///
/// ```
/// use tollgate::testing::{TestIssuer, axum_request};
///
/// let issuer = TestIssuer::new();
/// let token = issuer.access_token().scopes("orders:read").build();
/// let req = axum_request(http::Method::GET, "/orders", &token);
/// // router.oneshot(req).await
/// # assert!(req.headers().contains_key("authorization"));
/// ```
///
/// # Panics
///
/// If `uri` or a credential is invalid.
#[cfg(feature = "axum")]
pub fn axum_request(
    method: http::Method,
    uri: &str,
    credential: impl Into<Credential>,
) -> http::Request<axum_core::body::Body> {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(axum_core::body::Body::empty())
        .expect("a test request must have a valid URI");
    with_credential(req, credential)
}

/// Adds `credential`'s headers to an actix-web test request (feature `actix`).
///
/// ```
/// use actix_web::test::TestRequest;
/// use tollgate::testing::{TestIssuer, actix_request};
///
/// let issuer = TestIssuer::new();
/// let token = issuer.access_token().build();
/// let req = actix_request(TestRequest::get().uri("/whoami"), &token).to_http_request();
/// assert!(req.headers().contains_key("authorization"));
/// ```
#[cfg(feature = "actix")]
pub fn actix_request(
    req: actix_web::test::TestRequest,
    credential: impl Into<Credential>,
) -> actix_web::test::TestRequest {
    credential
        .into()
        .headers()
        .into_iter()
        .fold(req, |req, (name, value)| req.insert_header((name, value)))
}
