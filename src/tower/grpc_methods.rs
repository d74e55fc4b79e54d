//! [`GrpcMethodScopesLayer`]: a scope [`Requirement`] per gRPC method, looked
//! up by the request path (`/package.Service/Method`), deny by default.
//!
//! Place it behind an [`AuthLayer`](super::AuthLayer): it reads the caller's
//! [`AuthContext`] from the request extensions and checks the method's
//! requirement with the same check as [`RequireScopesLayer`](super::RequireScopesLayer)
//! and the extractors. Refusals are answered the gRPC way (see
//! [`grpc`]): a missing context is 16 `UNAUTHENTICATED`, an unmet
//! requirement 7 `PERMISSION_DENIED` with the missing scope in
//! `WWW-Authenticate`.
//!
//! A method that is not in the table is refused with 7 `PERMISSION_DENIED`
//! ([`UnlistedMethods::Deny`], the default), also when no such method exists:
//! the layer runs before tonic's routing, cannot tell a forgotten method from
//! an unknown one, and must not let either through. With
//! [`UnlistedMethods::AllowAuthenticated`] any authenticated caller passes
//! and the router answers 12 `UNIMPLEMENTED` for an unknown method. An
//! unauthenticated caller (an [`AuthLayer::optional`](super::AuthLayer::optional)
//! in front) gets 16 for every method. The table applies to every request
//! by its path; a request that is not gRPC gets the JSON refusal (403/401).
//!
//! Paths are checked when the table is built: each must be `/`, a service
//! name (dot-separated identifiers, the proto package first:
//! `orders.Orders`; a service of a proto file without a package has no dot),
//! `/` and a method identifier. Anything else, or a path listed twice, is a
//! [`ConfigError`].
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use tollgate::policy::scope;
//! use tollgate::tower::{AuthLayer, GrpcMethodScopesLayer};
//! use tollgate::{Authenticator, IssuerConfig};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let secret = "a-very-long-shared-secret-of-32+-bytes";
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://issuer.example").audience("api")
//!         .hmac_secret(secret))
//!     .build()
//!     .unwrap();
//! let methods = GrpcMethodScopesLayer::new()
//!     .method("/orders.Orders/List", scope("orders:read"))?
//!     .method("/orders.Orders/Create", scope("orders:write"))?;
//!
//! let svc = ServiceBuilder::new()
//!     .layer(AuthLayer::required(auth))
//!     .layer(methods)
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
//!     }));
//!
//! // A token with `orders:read` only.
//! # let now = std::time::SystemTime::now()
//! #     .duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
//! # let token = jsonwebtoken::encode(
//! #     &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
//! #     &serde_json::json!({"iss": "https://issuer.example", "aud": "api",
//! #         "sub": "c", "scope": "orders:read", "iat": now, "exp": now + 300}),
//! #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
//! # ).unwrap();
//! let call = |path: &str| {
//!     let req = Request::post(path)
//!         .header("content-type", "application/grpc")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(String::new())
//!         .unwrap();
//!     svc.clone().oneshot(req)
//! };
//!
//! let res = call("/orders.Orders/List").await.unwrap();
//! assert_eq!(res.body(), "ok");
//! // Create needs `orders:write`: PERMISSION_DENIED.
//! let res = call("/orders.Orders/Create").await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.headers()["grpc-status"], "7");
//! // A method the table does not list: denied too.
//! let res = call("/orders.Orders/Delete").await.unwrap();
//! assert_eq!(res.headers()["grpc-status"], "7");
//!
//! // A path that is not `/package.Service/Method` fails when configured.
//! let err = GrpcMethodScopesLayer::new()
//!     .method("orders.Orders/List", scope("orders:read"))
//!     .unwrap_err();
//! assert!(err.to_string().contains("not a gRPC method path"));
//! # Ok::<(), tollgate::ConfigError>(())
//! # }).unwrap();
//! ```

use super::future::ResponseFuture;
use super::grpc;
use crate::authenticator::Authenticator;
use crate::config::ConfigError;
use crate::context::AuthContext;
use crate::error::AuthError;
use crate::extract::{authenticated, enforce};
use crate::policy::Requirement;
use http::{Request, Response};
use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// What [`GrpcMethodScopesLayer`] does with a method its table does not
/// list. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnlistedMethods {
    /// Refuse with 7 `PERMISSION_DENIED` (403 `insufficient_scope` for a
    /// request that is not gRPC). The default: deny by default.
    #[default]
    Deny,
    /// Let any authenticated caller through (the router then answers 12
    /// `UNIMPLEMENTED` for a method that does not exist).
    AllowAuthenticated,
}

/// The method table shared by a layer and the services it builds.
#[derive(Clone, Debug, Default)]
struct MethodTable {
    methods: HashMap<Box<str>, Requirement>,
    unlisted: UnlistedMethods,
}

