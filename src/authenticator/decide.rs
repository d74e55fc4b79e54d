//! The request decision: credentials are read from the request, each one
//! is verified by its own concern, then combined and attributed. This is the
//! one path every adapter calls ([`Authenticator::decide`] and the
//! synchronous [`Authenticator::try_decide`]).

use super::identity::{TokenKind, VerifyError};
use super::{Authenticator, Decision, Mode};
use crate::context::AuthContext;
use crate::credentials::{self, BearerToken, CredentialsError, RequestParts};
use crate::error::{AuthError, AuthErrorKind};
use crate::telemetry::{self, Credential};
use tracing::Instrument as _;

/// Outcome of the synchronous fast path.
pub(crate) enum Attempt {
    Done(Result<Decision, AuthError>),
    /// A key fetch or a session lookup must be awaited: use the async path.
    NeedsAsync,
}

/// The credentials of one request, borrowed from it.
struct Presented<'r> {
    bearer: Option<std::borrow::Cow<'r, str>>,
    customer_token: Option<&'r str>,
    session: Option<&'r str>,
    /// The `Authorization: Basic` value, when a basic verifier is configured.
    basic: Option<&'r [u8]>,
    /// The attribution header's value, when attribution is configured.
    attribution: Option<&'r str>,
    other_scheme: bool,
    /// The access token arrived as `Authorization: DPoP`.
    dpop_scheme: bool,
}

/// Which credential kinds a request presented, for metrics and the
/// decision span (never their values).
#[derive(Clone, Copy, Default)]
struct Seen(u8);

impl Seen {
    const KINDS: [(u8, Credential, &'static str); 4] = [
        (1, Credential::AccessToken, "access_token"),
        (2, Credential::CustomerToken, "customer_token"),
        (4, Credential::Session, "session"),
        (8, Credential::Basic, "basic"),
    ];

    fn of(p: &Presented<'_>) -> Self {
        Self(
            u8::from(p.bearer.is_some())
                | u8::from(p.customer_token.is_some()) << 1
                | u8::from(p.session.is_some()) << 2
                | u8::from(p.basic.is_some()) << 3,
        )
    }

    fn kinds(self) -> impl Iterator<Item = (Credential, &'static str)> {
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

/// The decision span; its fields are recorded once known.
fn decision_span() -> tracing::Span {
    tracing::info_span!(
        "tollgate.decide",
        outcome = tracing::field::Empty,
        reason = tracing::field::Empty,
        credentials = tracing::field::Empty,
        issuer = tracing::field::Empty,
        client_id = tracing::field::Empty,
        account = tracing::field::Empty,
    )
}

/// Records a final decision: metrics, the decision span's fields, and
/// `client_id`/`account` on the caller's current span (a no-op when that
/// span has no such fields). Never a token, session ID or secret.
fn finish(span: &tracing::Span, result: &Result<Decision, AuthError>, seen: Seen) {
    telemetry::decision(result);
    for (kind, _) in seen.kinds() {
        telemetry::credential(kind);
    }
    // Recording looks each field up by name and formats its value, even
    // into a span no subscriber wants: skipped for disabled spans (about
    // a tenth of a cached request's time in callgrind).
    if !span.is_disabled() {
        record_decision(span, result, seen);
    }
    if let Ok(Decision::Authenticated(ctx)) = result
        && tracing::level_filters::LevelFilter::current()
            != tracing::level_filters::LevelFilter::OFF
    {
        let current = tracing::Span::current();
        if !current.is_disabled() {
            if let Some(client) = ctx.client_id() {
                current.record("client_id", client);
            }
            if let Some(account) = ctx.account() {
                current.record("account", account);
            }
        }
    }
}

/// The decision span's fields.
fn record_decision(span: &tracing::Span, result: &Result<Decision, AuthError>, seen: Seen) {
    span.record("outcome", telemetry::outcome(result));
    if seen.0 != 0 {
        span.record("credentials", tracing::field::display(seen));
    }
    match result {
        Ok(Decision::Authenticated(ctx)) => {
            if !ctx.issuer().is_empty() {
                span.record("issuer", ctx.issuer());
            }
            if let Some(client) = ctx.client_id() {
                span.record("client_id", client);
            }
            if let Some(account) = ctx.account() {
                span.record("account", account);
            }
        }
        Ok(_) => {}
        Err(e) => {
            span.record("reason", telemetry::reason(e.kind()));
        }
    }
}

impl Presented<'_> {
    fn has_credentials(&self) -> bool {
        self.bearer.is_some()
            || self.customer_token.is_some()
            || self.session.is_some()
            || self.basic.is_some()
            || self.other_scheme
    }
}

impl Authenticator {
    /// Authenticates a request: `Ok(None)` when it carries no credentials,
    /// `Err` when it carries credentials that do not all verify.
    pub async fn authenticate<R: RequestParts + ?Sized>(
        &self,
        req: &R,
    ) -> Result<Option<AuthContext>, AuthError> {
        match self.decide(req, Mode::Optional).await? {
            Decision::Authenticated(ctx) => Ok(Some(ctx)),
            _ => Ok(None),
        }
    }

    /// Decides a request in `mode`; the one entry point adapters call.
    ///
    /// Each call is one `tollgate.decide` span and one count in the
    /// decision metrics (see [`telemetry`](mod@crate::telemetry)).
    pub async fn decide<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
    ) -> Result<Decision, AuthError> {
        // Most requests (cached tokens, static keys, memory sessions) are
        // answered synchronously; only the rest build the async state
        // machine, boxed so that this future stays small.
        if let Attempt::Done(result) = self.try_decide(req, mode) {
            return result;
        }
        Box::pin(self.decide_async(req, mode)).await
    }

    /// [`decide`](Self::decide) without the synchronous attempt: for the
    /// adapters, which make that attempt themselves first.
    pub(crate) async fn decide_async<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
    ) -> Result<Decision, AuthError> {
        let span = decision_span();
        let mut seen = Seen::default();
        // Entering a span no subscriber wants still costs on every poll.
        let result = if span.is_disabled() {
            self.decide_inner(req, mode, &mut seen).await
        } else {
            self.decide_inner(req, mode, &mut seen)
                .instrument(span.clone())
                .await
        };
        finish(&span, &result, seen);
        result
    }

