//! How a refusal's body looks: one hook, [`ErrorRenderer`], used by every
//! HTTP adapter (the tower layer and axum extractors, the actix middleware
//! and extractors) through [`AuthError::to_response`].
//!
//! The renderer only writes the body, its content type and extra headers.
//! The status line, the `WWW-Authenticate` challenges, `Retry-After` and
//! `Cache-Control: no-store` stay the engine's, whatever the body looks
//! like, so a custom format cannot break RFC 6750 clients. A renderer sees
//! the [`AuthError`] only (kind, status, fixed description, required scope,
//! retry-after), never the request or its token, so it cannot leak one.
//! gRPC requests keep their own mapping (`grpc-status`, no body).
//!
//! Built in: [`JsonError`] (the default: `{"error", "error_description"}`),
//! [`ProblemJson`] (RFC 9457 `application/problem+json`) and [`EmptyBody`].
//! Pick one in configuration with [`ErrorFormat`], or plug in your own with
//! [`AuthenticatorBuilder::error_renderer`](crate::AuthenticatorBuilder::error_renderer):
//!
//! ```
//! use tollgate::render::{ErrorRenderer, RenderedError};
//! use tollgate::{AuthError, Authenticator, ExpiredStatus, IssuerConfig};
//!
//! /// The platform's own error envelope, and 498 for expired tokens.
//! #[derive(Debug)]
//! struct Envelope;
//!
//! impl ErrorRenderer for Envelope {
//!     fn render(&self, err: &AuthError) -> RenderedError {
//!         let body = serde_json::json!({
//!             "errors": [{ "code": err.kind().code(), "message": err.description() }]
//!         });
//!         RenderedError::json(body.to_string())
//!             .with_header(http::HeaderName::from_static("x-error-code"),
//!                          http::HeaderValue::from_static("AUTH"))
//!     }
//!     fn expired_status(&self) -> Option<ExpiredStatus> {
//!         Some(ExpiredStatus::Status498)
//!     }
//! }
//!
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://id.example.com").audience("api")
//!         .hmac_secret("a-secret-of-at-least-32-bytes-length!"))
//!     .error_renderer(Envelope)
//!     .build()
//!     .unwrap();
//! # drop(auth);
//! ```

use crate::config::ExpiredStatus;
use crate::error::{AuthError, AuthErrorKind};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Turns an [`AuthError`] into a response body and extra headers.
pub trait ErrorRenderer: Send + Sync + fmt::Debug + 'static {
    /// The body, its content type and any extra headers for `error`.
    fn render(&self, error: &AuthError) -> RenderedError;

    /// The status for an expired credential, if this renderer chooses one
    /// (it then wins over [`AuthConfig::expired_status`](crate::AuthConfig::expired_status)).
    /// Only the two legal values exist: 401, or 498 for clients that expect it.
    fn expired_status(&self) -> Option<ExpiredStatus> {
        None
    }
}

/// What a renderer produced: a body with its content type, and extra
/// headers. Headers the engine owns (`WWW-Authenticate`, `Retry-After`,
/// `Cache-Control`, `Content-Type`, `Content-Length`) are not taken from
/// [`with_header`](Self::with_header): the content type comes from the
/// constructor, the others from the engine.
#[derive(Clone, Debug, Default)]
pub struct RenderedError {
    content_type: Option<HeaderValue>,
    body: String,
    headers: HeaderMap,
}

impl RenderedError {
    /// A body of the given content type.
    pub fn new(content_type: HeaderValue, body: impl Into<String>) -> Self {
        Self {
            content_type: Some(content_type),
            body: body.into(),
            headers: HeaderMap::new(),
        }
    }

    /// An `application/json` body.
    pub fn json(body: impl Into<String>) -> Self {
        Self::new(HeaderValue::from_static("application/json"), body)
    }

    /// No body and no content type.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds a header (ignored for the names the engine owns; see above).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if !is_engine_header(&name) {
            self.headers.append(name, value);
        }
        self
    }

    /// The content type, if there is a body.
    pub fn content_type(&self) -> Option<&HeaderValue> {
        self.content_type.as_ref()
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The extra headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub(crate) fn into_parts(self) -> (Option<HeaderValue>, String, HeaderMap) {
        (self.content_type, self.body, self.headers)
    }
}

fn is_engine_header(name: &HeaderName) -> bool {
    [
        http::header::WWW_AUTHENTICATE,
        http::header::RETRY_AFTER,
        http::header::CACHE_CONTROL,
        http::header::CONTENT_TYPE,
        http::header::CONTENT_LENGTH,
        http::header::TRANSFER_ENCODING,
    ]
    .contains(name)
}

/// The built-in renderers by name, for configuration files and the
/// environment (`"json"`, `"problem"`, `"empty"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorFormat {
    /// [`JsonError`] (default).
    #[default]
    Json,
    /// [`ProblemJson`] with `type: "about:blank"`.
    Problem,
    /// [`EmptyBody`].
    Empty,
}

impl std::str::FromStr for ErrorFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Self::Json),
            "problem" => Ok(Self::Problem),
            "empty" => Ok(Self::Empty),
            other => Err(format!(
                "error format must be json, problem or empty, not {other:?}"
            )),
        }
    }
}

