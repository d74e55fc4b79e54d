//! axum integration: extractors ([`Auth`], `Option<Auth>`, [`Customer`],
//! [`Require`]), `IntoResponse` for [`AuthError`], and [`require_layer`] for
//! route layers. Everything an axum app needs is here, under one path: the
//! layer ([`AuthLayer`]) and the requirements ([`scope`], [`customer`],
//! [`all`], [`any`]) are re-exported.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tollgate::{Authenticator, IssuerConfig};
//! use tollgate::axum::{Auth, AuthLayer, require_layer, scope};
//!
//! async fn whoami(Auth(ctx): Auth) -> String {
//!     ctx.client_id().unwrap_or("?").to_owned()
//! }
//!
//! async fn create_order(auth: Auth) -> Result<&'static str, tollgate::AuthError> {
//!     auth.require(&scope("orders:write"))?; // or as a route layer, below
//!     Ok("created")
//! }
//!
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://issuer.example").audience("api")
//!         .hmac_secret("a-very-long-shared-secret-of-32+-bytes"))
//!     .build()
//!     .unwrap();
//! let app: Router = Router::new()
//!     .route("/whoami", get(whoami))
//!     .route("/orders", get(|| async { "orders" }).route_layer(require_layer(scope("orders:read"))))
//!     .route("/orders/new", axum::routing::post(create_order))
//!     .layer(AuthLayer::required(auth));
//! # let _ = app;
//! ```

pub use crate::extract::{Auth, Customer, Require};
pub use crate::policy::{Requirement, all, any, customer, scope};
pub use crate::tower::{AuthLayer, RequireScopesLayer};

use crate::authenticator::Authenticator;
use crate::context::AuthContext;
use crate::error::AuthError;
use crate::extract::{self, ScopeRequirement};
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use std::convert::Infallible;

fn found(parts: &Parts) -> (Option<&AuthContext>, Option<&Authenticator>) {
    (
        parts.extensions.get::<AuthContext>(),
        parts.extensions.get::<Authenticator>(),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (ctx, auth) = found(parts);
        extract::authenticated(ctx, auth).map(Auth)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Auth {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        // Malformed or invalid credentials never reach the handler: the
        // middleware refused them. Absent means anonymous.
        Ok(parts.extensions.get::<AuthContext>().cloned().map(Auth))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Customer {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (ctx, auth) = found(parts);
        extract::customer(ctx, auth)
    }
}

impl<S: Send + Sync, R: ScopeRequirement> FromRequestParts<S> for Require<R> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (ctx, auth) = found(parts);
        extract::enforce(ctx, auth, R::requirement()).map(|()| Require::new())
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        self.to_response::<axum_core::body::Body>()
    }
}

/// A route layer enforcing `requirement`; use with `route_layer`. (Named
/// apart from the `#[tollgate::require]` attribute, which guards one handler.)
pub fn require_layer(requirement: Requirement) -> RequireScopesLayer {
    RequireScopesLayer::new(requirement)
}
