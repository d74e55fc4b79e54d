//! actix-web integration: [`AuthMiddleware`] (a `Transform`), extractors
//! ([`Auth`], `Option<Auth>`, [`Customer`], [`Require`]), `ResponseError` for
//! [`AuthError`] (same status, `WWW-Authenticate` and JSON body as the axum
//! side), and [`ScopeGuard`] for routing by scope.
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use tollgate::actix::{AuthMiddleware, Auth};
//! use tollgate::{Authenticator, IssuerConfig, policy::scope};
//!
//! async fn whoami(auth: Auth) -> HttpResponse {
//!     HttpResponse::Ok().json(&*auth)
//! }
//!
//! async fn create_order(auth: Auth) -> Result<HttpResponse, tollgate::AuthError> {
//!     auth.require(&scope("orders:write"))?;
//!     Ok(HttpResponse::Created().finish())
//! }
//!
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://issuer.example").audience("api")
//!         .hmac_secret("a-very-long-shared-secret-of-32+-bytes"))
//!     .build()
//!     .unwrap();
//! let app = App::new()
//!     .wrap(AuthMiddleware::required(auth))
//!     .route("/whoami", web::get().to(whoami))
//!     .route("/orders", web::post().to(create_order));
//! # let _ = app;
//! ```
//!
//! The adapter only translates: every decision is the engine's
//! ([`Authenticator::decide`]).

pub use crate::extract::{Auth, Customer, Require};

use crate::authenticator::{Attempt, Authenticator, Decision, Mode};
use crate::context::AuthContext;
use crate::credentials::RequestParts;
use crate::error::AuthError;
use crate::extract::{self, ScopeRequirement};
use crate::policy::Requirement;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::guard::{Guard, GuardContext};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

impl RequestParts for ServiceRequest {
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
        self.request().visit_header(name, visit);
    }
    fn method(&self) -> &str {
        RequestParts::method(self.request())
    }
    fn query(&self) -> Option<&str> {
        RequestParts::query(self.request())
    }
    fn path(&self) -> Option<&str> {
        RequestParts::path(self.request())
    }
    fn authority(&self) -> Option<&str> {
        RequestParts::authority(self.request())
    }
    fn client_certificate(&self) -> Option<&crate::mtls::ClientCertificate> {
        RequestParts::client_certificate(self.request())
    }
}

impl RequestParts for HttpRequest {
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
        for v in self.headers().get_all(name) {
            visit(v.as_bytes());
        }
    }
    fn method(&self) -> &str {
        self.method().as_str()
    }
    fn query(&self) -> Option<&str> {
        Some(self.query_string()).filter(|q| !q.is_empty())
    }
    fn path(&self) -> Option<&str> {
        Some(self.uri().path())
    }
    fn authority(&self) -> Option<&str> {
        self.uri().authority().map(|a| a.as_str())
    }
    /// From the connection data (`HttpServer::on_connect`); request
    /// extensions cannot lend a reference.
    fn client_certificate(&self) -> Option<&crate::mtls::ClientCertificate> {
        self.conn_data()
    }
}

/// Authenticates every request with an [`Authenticator`]. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthMiddleware {
    auth: Authenticator,
    mode: Mode,
}

impl AuthMiddleware {
    /// Refuses requests without credentials (401).
    pub fn required(auth: Authenticator) -> Self {
        Self {
            auth,
            mode: Mode::Required,
        }
    }

    /// Lets requests without credentials through; present credentials must
    /// still verify.
    pub fn optional(auth: Authenticator) -> Self {
        Self {
            auth,
            mode: Mode::Optional,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AuthMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddlewareService {
            service: Rc::new(service),
            auth: self.auth.clone(),
            mode: self.mode,
        }))
    }
}

/// The service built by [`AuthMiddleware`].
#[doc(hidden)]
#[derive(Debug)]
pub struct AuthMiddlewareService<S> {
    service: Rc<S>,
    auth: Authenticator,
    mode: Mode,
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

fn admit(req: &ServiceRequest, decision: Decision, auth: &Authenticator) {
    match decision {
        Decision::Authenticated(ctx) => {
            req.extensions_mut().insert(ctx);
        }
        _ => {
            req.extensions_mut().insert(auth.clone());
        }
    }
}

fn reject<B>(req: ServiceRequest, err: &AuthError) -> ServiceResponse<EitherBody<B>> {
    req.into_response(err.error_response())
        .map_into_right_body()
}

impl<S, B> Service<ServiceRequest> for AuthMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        match self.auth.try_decide(&req, self.mode) {
            Attempt::Done(Ok(decision)) => {
                admit(&req, decision, &self.auth);
                let fut = self.service.call(req);
                Box::pin(async move { fut.await.map(ServiceResponse::map_into_left_body) })
            }
            Attempt::Done(Err(err)) => Box::pin(ready(Ok(reject(req, &err)))),
            Attempt::NeedsAsync => {
                let service = self.service.clone();
                let auth = self.auth.clone();
                let mode = self.mode;
                Box::pin(async move {
                    match auth.decide_async(&req, mode).await {
                        Ok(decision) => {
                            admit(&req, decision, &auth);
                            service
                                .call(req)
                                .await
                                .map(ServiceResponse::map_into_left_body)
                        }
                        Err(err) => Ok(reject(req, &err)),
                    }
                })
            }
        }
    }
}

fn found(req: &HttpRequest) -> (Option<AuthContext>, Option<Authenticator>) {
    let ext = req.extensions();
    (
        ext.get::<AuthContext>().cloned(),
        ext.get::<Authenticator>().cloned(),
    )
}

impl FromRequest for Auth {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (ctx, auth) = found(req);
        ready(extract::authenticated(ctx.as_ref(), auth.as_ref()).map(Auth))
    }
}

impl FromRequest for Customer {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (ctx, auth) = found(req);
        ready(extract::customer(ctx.as_ref(), auth.as_ref()))
    }
}

impl<R: ScopeRequirement> FromRequest for Require<R> {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        ready(
            extract::enforce(
                ext.get::<AuthContext>(),
                ext.get::<Authenticator>(),
                R::requirement(),
            )
            .map(|()| Require::new()),
        )
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        // Translate the engine's `http` 1.x response head into actix's.
        let res: http::Response<String> = self.to_response();
        let mut builder = HttpResponse::build(self.status_code());
        for (name, value) in res.headers() {
            builder.append_header((name.as_str(), value.as_bytes()));
        }
        builder.body(res.into_body())
    }
}

/// Routes by scope: matches only when the authenticated caller meets the
/// requirement (otherwise the router moves on, typically to a 404).
#[derive(Debug, Clone)]
pub struct ScopeGuard(Requirement);

impl ScopeGuard {
    /// A guard for `requirement`.
    pub fn new(requirement: Requirement) -> Self {
        Self(requirement)
    }
}

impl Guard for ScopeGuard {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        ctx.req_data()
            .get::<AuthContext>()
            .is_some_and(|c| c.satisfies(&self.0))
    }
}