impl MethodTable {
    /// The verdict for a call of `path` by `ctx` (401 if unauthenticated,
    /// 403 if the method's requirement is unmet or it is not listed under
    /// [`UnlistedMethods::Deny`]).
    fn check(
        &self,
        path: &str,
        ctx: Option<&AuthContext>,
        auth: Option<&Authenticator>,
    ) -> Result<(), AuthError> {
        if let Some(requirement) = self.methods.get(path) {
            return enforce(ctx, auth, requirement);
        }
        let ctx = authenticated(ctx, auth)?;
        match self.unlisted {
            UnlistedMethods::AllowAuthenticated => Ok(()),
            UnlistedMethods::Deny => Err(AuthError::forbidden(
                "this method is not open to any caller",
                ctx.error_settings(),
            )),
        }
    }
}

/// Requires a scope per gRPC method. See the [module docs](self) for an
/// example.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct GrpcMethodScopesLayer {
    table: Arc<MethodTable>,
}

impl GrpcMethodScopesLayer {
    /// An empty table: every method is refused until listed with
    /// [`method`](Self::method).
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `requirement` (see [`policy`](crate::policy)) for the method
    /// at `path`, `/package.Service/Method` as gRPC sends it.
    ///
    /// # Errors
    ///
    /// When `path` is not a gRPC method path or is already listed.
    pub fn method(mut self, path: &str, requirement: Requirement) -> Result<Self, ConfigError> {
        check_method_path(path).map_err(|why| {
            ConfigError::new(format!(
                "gRPC method scopes: {path:?} is not a gRPC method path \
                 (/package.Service/Method): {why}"
            ))
        })?;
        let table = Arc::make_mut(&mut self.table);
        if table.methods.contains_key(path) {
            return Err(ConfigError::new(format!(
                "gRPC method scopes: {path:?} is listed more than once"
            )));
        }
        table.methods.insert(path.into(), requirement);
        Ok(self)
    }

    /// Lists several methods at once, as [`method`](Self::method) does.
    ///
    /// # Errors
    ///
    /// At the first path that is not a gRPC method path or is already listed.
    pub fn methods<P: AsRef<str>>(
        self,
        table: impl IntoIterator<Item = (P, Requirement)>,
    ) -> Result<Self, ConfigError> {
        table
            .into_iter()
            .try_fold(self, |layer, (path, requirement)| {
                layer.method(path.as_ref(), requirement)
            })
    }

    /// Sets what happens to a method the table does not list (default
    /// [`UnlistedMethods::Deny`]).
    pub fn unlisted(mut self, policy: UnlistedMethods) -> Self {
        Arc::make_mut(&mut self.table).unlisted = policy;
        self
    }
}

impl<S> Layer<S> for GrpcMethodScopesLayer {
    type Service = GrpcMethodScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMethodScopes {
            inner,
            table: self.table.clone(),
        }
    }
}

/// The service built by [`GrpcMethodScopesLayer`]. See the [module
/// docs](self).
#[derive(Clone, Debug)]
pub struct GrpcMethodScopes<S> {
    inner: S,
    table: Arc<MethodTable>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcMethodScopes<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let ext = req.extensions();
        let verdict = self.table.check(
            req.uri().path(),
            ext.get::<AuthContext>(),
            ext.get::<Authenticator>(),
        );
        match verdict {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(err) => ResponseFuture::rejected(grpc::refusal(&err, grpc::is_grpc(req.headers()))),
        }
    }
}

/// Checks that `path` is `/Service/Method`, the service a dot-separated
/// list of identifiers and the method one identifier.
fn check_method_path(path: &str) -> Result<(), &'static str> {
    let rest = path.strip_prefix('/').ok_or("it must start with `/`")?;
    let (service, method) = rest
        .split_once('/')
        .ok_or("it needs a service and a method")?;
    if service.is_empty() {
        return Err("the service name is empty");
    }
    if !service.split('.').all(is_identifier) {
        return Err("the service name must be dot-separated identifiers");
    }
    if method.contains('/') {
        return Err("it has more than two segments");
    }
    if !is_identifier(method) {
        return Err("the method name must be an identifier");
    }
    Ok(())
}

