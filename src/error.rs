//! [`AuthError`]: why a request was refused, and how to say so on the wire.
//!
//! Every adapter turns an `AuthError` into a response the same way, through
//! [`AuthError::status`], [`AuthError::www_authenticate`] and
//! [`AuthError::body`]; the mapping lives here once:
//!
//! | kind | status | `WWW-Authenticate` |
//! |---|---|---|
//! | [`Missing`](AuthErrorKind::Missing) | 401 | `Bearer realm="…"` |
//! | [`InvalidRequest`](AuthErrorKind::InvalidRequest) | 400 | `Bearer realm="…", error="invalid_request", …` |
//! | [`InvalidToken`](AuthErrorKind::InvalidToken) | 401 | `Bearer realm="…", error="invalid_token", …` |
//! | [`Expired`](AuthErrorKind::Expired) | 401 or the configured status (e.g. 498) | `…, error="invalid_token", error_description="expired"` |
//! | [`InsufficientScope`](AuthErrorKind::InsufficientScope) | 403 | `…, error="insufficient_scope", scope="…"` |
//! | [`Unavailable`](AuthErrorKind::Unavailable) | 503 | none |
//! | [`InvalidDpopProof`](AuthErrorKind::InvalidDpopProof) | 401 | `DPoP realm="…", algs="…", error="invalid_dpop_proof", …` |
//!
//! With DPoP (RFC 9449 §7.1) the challenge scheme follows the credential:
//! errors about a token presented with the `DPoP` scheme use a `DPoP`
//! challenge (with `algs`); the 401 for missing credentials carries both a
//! `Bearer` and a `DPoP` challenge while DPoP is allowed, only `DPoP` while
//! it is required, only `Bearer` while it is off.
//!
//! Descriptions are fixed strings chosen by tollgate: nothing from the request
//! (least of all the token) is ever echoed.

use crate::render::{ErrorRenderer, JsonError, RenderedError};
use http::{HeaderValue, StatusCode};
use std::fmt;
use std::sync::Arc;

/// What kind of refusal an [`AuthError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credentials on a route that needs them (RFC 6750 §3.1: no error code).
    Missing,
    /// The request is malformed: duplicate `Authorization`, bad syntax,
    /// an empty token, a token sent by more than one method.
    InvalidRequest,
    /// The credential is not acceptable: bad signature, wrong issuer or
    /// audience, unknown key, garbage.
    InvalidToken,
    /// The credential was valid but has expired.
    Expired,
    /// The credential is valid but does not grant what the route needs.
    InsufficientScope,
    /// A key source or store is unreachable and nothing usable is cached.
    Unavailable,
    /// The DPoP proof is missing, repeated or invalid, or does not match
    /// the token (RFC 9449 §7.1).
    InvalidDpopProof,
}

impl AuthErrorKind {
    /// The OAuth error code for this kind (`invalid_token`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "unauthorized",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken | Self::Expired => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::Unavailable => "temporarily_unavailable",
            Self::InvalidDpopProof => "invalid_dpop_proof",
        }
    }
}

pub(crate) const DEFAULT_REALM: &str = "tollgate";

/// Settings shared by every error an authenticator produces.
#[derive(Debug, Clone)]
pub(crate) struct ErrorSettings {
    pub(crate) realm: Arc<str>,
    pub(crate) expired_status: StatusCode,
    /// Which challenges the 401 for missing credentials carries.
    pub(crate) dpop: crate::dpop::DpopPolicy,
    /// The body renderer; `None` is the built-in JSON.
    pub(crate) renderer: Option<Arc<dyn ErrorRenderer>>,
}

/// Which `WWW-Authenticate` challenges an error carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenge {
    Bearer,
    Dpop,
    Both,
}

impl Default for ErrorSettings {
    fn default() -> Self {
        Self {
            realm: Arc::from(DEFAULT_REALM),
            expired_status: StatusCode::UNAUTHORIZED,
            dpop: crate::dpop::DpopPolicy::default(),
            renderer: None,
        }
    }
}

/// Why a request was refused. Opaque; inspect it with [`AuthError::kind`].
#[derive(Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    description: &'static str,
    /// Scopes to report with `insufficient_scope`.
    scope: Option<Box<str>>,
    status: StatusCode,
    realm: Arc<str>,
    challenge: Challenge,
    renderer: Option<Arc<dyn ErrorRenderer>>,
}

