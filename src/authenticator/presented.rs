//! What a request presents: its credentials read from it (each token
//! checked at once, or [`Deferred`](credentials::Deferred) on the synchronous path), which kinds
//! it presented (for metrics and the decision span), and its tokens
//! [`Resolved`] against the verified-token cache.

use super::Authenticator;
use super::identity::{TokenKind, VerifyError};
use crate::context::AuthContext;
use crate::credentials::{self, CredentialsError, RawToken, RequestParts, TokenSyntax};
use crate::error::{AuthError, AuthErrorKind};
use crate::telemetry::Credential;
use std::borrow::Cow;

/// The credentials of one request, borrowed from it, with its tokens as
/// `T`: checked text, [`RawToken`]s, or [`Resolved`].
pub(super) struct Presented<'r, T> {
    pub(super) bearer: Option<T>,
    pub(super) customer_token: Option<T>,
    pub(super) session: Option<&'r str>,
    /// The `Authorization: Basic` value, when a basic verifier is configured.
    pub(super) basic: Option<&'r [u8]>,
    /// The attribution header's value, when attribution is configured.
    pub(super) attribution: Option<&'r str>,
    pub(super) other_scheme: bool,
    /// The access token arrived as `Authorization: DPoP`.
    pub(super) dpop_scheme: bool,
}

/// Which credential kinds a request presented, for metrics and the
/// decision span (never their values).
#[derive(Clone, Copy, Default)]
pub(super) struct Seen(pub(super) u8);

impl Seen {
    const KINDS: [(u8, Credential, &'static str); 4] = [
        (1, Credential::AccessToken, "access_token"),
        (2, Credential::CustomerToken, "customer_token"),
        (4, Credential::Session, "session"),
        (8, Credential::Basic, "basic"),
    ];

    pub(super) fn of<T>(p: &Presented<'_, T>) -> Self {
        Self(
            u8::from(p.bearer.is_some())
                | u8::from(p.customer_token.is_some()) << 1
                | u8::from(p.session.is_some()) << 2
                | u8::from(p.basic.is_some()) << 3,
        )
    }

    pub(super) fn kinds(self) -> impl Iterator<Item = (Credential, &'static str)> {
        Self::KINDS
            .into_iter()
            .filter(move |(bit, _, _)| self.0 & bit != 0)
            .map(|(_, kind, name)| (kind, name))
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (_, name)) in self.kinds().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl<'r, T> Presented<'r, T> {
    /// The same credentials, each token made `U` by `f`.
    pub(super) fn map_tokens<U>(mut self, f: impl Fn(T) -> U) -> Presented<'r, U> {
        let bearer = self.bearer.take().map(&f);
        let customer_token = self.customer_token.take().map(&f);
        self.with_tokens(bearer, customer_token)
    }

    /// The same credentials with these tokens in place of the ones read.
    #[inline(always)]
    pub(super) fn with_tokens<U>(
        &self,
        bearer: Option<U>,
        customer_token: Option<U>,
    ) -> Presented<'r, U> {
        Presented {
            bearer,
            customer_token,
            session: self.session,
            basic: self.basic,
            attribution: self.attribution,
            other_scheme: self.other_scheme,
            dpop_scheme: self.dpop_scheme,
        }
    }

    pub(super) fn has_credentials(&self) -> bool {
        self.bearer.is_some()
            || self.customer_token.is_some()
            || self.session.is_some()
            || self.basic.is_some()
            || self.other_scheme
    }
}

impl Authenticator {
    pub(super) fn credentials_error(&self, e: CredentialsError) -> AuthError {
        tracing::debug!(reason = %e, "tollgate: refused credentials");
        match e {
            CredentialsError::TooLarge => self.error(
                AuthErrorKind::InvalidToken,
                "the token exceeds the size limit",
            ),
            CredentialsError::DuplicateAuthorization => self.error(
                AuthErrorKind::InvalidRequest,
                "more than one Authorization header",
            ),
            CredentialsError::EmptyToken => {
                self.error(AuthErrorKind::InvalidRequest, "the credential is empty")
            }
            CredentialsError::MultipleMethods => self.error(
                AuthErrorKind::InvalidRequest,
                "a credential was sent by more than one method",
            ),
            CredentialsError::UnsupportedScheme => self.error(
                AuthErrorKind::Missing,
                "unsupported authorization scheme; use Bearer",
            ),
            _ => self.error(
                AuthErrorKind::InvalidRequest,
                "a credential header is malformed",
            ),
        }
    }

