//! tower middleware: [`AuthLayer`] authenticates, [`RequireScopesLayer`]
//! enforces scopes. Generic over request and response bodies (the response
//! body must be `From<String>` for the JSON error body), so it works with
//! axum, hyper and tonic stacks alike.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tollgate::{Authenticator, IssuerConfig, policy::scope};
//! use tollgate::tower::{AuthLayer, RequireScopesLayer};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://issuer.example").audience("api")
//!         .hmac_secret("a-very-long-shared-secret-of-32+-bytes"))
//!     .build()
//!     .unwrap();
//!
//! let svc = ServiceBuilder::new()
//!     .layer(AuthLayer::required(auth))
//!     .layer(RequireScopesLayer::new(scope("orders:read")))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("orders")))
//!     }));
//!
//! // No credentials: 401 with a bare `Bearer realm` challenge.
//! let res = svc.oneshot(Request::new(String::new())).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"tollgate\"");
//! # });
//! ```
//!
//! Requests the engine can decide from keys in memory are answered without
//! allocating a boxed future; only a request that must wait for a key fetch
//! (first use, or an unknown `kid`) is boxed. CORS preflights pass
//! unauthenticated unless configured otherwise.
//!
//! gRPC requests (`content-type: application/grpc…`) are refused the gRPC
//! way, HTTP 200 with `grpc-status` 16 `UNAUTHENTICATED`, 7
//! `PERMISSION_DENIED`, …: see [`grpc`]. Handlers, tonic's included, read the
//! caller's [`AuthContext`](crate::AuthContext) from the request extensions.
//! [`GrpcMethodScopesLayer`] sets a scope requirement per gRPC method
//! (`/package.Service/Method`), deny by default: see [`grpc_methods`].

mod auth;
mod future;
pub mod grpc;
pub mod grpc_methods;
mod require;

/// An HS256 authenticator and a token of it with `scope`, for the unit
/// tests of the tower services.
#[cfg(all(test, any(feature = "aws_lc_rs", feature = "rust_crypto")))]
mod test_support {
    pub(super) fn auth_and_token(scope: &str) -> (crate::Authenticator, String) {
        let secret = "a-very-long-shared-secret-of-32+-bytes";
        let auth = crate::Authenticator::builder()
            .issuer(
                crate::IssuerConfig::new("https://issuer.example")
                    .audience("api")
                    .hmac_secret(secret),
            )
            .build()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({
                "iss": "https://issuer.example", "aud": "api", "sub": "c",
                "scope": scope, "iat": now, "exp": now + 300,
            }),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        (auth, token)
    }
}

pub use auth::{AuthLayer, AuthService};
pub use future::ResponseFuture;
pub use grpc_methods::{GrpcMethodScopes, GrpcMethodScopesLayer, UnlistedMethods};
pub use require::{RequireScopes, RequireScopesLayer};
