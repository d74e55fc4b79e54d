//! Helpers for your own tests (feature `test-util`): a throwaway issuer with
//! an [`Authenticator`](crate::Authenticator) that trusts it, token builders
//! (access tokens, customer-token pairs, sessions, and their expired and
//! tampered variants), and functions that attach credentials to requests.
//!
//! Nothing here touches the network: the issuer signs with a random HS256
//! secret that lives only in this process, configured as a static key.
//!
//! ```
//! use tollgate::testing::{TestIssuer, with_bearer};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let issuer = TestIssuer::new();
//! let auth = issuer.authenticator();
//!
//! let token = issuer.access_token().client("app").scopes("orders:read").build();
//! let ctx = auth.verify_access_token(&token).await.unwrap();
//! assert_eq!(ctx.client_id(), Some("app"));
//!
//! let expired = issuer.access_token().expired().build();
//! let err = auth.verify_access_token(&expired).await.unwrap_err();
//! assert_eq!(err.kind(), tollgate::AuthErrorKind::Expired);
//!
//! let tampered = issuer.access_token().tampered().build();
//! assert_eq!(auth.verify_access_token(&tampered).await.unwrap_err().status(), 401);
//!
//! // Attach a token to any `http::Request`.
//! let req = with_bearer(http::Request::new(()), &token);
//! assert!(req.headers()["authorization"].to_str().unwrap().starts_with("Bearer "));
//! # });
//! ```
//!
//! With axum, `axum_request` builds a request for `Router::oneshot`; with
//! actix-web (feature `actix`), `actix_request` fills a
//! `actix_web::test::TestRequest`.
//!
//! The helpers panic on failure (a signing error, a failing session store),
//! the way assertions do: they are for tests, not for production paths.

// Test helpers report failure by panicking, like `assert!`: a test calling
// them wants a token, not a `Result` to unwrap.
#![allow(clippy::expect_used, clippy::panic)]

mod issuer;
mod request;
mod tokens;

pub use issuer::TestIssuer;
#[cfg(feature = "actix")]
pub use request::actix_request;
#[cfg(feature = "axum")]
pub use request::axum_request;
pub use request::{
    Credential, with_bearer, with_client_certificate, with_credential, with_customer_token,
    with_session,
};
pub use tokens::{TokenBuilder, TokenPair, TokenPairBuilder, tamper};
