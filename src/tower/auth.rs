//! [`AuthLayer`]: authenticate every request and put the [`AuthContext`] in
//! its extensions. See the [module docs](super) for an example.

use super::future::ResponseFuture;
use super::grpc;
use crate::authenticator::{Attempt, Authenticator, Decision, Mode};
use crate::context::AuthContext;
use http::{Request, Response};
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Authenticates requests with an [`Authenticator`]. See the [module docs](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthLayer {
    auth: Authenticator,
    mode: Mode,
}

impl AuthLayer {
    /// Refuses requests without credentials (401).
    pub fn required(auth: Authenticator) -> Self {
        Self {
            auth,
            mode: Mode::Required,
        }
    }

    /// Lets requests without credentials through (handlers decide);
    /// credentials that are present must still verify.
    pub fn optional(auth: Authenticator) -> Self {
        Self {
            auth,
            mode: Mode::Optional,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
            mode: self.mode,
        }
    }
}

/// The service built by [`AuthLayer`]. See the [module docs](super).
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    auth: Authenticator,
    mode: Mode,
}

/// Records the decision in the request's extensions.
fn admit<B>(req: &mut Request<B>, decision: Decision, auth: &Authenticator) {
    match decision {
        Decision::Authenticated(ctx) => {
            req.extensions_mut().insert::<AuthContext>(ctx);
        }
        // Extractors use the authenticator to build a properly-realmed 401.
        _ => {
            req.extensions_mut().insert(auth.clone());
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.auth.try_decide(&req, self.mode) {
            Attempt::Done(Ok(decision)) => {
                admit(&mut req, decision, &self.auth);
                ResponseFuture::inner(self.inner.call(req))
            }
            // Whether the request is gRPC matters only for a refusal: the
            // `content-type` lookup is not made for admitted requests.
            Attempt::Done(Err(err)) => {
                ResponseFuture::rejected(grpc::refusal(&err, grpc::is_grpc(req.headers())))
            }
            Attempt::NeedsAsync => {
                let grpc = grpc::is_grpc(req.headers());
                // A key fetch or session lookup must be awaited. The service that
                // was polled ready goes into the future; a
                // fresh clone stays behind (tower's clone-and-swap).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let auth = self.auth.clone();
                let mode = self.mode;
                // Only the head is borrowed across the await, so the body
                // need not be `Sync`.
                let (parts, body) = req.into_parts();
                ResponseFuture::waiting(Box::pin(async move {
                    match auth.decide_async(&parts, mode).await {
                        Ok(decision) => {
                            let mut req = Request::from_parts(parts, body);
                            admit(&mut req, decision, &auth);
                            inner.call(req).await
                        }
                        Err(err) => Ok(grpc::refusal(&err, grpc)),
                    }
                }))
            }
        }
    }
}
