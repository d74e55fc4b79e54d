//! [`RequireScopesLayer`]: refuse requests whose [`AuthContext`] does not
//! meet a [`Requirement`]. Place it behind an [`AuthLayer`](super::AuthLayer)
//! (in axum: `route_layer`). See the [module docs](super).

use super::future::ResponseFuture;
use super::grpc;
use crate::authenticator::Authenticator;
use crate::context::AuthContext;
use crate::extract::enforce;
use crate::policy::Requirement;
use http::{Request, Response};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Requires scopes of the authenticated caller. See the [module docs](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireScopesLayer {
    requirement: Arc<Requirement>,
}

impl RequireScopesLayer {
    /// Requires `requirement` (see [`policy`](crate::policy)).
    pub fn new(requirement: Requirement) -> Self {
        Self {
            requirement: Arc::new(requirement),
        }
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            requirement: self.requirement.clone(),
        }
    }
}

/// The service built by [`RequireScopesLayer`].
#[derive(Clone, Debug)]
pub struct RequireScopes<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopes<S>
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
        let verdict = enforce(
            ext.get::<AuthContext>(),
            ext.get::<Authenticator>(),
            &self.requirement,
        );
        match verdict {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(err) => ResponseFuture::rejected(grpc::refusal(&err, grpc::is_grpc(req.headers()))),
        }
    }
}