    async fn decide_inner<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
        seen: &mut Seen,
    ) -> Result<Decision, AuthError> {
        let presented = self.extract(req)?;
        *seen = Seen::of(&presented);
        if self.is_cors_preflight(req, &presented) {
            return Ok(Decision::Preflight);
        }
        let access = match presented.bearer.as_deref() {
            Some(raw) => {
                let dpop = presented.dpop_scheme;
                self.dpop_precheck(req, dpop)?;
                let ctx = self
                    .verify_jwt_async(raw, TokenKind::Access)
                    .await
                    .map_err(|e| if dpop { e.with_dpop_challenge() } else { e })?;
                self.certificate_bind(req, &ctx, dpop)?;
                if let Some(key) = self.dpop_bind(req, raw, dpop, &ctx)? {
                    self.dpop_replay(key).await?;
                }
                Some(ctx)
            }
            None => None,
        };
        let customer = match presented.customer_token {
            Some(raw) => Some(self.verify_jwt_async(raw, TokenKind::Customer).await?),
            None => None,
        };
        let session = match presented.session {
            Some(raw) => Some(self.load_session(raw).await?),
            None => None,
        };
        let basic = match presented.basic {
            Some(raw) => Some(self.verify_basic(raw).await?),
            None => None,
        };
        let decision = self.combine(
            [access, customer, session, basic],
            presented.other_scheme,
            mode,
        )?;
        self.attribute(decision, presented.attribution)
    }

    /// The synchronous fast path: answers unless a key fetch or a session
    /// lookup must be awaited.
    pub(crate) fn try_decide<R: RequestParts + ?Sized>(&self, req: &R, mode: Mode) -> Attempt {
        let mut seen = Seen::default();
        let attempt = self.try_decide_inner(req, mode, &mut seen);
        // `NeedsAsync` is not a decision: `decide` records the final one.
        if let Attempt::Done(result) = &attempt {
            // No span at all when no subscriber is listening: even a
            // disabled one is built, dropped and asked about `log`.
            let span = if tracing::level_enabled!(tracing::Level::INFO) {
                decision_span()
            } else {
                tracing::Span::none()
            };
            finish(&span, result, seen);
        }
        attempt
    }

    fn try_decide_inner<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
        seen: &mut Seen,
    ) -> Attempt {
        let presented = match self.extract(req) {
            Ok(p) => p,
            Err(e) => return Attempt::Done(Err(e)),
        };
        *seen = Seen::of(&presented);
        if self.is_cors_preflight(req, &presented) {
            return Attempt::Done(Ok(Decision::Preflight));
        }
        if presented.session.is_some() || presented.basic.is_some() {
            return Attempt::NeedsAsync;
        }
        let dpop = presented.dpop_scheme;
        if presented.bearer.is_some()
            && let Err(e) = self.dpop_precheck(req, dpop)
        {
            return Attempt::Done(Err(e));
        }
        let verify = |raw: Option<&str>, kind| match raw {
            None => Ok(None),
            Some(raw) => self.verify_jwt_now(raw, kind, true).map(Some),
        };
        let access = verify(presented.bearer.as_deref(), TokenKind::Access);
        let customer = verify(presented.customer_token, TokenKind::Customer);
        match (access, customer) {
            (Ok(a), Ok(c)) => {
                // The proof is checked on every request, cached token or not;
                // its `jti` is recorded only once the answer is final here.
                if let (Some(ctx), Some(raw)) = (&a, presented.bearer.as_deref()) {
                    if let Err(e) = self.certificate_bind(req, ctx, dpop) {
                        return Attempt::Done(Err(e));
                    }
                    match self.dpop_bind(req, raw, dpop, ctx) {
                        Err(e) => return Attempt::Done(Err(e)),
                        Ok(None) => {}
                        Ok(Some(key)) => match self.dpop_replay_now(key) {
                            None => return Attempt::NeedsAsync,
                            Some(Err(e)) => return Attempt::Done(Err(e)),
                            Some(Ok(())) => {}
                        },
                    }
                }
                Attempt::Done(
                    self.combine([a, c, None, None], presented.other_scheme, mode)
                        .and_then(|d| self.attribute(d, presented.attribution)),
                )
            }
            // A definite refusal of either credential is final.
            (Err(VerifyError::Refuse(kind, desc)), _) => {
                Attempt::Done(Err(self.access_error(kind, desc, dpop)))
            }
            (_, Err(VerifyError::Refuse(kind, desc))) => Attempt::Done(Err(self.error(kind, desc))),
            _ => Attempt::NeedsAsync,
        }
    }

    /// Whether this is a CORS preflight that passes unauthenticated: only
    /// when [`allow_cors_preflight`](super::AuthenticatorBuilder::allow_cors_preflight)
    /// is on (off by default), the method is `OPTIONS` with an
    /// `Access-Control-Request-Method` header, and no credential of any kind
    /// is attached (a request that carries one is authenticated as usual).
    fn is_cors_preflight<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        presented: &Presented<'_>,
    ) -> bool {
        if !self.engine.allow_cors_preflight || !req.method().eq_ignore_ascii_case("OPTIONS") {
            return false;
        }
        if presented.has_credentials() {
            return false;
        }
        let mut has = false;
        req.visit_header("access-control-request-method", &mut |_| has = true);
        has
    }

    fn credentials_error(&self, e: CredentialsError) -> AuthError {
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

    fn extract<'r, R: RequestParts + ?Sized>(
        &self,
        req: &'r R,
    ) -> Result<Presented<'r>, AuthError> {
        let e = &self.engine;
        let creds =
            credentials::extract(req, &e.sources).map_err(|err| self.credentials_error(err))?;
        let customer_token = match &e.customer {
            Some(rules) => credentials::header_token(req, &rules.header, e.sources.max_token_bytes)
                .map_err(|err| self.credentials_error(err))?,
            None => None,
        };
        let session = match &e.sessions {
            Some(rules) => {
                credentials::session_id(req, rules.header.as_deref(), rules.cookie.as_deref())
                    .map_err(|err| self.credentials_error(err))?
            }
            None => None,
        };
        let basic = match (&e.basic, creds.other_scheme) {
            (Some(_), true) => credentials::unique_header(req, "authorization")
                .map_err(|err| self.credentials_error(err))?
                .filter(|v| {
                    v.len() > 6
                        && v.get(..6)
                            .is_some_and(|p| p.eq_ignore_ascii_case(b"basic "))
                }),
            _ => None,
        };
        let attribution = match &e.attribution {
            Some(rules) => match credentials::unique_header(req, &rules.header)
                .map_err(|err| self.credentials_error(err))?
            {
                Some(raw) => Some(
                    std::str::from_utf8(raw)
                        .ok()
                        .map(str::trim)
                        .filter(|v| !v.is_empty() && v.len() <= 256)
                        .ok_or_else(|| {
                            self.error(
                                AuthErrorKind::InvalidRequest,
                                "the attribution header is malformed",
                            )
                        })?,
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
            bearer: bearer.map(BearerToken::into_inner),
            dpop_scheme: creds.dpop_scheme && !dpop_off,
            customer_token,
            session,
            other_scheme: other_scheme && basic.is_none(),
            basic,
            attribution,
        })
    }
}
