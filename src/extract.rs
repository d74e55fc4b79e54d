//! Framework-free extractor types: [`Auth`], [`Customer`], [`Require`].
//!
//! Each web-framework adapter implements its own extractor traits for these
//! types by calling the functions here, so every framework rejects the same
//! requests with the same errors. With both `axum` and `actix` enabled, one
//! type works in both.

use crate::authenticator::Authenticator;
use crate::context::AuthContext;
use crate::error::AuthError;
use crate::policy::Requirement;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// The authenticated caller. Rejects with 401 when the request was not
/// authenticated by tollgate's middleware; `Option<Auth>` yields `None` for
/// anonymous requests (optional mode).
#[derive(Clone, Debug)]
pub struct Auth(pub AuthContext);

impl Deref for Auth {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

/// A caller bound to a customer (customer token or bound session). Rejects
/// with 403 when the caller is authenticated but acts for no customer.
#[derive(Clone, Debug)]
pub struct Customer(pub AuthContext);

impl Customer {
    /// The customer id.
    pub fn id(&self) -> &str {
        self.0.customer().unwrap_or_default()
    }
}

impl Deref for Customer {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

/// A requirement known at compile time; see [`scopes!`](crate::scopes) and
/// [`require`](crate::require).
pub trait ScopeRequirement: 'static {
    /// The requirement (built once).
    fn requirement() -> &'static Requirement;
}

/// An extractor that enforces `R` and yields nothing: a handler's signature
/// shows what it requires (`async fn create(_: Require<OrdersWrite>, ...)`).
pub struct Require<R>(PhantomData<fn() -> R>);

impl<R> Clone for Require<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Require<R> {}

impl<R> fmt::Debug for Require<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Require")
    }
}

impl<R> Require<R> {
    #[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

/// The request's context, or the 401 to answer with (using the
/// authenticator's realm when the middleware left one behind).
#[cfg_attr(not(any(feature = "tower", feature = "actix")), allow(dead_code))]
pub(crate) fn authenticated(
    ctx: Option<&AuthContext>,
    auth: Option<&Authenticator>,
) -> Result<AuthContext, AuthError> {
    match ctx {
        Some(ctx) => Ok(ctx.clone()),
        None => Err(match auth {
            Some(auth) => auth.missing_credentials(),
            None => {
                tracing::error!(
                    "tollgate: extractor used on a route without tollgate's middleware"
                );
                AuthError::missing()
            }
        }),
    }
}

/// Checks `requirement` for the request (401 if unauthenticated, 403 if unmet).
#[cfg_attr(not(any(feature = "tower", feature = "actix")), allow(dead_code))]
pub(crate) fn enforce(
    ctx: Option<&AuthContext>,
    auth: Option<&Authenticator>,
    requirement: &Requirement,
) -> Result<(), AuthError> {
    authenticated(ctx, auth)?.require(requirement)
}

#[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
pub(crate) fn customer(
    ctx: Option<&AuthContext>,
    auth: Option<&Authenticator>,
) -> Result<Customer, AuthError> {
    let ctx = authenticated(ctx, auth)?;
    ctx.require(&Requirement::Customer)?;
    Ok(Customer(ctx))
}