impl ErrorFormat {
    /// The renderer this format names; `None` for the default JSON (which
    /// [`AuthError`] renders without a renderer object).
    pub(crate) fn renderer(self) -> Option<Arc<dyn ErrorRenderer>> {
        match self {
            Self::Json => None,
            Self::Problem => Some(Arc::new(ProblemJson::new())),
            Self::Empty => Some(Arc::new(EmptyBody)),
        }
    }
}

/// The default body: `{"error": "invalid_token", "error_description": "…"}`,
/// plus `scope` for `insufficient_scope` (the RFC 6750 error attributes, as
/// JSON).
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonError;

impl ErrorRenderer for JsonError {
    fn render(&self, error: &AuthError) -> RenderedError {
        RenderedError::json(error.body())
    }
}

/// No body at all: the status line and the challenge say everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmptyBody;

impl ErrorRenderer for EmptyBody {
    fn render(&self, _error: &AuthError) -> RenderedError {
        RenderedError::empty()
    }
}

/// RFC 9457 problem details, `application/problem+json`:
/// `type`, `title`, `status`, `detail`, plus the OAuth `error` code (and
/// `scope` for `insufficient_scope`) as extension members.
///
/// By default `type` is `about:blank` and `title` the status phrase, as RFC
/// 9457 §4.2.1 asks; with [`type_base`](Self::type_base) each kind gets its
/// own type URI (`{base}{error code}`) and a title of its own.
#[derive(Clone, Debug, Default)]
pub struct ProblemJson {
    type_base: Option<String>,
}

impl ProblemJson {
    /// Problems of type `about:blank`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Problem types under `base` (for example
    /// `https://api.example.com/problems/`): `{base}invalid_token`, …
    #[must_use]
    pub fn type_base(mut self, base: impl Into<String>) -> Self {
        self.type_base = Some(base.into());
        self
    }
}

fn status_phrase(status: StatusCode) -> &'static str {
    match status.as_u16() {
        // Not registered; the phrase its users know it by.
        498 => "Invalid Token",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

fn kind_title(kind: AuthErrorKind) -> &'static str {
    match kind {
        AuthErrorKind::Missing => "Credentials required",
        AuthErrorKind::InvalidRequest => "Malformed credentials",
        AuthErrorKind::InvalidToken => "Invalid credentials",
        AuthErrorKind::Expired => "Expired credentials",
        AuthErrorKind::InsufficientScope => "Insufficient scope",
        AuthErrorKind::Unavailable => "Authentication unavailable",
        AuthErrorKind::InvalidDpopProof => "Invalid DPoP proof",
    }
}

impl ErrorRenderer for ProblemJson {
    fn render(&self, error: &AuthError) -> RenderedError {
        let (ty, title) = match &self.type_base {
            Some(base) => (
                format!("{base}{}", error.kind().code()),
                kind_title(error.kind()),
            ),
            None => ("about:blank".to_owned(), status_phrase(error.status())),
        };
        let mut body = serde_json::json!({
            "type": ty,
            "title": title,
            "status": error.status().as_u16(),
            "detail": error.public_description(),
            "error": error.kind().code(),
        });
        if let (Some(scope), Some(obj)) = (error.scope(), body.as_object_mut()) {
            obj.insert("scope".into(), scope.into());
        }
        RenderedError::new(
            HeaderValue::from_static("application/problem+json"),
            body.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expired() -> AuthError {
        AuthError::for_tests(AuthErrorKind::Expired, StatusCode::UNAUTHORIZED)
    }

    #[test]
    fn problem_json_follows_rfc_9457() {
        let r = ProblemJson::new().render(&expired());
        assert_eq!(r.content_type().unwrap(), "application/problem+json");
        let v: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(v["type"], "about:blank");
        assert_eq!(v["title"], "Unauthorized");
        assert_eq!(v["status"], 401);
        assert_eq!(v["detail"], "expired");
        assert_eq!(v["error"], "invalid_token");
        let r = ProblemJson::new()
            .type_base("https://api.example.com/problems/")
            .render(&expired());
        let v: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(v["type"], "https://api.example.com/problems/invalid_token");
        assert_eq!(v["title"], "Expired credentials");
    }

    #[test]
    fn engine_headers_cannot_be_set_by_a_renderer() {
        let r = RenderedError::empty()
            .with_header(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic"),
            )
            .with_header(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/html"),
            )
            .with_header(
                HeaderName::from_static("x-request-id"),
                HeaderValue::from_static("1"),
            );
        assert_eq!(r.headers().len(), 1);
        assert!(r.content_type().is_none() && r.body().is_empty());
    }

    #[test]
    fn formats_parse_by_name() {
        for (s, f) in [
            ("json", ErrorFormat::Json),
            ("problem", ErrorFormat::Problem),
            ("empty", ErrorFormat::Empty),
        ] {
            assert_eq!(s.parse::<ErrorFormat>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{s}\""));
        }
        assert!("xml".parse::<ErrorFormat>().is_err());
    }
}