    /// The request's credentials, each token as `S` makes it. Errors are
    /// not yet mapped (the synchronous path retries a failed
    /// [`Deferred`](credentials::Deferred) reading with
    /// [`Checked`](credentials::Checked), whose error is the answer).
    pub(super) fn extract<'r, S: TokenSyntax, R: RequestParts + ?Sized>(
        &self,
        req: &'r R,
    ) -> Result<Presented<'r, S::Token<'r>>, Refused> {
        let e = &self.engine;
        let creds =
            credentials::extract_with::<S, R>(req, &e.sources).map_err(Refused::Credentials)?;
        let customer_token = match &e.customer {
            Some(rules) => credentials::header_value_token::<S, R>(
                req,
                &rules.header,
                e.sources.max_token_bytes,
            )
            .map_err(Refused::Credentials)?,
            None => None,
        };
        let session = match &e.sessions {
            Some(rules) => {
                credentials::session_id(req, rules.header.as_ref(), rules.cookie.as_deref())
                    .map_err(Refused::Credentials)?
            }
            None => None,
        };
        let basic = match (&e.basic, creds.other_scheme) {
            (Some(_), true) => credentials::unique_header(req, "authorization")
                .map_err(Refused::Credentials)?
                .filter(|v| {
                    v.len() > 6
                        && v.get(..6)
                            .is_some_and(|p| p.eq_ignore_ascii_case(b"basic "))
                }),
            _ => None,
        };
        let attribution = match &e.attribution {
            Some(rules) => match credentials::unique_header(req, &rules.header)
                .map_err(Refused::Credentials)?
            {
                Some(raw) => Some(
                    std::str::from_utf8(raw)
                        .ok()
                        .map(str::trim)
                        .filter(|v| !v.is_empty() && v.len() <= 256)
                        .ok_or(Refused::Attribution)?,
                ),
                None => None,
            },
            None => None,
        };
        // With DPoP off, the `DPoP` scheme is just an unsupported scheme.
        let dpop_off = creds.dpop_scheme && e.dpop.policy == crate::dpop::DpopPolicy::Off;
        let (bearer, other_scheme) = if dpop_off {
            (None, true)
        } else {
            (creds.bearer, creds.other_scheme)
        };
        Ok(Presented {
            bearer,
            dpop_scheme: creds.dpop_scheme && !dpop_off,
            customer_token,
            session,
            other_scheme: other_scheme && basic.is_none(),
            basic,
            attribution,
        })
    }

    /// The answer to a [`Refused`] reading.
    pub(super) fn refused(&self, r: Refused) -> AuthError {
        match r {
            Refused::Credentials(e) => self.credentials_error(e),
            Refused::Attribution => self.error(
                AuthErrorKind::InvalidRequest,
                "the attribution header is malformed",
            ),
        }
    }

    /// A [`Deferred`](credentials::Deferred) token made [`Resolved`]: a
    /// verified-token cache hit on its exact bytes needs no syntax check
    /// (see `credentials::token`); any other token is checked now. `None`:
    /// it fails the check, and the caller reads the request again
    /// [`Checked`](credentials::Checked) for the canonical error.
    ///
    /// `now` is the request's clock reading (one for all its tokens).
    pub(super) fn resolve<'r>(
        &self,
        token: RawToken<'r>,
        kind: TokenKind,
        now: f64,
    ) -> Option<Resolved<'r>> {
        if let RawToken::Unchecked(raw) = token
            && let Some((ctx, issuer)) = self.cache_lookup(raw, kind, now)
        {
            return Some(Resolved::Hit {
                ctx: Cow::Owned(ctx),
                issuer,
                raw,
            });
        }
        token
            .checked(self.engine.sources.max_token_bytes)
            .ok()
            .map(Resolved::Text)
    }
}

impl Authenticator {
    /// Verifies a [`Resolved`] token, also giving back its bytes (the DPoP
    /// proof's `ath` is their hash).
    pub(super) fn verify_resolved<'r>(
        &self,
        token: Option<Resolved<'r>>,
        kind: TokenKind,
    ) -> Result<Option<Verified<'r>>, VerifyError> {
        let verified = match token {
            None => return Ok(None),
            Some(Resolved::Text(Cow::Borrowed(raw))) => (
                Cow::Owned(self.verify_jwt_now(raw, kind, true)?),
                Cow::Borrowed(raw.as_bytes()),
            ),
            Some(Resolved::Text(Cow::Owned(raw))) => (
                Cow::Owned(self.verify_jwt_now(&raw, kind, true)?),
                Cow::Owned(raw.into_bytes()),
            ),
            Some(Resolved::Hit { ctx, issuer, raw }) => (
                self.verified_from_cache(ctx, issuer, kind)?,
                Cow::Borrowed(raw),
            ),
        };
        Ok(Some(verified))
    }
}

/// A verified token's context (borrowed when it came from this thread's
/// slots of the verified-token cache), and the token's bytes.
pub(super) type Verified<'r> = (Cow<'r, AuthContext>, Cow<'r, [u8]>);

/// Why reading a request's credentials failed.
pub(super) enum Refused {
    Credentials(CredentialsError),
    Attribution,
}

/// A token of the synchronous path, ready to verify.
pub(super) enum Resolved<'r> {
    /// Checked text.
    Text(Cow<'r, str>),
    /// The verified-token cache holds these exact bytes (not yet re-checked
    /// for client status and revocation): the context is borrowed from this
    /// thread's slots, or a clone from the shared cache.
    Hit {
        ctx: Cow<'r, AuthContext>,
        issuer: usize,
        raw: &'r [u8],
    },
}