impl AuthError {
    pub(crate) fn new(
        kind: AuthErrorKind,
        description: &'static str,
        settings: &ErrorSettings,
    ) -> Self {
        let status = match kind {
            AuthErrorKind::Missing
            | AuthErrorKind::InvalidToken
            | AuthErrorKind::InvalidDpopProof => StatusCode::UNAUTHORIZED,
            AuthErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            AuthErrorKind::Expired => settings.expired_status,
            AuthErrorKind::InsufficientScope => StatusCode::FORBIDDEN,
            AuthErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        let challenge = match (kind, settings.dpop) {
            (AuthErrorKind::InvalidDpopProof, _)
            | (AuthErrorKind::Missing, crate::dpop::DpopPolicy::Required) => Challenge::Dpop,
            (AuthErrorKind::Missing, crate::dpop::DpopPolicy::Allowed) => Challenge::Both,
            _ => Challenge::Bearer,
        };
        Self {
            kind,
            description,
            scope: None,
            status,
            realm: settings.realm.clone(),
            challenge,
            renderer: settings.renderer.clone(),
        }
    }

    #[cfg(test)]
    pub(crate) fn for_tests(kind: AuthErrorKind, status: StatusCode) -> Self {
        let mut e = Self::new(kind, "test", &ErrorSettings::default());
        e.status = status;
        e
    }

    /// The same error with a `DPoP` challenge: for a credential presented
    /// with the `DPoP` scheme.
    pub(crate) fn with_dpop_challenge(mut self) -> Self {
        if self.kind != AuthErrorKind::Missing {
            self.challenge = Challenge::Dpop;
        }
        self
    }

    pub(crate) fn insufficient_scope(scope: String, settings: &ErrorSettings) -> Self {
        let mut err = Self::new(
            AuthErrorKind::InsufficientScope,
            "the credential lacks a required scope",
            settings,
        );
        err.scope = Some(scope.into_boxed_str());
        err
    }

    /// A 403 `insufficient_scope` without a scope attribute: the caller is
    /// authenticated but this credential combination is not allowed here.
    pub(crate) fn forbidden(description: &'static str, settings: &ErrorSettings) -> Self {
        Self::new(AuthErrorKind::InsufficientScope, description, settings)
    }

    /// A 401 for a request with no credentials, with the default realm.
    ///
    /// Used when an extractor finds no authentication result at all (the
    /// layer was not installed in front of the handler).
    pub fn missing() -> Self {
        Self::new(
            AuthErrorKind::Missing,
            "credentials are required",
            &ErrorSettings::default(),
        )
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// A fixed, human-readable reason. Never contains request data.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The scope(s) reported with `insufficient_scope`.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The (first) `WWW-Authenticate` challenge, if this kind carries one.
    /// A 401 for missing credentials while DPoP is allowed carries a second,
    /// `DPoP` challenge: see [`www_authenticate_all`](Self::www_authenticate_all).
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        match self.challenge {
            Challenge::Bearer | Challenge::Both => self.challenge_value(Challenge::Bearer),
            Challenge::Dpop => self.challenge_value(Challenge::Dpop),
        }
    }

    /// Every `WWW-Authenticate` challenge, one header field each: `Bearer`,
    /// `DPoP`, or both (RFC 9449 §7.1).
    pub fn www_authenticate_all(&self) -> Vec<HeaderValue> {
        match self.challenge {
            Challenge::Both => [Challenge::Bearer, Challenge::Dpop]
                .into_iter()
                .filter_map(|c| self.challenge_value(c))
                .collect(),
            c => self.challenge_value(c).into_iter().collect(),
        }
    }

    fn challenge_value(&self, scheme: Challenge) -> Option<HeaderValue> {
        use fmt::Write;
        if self.kind == AuthErrorKind::Unavailable {
            return None;
        }
        let mut v = String::with_capacity(96);
        if scheme == Challenge::Dpop {
            let _ = write!(
                v,
                "DPoP realm=\"{}\", algs=\"{}\"",
                QuotedString(&self.realm),
                crate::dpop::PROOF_ALGORITHMS
            );
        } else {
            let _ = write!(v, "Bearer realm=\"{}\"", QuotedString(&self.realm));
        }
        if self.kind != AuthErrorKind::Missing {
            let _ = write!(v, ", error=\"{}\"", self.kind.code());
            let _ = write!(
                v,
                ", error_description=\"{}\"",
                QuotedString(self.public_description())
            );
        }
        if let Some(scope) = &self.scope {
            let _ = write!(v, ", scope=\"{}\"", QuotedString(scope));
        }
        HeaderValue::from_str(&v).ok()
    }

    /// The description as sent to clients: [`description`](Self::description),
    /// except `expired` for every expired credential (RFC 6750 leaves the
    /// text free; one fixed word tells clients to refresh).
    pub fn public_description(&self) -> &'static str {
        if self.kind == AuthErrorKind::Expired {
            "expired"
        } else {
            self.description
        }
    }

