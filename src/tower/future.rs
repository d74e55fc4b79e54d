//! The response future shared by tollgate's tower services.

use http::Response;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pin_project! {
    /// Response future of [`AuthService`](super::AuthService),
    /// [`RequireScopes`](super::RequireScopes) and
    /// [`GrpcMethodScopes`](super::GrpcMethodScopes).
    ///
    /// Requests decided on the fast path (keys in memory) cost no
    /// allocation; only a request that must wait for a key fetch is boxed.
    #[project = Proj]
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        Inner { #[pin] fut: F },
        // Boxed: a response is larger than most inner futures, and every
        // admitted request's future would be as large as the largest state.
        Rejected { res: Option<Box<Response<B>>> },
        Waiting { fut: BoxFuture<Result<Response<B>, E>> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(fut: F) -> Self {
        Self {
            state: State::Inner { fut },
        }
    }

    pub(crate) fn rejected(res: Response<B>) -> Self {
        Self {
            state: State::Rejected {
                res: Some(Box::new(res)),
            },
        }
    }

    pub(crate) fn waiting(fut: BoxFuture<Result<Response<B>, E>>) -> Self {
        Self {
            state: State::Waiting { fut },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { fut } => fut.poll(cx),
            StateProj::Rejected { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(*res)),
                // Polled after completion: stay pending rather than panic.
                None => Poll::Pending,
            },
            StateProj::Waiting { fut } => fut.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
