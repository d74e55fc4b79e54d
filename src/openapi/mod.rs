//! OpenAPI security from route requirements: the security schemes of the
//! configured credential kinds, and per operation the scopes it needs.
//!
//! One route table drives both the layer and the document, so they cannot
//! drift:
//!
//! ```
//! use http::Method;
//! use tollgate::openapi::SecuritySchemes;
//! use tollgate::policy::{Requirement, any, scope};
//! use tollgate::{AuthConfig, IssuerConfig};
//! use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
//!
//! let routes: Vec<(Method, &str, Option<Requirement>)> = vec![
//!     (Method::GET, "/orders", Some(scope("orders:read"))),
//!     (Method::POST, "/orders", Some(scope("orders:write"))),
//!     (Method::GET, "/reports", Some(any([scope("orders:read"), scope("admin:read")]))),
//!     (Method::GET, "/health", None),
//! ];
//! // Each requirement also goes to `tollgate::axum::require_layer` (axum's
//! // `route_layer`) for its route.
//!
//! let config = AuthConfig::default()
//!     .with_issuer(IssuerConfig::new("https://auth.example.com/").audience("orders-api"));
//! let schemes = SecuritySchemes::from_config(&config)
//!     .token_url("https://auth.example.com/oauth/token")
//!     .scope_description("orders:read", "Read orders");
//! let mut doc = OpenApiBuilder::new()
//!     .info(InfoBuilder::new().title("Orders").version("1.0.0"))
//!     .build();
//! schemes.apply(&mut doc, routes.iter().map(|(m, p, r)| (m.clone(), *p, r.as_ref())))?;
//!
//! let json = serde_json::to_value(&doc)?;
//! let flow = &json["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
//! assert_eq!(flow["tokenUrl"], "https://auth.example.com/oauth/token");
//! assert_eq!(flow["scopes"]["orders:read"], "Read orders");
//! // Entries are alternatives (OR); the scopes of one entry are all needed (AND).
//! let reports = &json["paths"]["/reports"]["get"]["security"];
//! assert!(reports.as_array().unwrap().contains(&serde_json::json!({"oauth2": ["admin:read"]})));
//! assert!(json["paths"]["/health"]["get"].get("security").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A `scopes! {}` type gives its requirement through
//! [`ScopeRequirement::requirement`](crate::ScopeRequirement::requirement)
//! (`OrdersWrite::requirement().clone()`), so a table can name the same
//! types the handlers' `Require<T>` extractors use.
//!
//! Scheme names are the constants of this module ([`OAUTH2`], [`BEARER`],
//! [`CUSTOMER_TOKEN`], [`SESSION`], [`SESSION_COOKIE`], [`BASIC`]). The
//! documents are OpenAPI 3.1 (utoipa's version), where schemes other than
//! OAuth2 may list role names: tollgate lists the scopes there too, since
//! sessions, tills and JWTs carry the same scopes.

mod alternatives;
mod components;
mod document;
mod security;
#[cfg(test)]
mod tests;

use crate::config::{AuthConfig, SessionSources};
use http::Method;
use std::collections::BTreeMap;

/// The OAuth2 client-credentials scheme (set by [`SecuritySchemes::token_url`]).
pub const OAUTH2: &str = "oauth2";
/// The `Authorization: Bearer` JWT scheme.
pub const BEARER: &str = "bearer";
/// The customer-token header scheme.
pub const CUSTOMER_TOKEN: &str = "customer_token";
/// The session-ID header scheme.
pub const SESSION: &str = "session";
/// The session-ID cookie scheme.
pub const SESSION_COOKIE: &str = "session_cookie";
/// The `Authorization: Basic` scheme (tills).
pub const BASIC: &str = "basic";

/// Most alternatives one requirement may expand to (an `all` of `any`s
/// multiplies out).
pub const MAX_ALTERNATIVES: usize = 64;

/// Why a requirement or route table cannot be written as OpenAPI security.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// The requirement can never be met (it holds an empty `any`); OpenAPI
    /// has no way to say so, and an empty list would mean "no security".
    #[error("the requirement can never be met (an empty `any`)")]
    Unsatisfiable,
    /// The requirement expands to more than [`MAX_ALTERNATIVES`] alternatives.
    #[error("the requirement expands to more than {MAX_ALTERNATIVES} alternatives")]
    TooManyAlternatives,
    /// OpenAPI has no operation for this method (e.g. `CONNECT`).
    #[error("OpenAPI has no operation for the method {0}")]
    UnsupportedMethod(Method),
    /// A route of the table failed.
    #[error("{method} {path}: {source}")]
    Route {
        /// The route's method.
        method: Method,
        /// The route's path.
        path: String,
        /// What failed.
        source: Box<OpenApiError>,
    },
}

/// The security schemes of the configured credential kinds; writes them to
/// `components.securitySchemes` and each route's requirement to its
/// operation's `security`. See the [module docs](self) for an example.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct SecuritySchemes {
    token_url: Option<String>,
    bearer: bool,
    customer_header: Option<String>,
    customer_alone: bool,
    session_header: Option<String>,
    session_cookie: Option<String>,
    basic: bool,
    descriptions: BTreeMap<String, String>,
}

impl SecuritySchemes {
    /// The schemes `config` reads: [`BEARER`] when it trusts an issuer (or
    /// introspects) and reads `Authorization`, and [`CUSTOMER_TOKEN`] when
    /// customer tokens are configured. Sessions and basic credentials are
    /// set on the [`Authenticator`](crate::Authenticator) builder, not in
    /// the config: add them with [`sessions`](Self::sessions) and
    /// [`basic`](Self::basic).
    pub fn from_config(config: &AuthConfig) -> Self {
        let mut out = Self {
            bearer: config.credentials.authorization_header
                && (!config.issuers.is_empty() || config.introspection.is_some()),
            ..Self::default()
        };
        if let Some(c) = &config.customer_tokens {
            out.customer_header = Some(c.header.clone());
            out.customer_alone = c.allow_alone;
        }
        out
    }

    /// Adds [`OAUTH2`]: the client-credentials flow at `url`, with every
    /// scope the routes need.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Adds [`SESSION`] (header) and [`SESSION_COOKIE`] (cookie) for the
    /// session sources of a session store.
    pub fn sessions(mut self, sources: &SessionSources) -> Self {
        self.session_header.clone_from(&sources.header);
        self.session_cookie.clone_from(&sources.cookie);
        self
    }

    /// Adds [`BASIC`], for basic credentials (tills).
    pub fn basic(mut self) -> Self {
        self.basic = true;
        self
    }

    /// Describes `scope` in the OAuth2 flow (listed even if no route needs it).
    pub fn scope_description(
        mut self,
        scope: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.descriptions.insert(scope.into(), description.into());
        self
    }
}