    /// The default JSON body: `{"error": "...", "error_description": "..."}`
    /// (see [`to_response`](Self::to_response) for the configured one).
    pub fn body(&self) -> String {
        let mut body = serde_json::json!({
            "error": self.kind.code(),
            "error_description": self.public_description(),
        });
        if let (Some(scope), Some(obj)) = (&self.scope, body.as_object_mut()) {
            obj.insert("scope".into(), scope.to_string().into());
        }
        body.to_string()
    }

    /// `Retry-After` seconds to send with a 503, if any.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        (self.kind == AuthErrorKind::Unavailable).then(|| HeaderValue::from_static("5"))
    }

    /// The body, content type and extra headers of the configured renderer
    /// (see [`crate::render`]).
    pub fn render(&self) -> RenderedError {
        match &self.renderer {
            Some(r) => r.render(self),
            None => JsonError.render(self),
        }
    }

    /// Builds the complete `http` response with the body type `B`: the
    /// status and challenges from the engine, the body from the configured
    /// renderer.
    pub fn to_response<B: From<String>>(&self) -> http::Response<B> {
        let (content_type, body, extra) = self.render().into_parts();
        let mut res = http::Response::new(B::from(body));
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        for (name, value) in &extra {
            headers.append(name, value.clone());
        }
        if let Some(ct) = content_type {
            headers.insert(http::header::CONTENT_TYPE, ct);
        }
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        for challenge in self.www_authenticate_all() {
            headers.append(http::header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(retry) = self.retry_after() {
            headers.insert(http::header::RETRY_AFTER, retry);
        }
        res.extensions_mut().insert(self.clone());
        res
    }
}

/// Writes a string as the inside of an RFC 9110 quoted-string, dropping
/// anything that could not appear in a header value.
struct QuotedString<'a>(&'a str);

impl fmt::Display for QuotedString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            match c {
                '"' | '\\' => {
                    f.write_char('\\')?;
                    f.write_char(c)?;
                }
                ' '..='~' => f.write_char(c)?,
                _ => {}
            }
        }
        Ok(())
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("kind", &self.kind)
            .field("description", &self.description)
            .field("scope", &self.scope)
            .field("status", &self.status.as_u16())
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.description)
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ErrorSettings {
        ErrorSettings {
            realm: Arc::from("api"),
            expired_status: StatusCode::from_u16(498).unwrap(),
            dpop: crate::dpop::DpopPolicy::Off,
            renderer: None,
        }
    }

    #[test]
    fn missing_has_no_error_code() {
        let e = AuthError::new(
            AuthErrorKind::Missing,
            "credentials are required",
            &settings(),
        );
        assert_eq!(e.status(), 401);
        assert_eq!(e.www_authenticate().unwrap(), "Bearer realm=\"api\"");
    }

    #[test]
    fn expired_uses_configured_status() {
        let e = AuthError::new(AuthErrorKind::Expired, "token expired", &settings());
        assert_eq!(e.status().as_u16(), 498);
        assert_eq!(
            e.www_authenticate().unwrap(),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"expired\""
        );
        let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], "expired");
    }

    #[test]
    fn insufficient_scope_names_scope() {
        let e = AuthError::insufficient_scope("orders:write".into(), &settings());
        assert_eq!(e.status(), 403);
        let h = e.www_authenticate().unwrap();
        assert!(h.to_str().unwrap().contains("error=\"insufficient_scope\""));
        assert!(h.to_str().unwrap().ends_with("scope=\"orders:write\""));
    }

    #[test]
    fn unavailable_is_503_without_challenge() {
        let e = AuthError::new(
            AuthErrorKind::Unavailable,
            "key source unavailable",
            &settings(),
        );
        assert_eq!(e.status(), 503);
        assert!(e.www_authenticate().is_none());
        let res: http::Response<String> = e.to_response();
        assert_eq!(res.headers()["retry-after"], "5");
    }

    #[test]
    fn realm_is_quoted_safely() {
        let s = ErrorSettings {
            realm: Arc::from("a\"b\\c\u{7f}\n"),
            ..settings()
        };
        let e = AuthError::new(AuthErrorKind::Missing, "x", &s);
        assert_eq!(
            e.www_authenticate().unwrap(),
            "Bearer realm=\"a\\\"b\\\\c\""
        );
    }
}