/// A protobuf identifier: a letter or `_`, then letters, digits or `_`.
fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::scope;

    #[test]
    fn method_paths_are_checked_when_configured() {
        for good in [
            "/orders.Orders/List",
            "/acme.shop.v1.Orders/CreateOrder",
            "/Orders/List",
            "/_p.S_2/M_3",
        ] {
            assert!(check_method_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/",
            "orders.Orders/List",
            "/orders.Orders",
            "/orders.Orders/",
            "//List",
            "/orders..Orders/List",
            "/orders.Orders./List",
            "/orders.Orders/List/",
            "/orders.Orders/List/More",
            "/orders.Orders/List?x=1",
            "/orders.Orders/*",
            "/orders.Orders/ List",
            "/1orders.Orders/List",
            "/orders.Orders/9List",
        ] {
            let err = GrpcMethodScopesLayer::new()
                .method(bad, scope("orders:read"))
                .unwrap_err();
            assert!(
                err.to_string().contains("not a gRPC method path"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_method_listed_twice_is_a_config_error() {
        let err = GrpcMethodScopesLayer::new()
            .methods([
                ("/orders.Orders/List", scope("orders:read")),
                ("/orders.Orders/List", scope("orders:write")),
            ])
            .unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
    }

    #[test]
    fn unlisted_methods_are_denied_by_default() {
        let layer = GrpcMethodScopesLayer::new();
        assert_eq!(layer.table.unlisted, UnlistedMethods::Deny);
        let layer = layer.unlisted(UnlistedMethods::AllowAuthenticated);
        assert_eq!(layer.table.unlisted, UnlistedMethods::AllowAuthenticated);
    }

    #[cfg(any(feature = "aws_lc_rs", feature = "rust_crypto"))]
    #[tokio::test]
    async fn each_method_gets_its_requirement() {
        use crate::tower::AuthLayer;
        use http::StatusCode;
        use tower::{ServiceBuilder, ServiceExt, service_fn};
        let (auth, token) = super::super::test_support::auth_and_token("orders:read");
        let methods = GrpcMethodScopesLayer::new()
            .method("/orders.Orders/List", scope("orders:read"))
            .unwrap()
            .method("/orders.Orders/Create", scope("orders:write"))
            .unwrap();
        let svc = |methods: GrpcMethodScopesLayer, optional: bool| {
            let auth_layer = if optional {
                AuthLayer::optional(auth.clone())
            } else {
                AuthLayer::required(auth.clone())
            };
            ServiceBuilder::new()
                .layer(auth_layer)
                .layer(methods)
                .service(service_fn(|_req: Request<String>| async {
                    Ok::<_, std::convert::Infallible>(Response::new(String::from("ok")))
                }))
        };
        let call = |svc, path: &'static str, grpc: bool, token: Option<String>| {
            let ct = if grpc {
                "application/grpc"
            } else {
                "application/json"
            };
            let mut req = Request::post(path).header("content-type", ct);
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            ServiceExt::oneshot(svc, req.body(String::new()).unwrap())
        };
        let grpc_status = |res: &Response<String>| {
            res.headers()
                .get("grpc-status")
                .map(|v| v.to_str().unwrap().to_owned())
        };

        let deny = svc(methods.clone(), false);
        let t = || Some(token.clone());
        let res = call(deny.clone(), "/orders.Orders/List", true, t())
            .await
            .unwrap();
        assert_eq!((res.body().as_str(), grpc_status(&res)), ("ok", None));
        let res = call(deny.clone(), "/orders.Orders/Create", true, t())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(grpc_status(&res).as_deref(), Some("7"));
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("scope=\"orders:write\"")
        );
        let res = call(deny.clone(), "/orders.Orders/Delete", true, t())
            .await
            .unwrap();
        assert_eq!(grpc_status(&res).as_deref(), Some("7"));
        assert_eq!(
            res.headers()["grpc-message"],
            "insufficient_scope: this method is not open to any caller"
        );
        // Not gRPC: the JSON refusal.
        let res = call(deny.clone(), "/orders.Orders/Delete", false, t())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);

        // Allow-authenticated: unlisted methods reach the router...
        let allow = svc(
            methods
                .clone()
                .unlisted(UnlistedMethods::AllowAuthenticated),
            true,
        );
        let res = call(allow.clone(), "/orders.Orders/Delete", true, t())
            .await
            .unwrap();
        assert_eq!(res.body(), "ok");
        // ...listed ones keep their requirement...
        let res = call(allow.clone(), "/orders.Orders/Create", true, t())
            .await
            .unwrap();
        assert_eq!(grpc_status(&res).as_deref(), Some("7"));
        // ...and an anonymous caller (optional auth) is UNAUTHENTICATED.
        for path in ["/orders.Orders/Delete", "/orders.Orders/List"] {
            let res = call(allow.clone(), path, true, None).await.unwrap();
            assert_eq!(grpc_status(&res).as_deref(), Some("16"), "{path}");
        }
        let anon_deny = svc(methods, true);
        let res = call(anon_deny, "/orders.Orders/Delete", true, None)
            .await
            .unwrap();
        assert_eq!(grpc_status(&res).as_deref(), Some("16"));
    }
}
