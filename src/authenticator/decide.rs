//! The request decision: credentials are read from the request, each one
//! is verified by its own concern, then combined and attributed. This is the
//! one path every adapter calls ([`Authenticator::decide`] and the
//! synchronous [`Authenticator::try_decide`]).

use super::identity::{TokenKind, VerifyError};
use super::presented::{Presented, Resolved, Seen};
use super::{Authenticator, Decision, Mode};
use crate::context::AuthContext;
use crate::credentials::{Checked, Deferred, RawToken, RequestParts};
use crate::error::AuthError;
use crate::telemetry;
use std::borrow::Cow;
use tracing::Instrument as _;

/// Outcome of the synchronous fast path.
pub(crate) enum Attempt {
    Done(Result<Decision, AuthError>),
    /// A key fetch or a session lookup must be awaited: use the async path.
    NeedsAsync,
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
        let presented = self
            .extract::<Checked, R>(req)
            .map_err(|r| self.refused(r))?;
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
                if let Some(key) = self.dpop_bind(req, raw.as_bytes(), dpop, &ctx)? {
                    self.dpop_replay(key).await?;
                }
                Some(ctx)
            }
            None => None,
        };
        let customer = match presented.customer_token.as_deref() {
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
            [access, customer, session, basic].map(|ctx| ctx.map(Cow::Owned)),
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

    /// Tokens are read [`Deferred`]: one the verified-token cache holds is
    /// answered without its syntax check (see `credentials::token`). Any
    /// reading that fails starts over [`Checked`], whose answer is the
    /// canonical one.
    fn try_decide_inner<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
        seen: &mut Seen,
    ) -> Attempt {
        let Ok(read) = self.extract::<Deferred, R>(req) else {
            return self.try_decide_checked(req, mode, seen);
        };
        // One clock reading for the request's tokens (none without one).
        let now = if read.bearer.is_some() || read.customer_token.is_some() {
            crate::jwt::now_secs()
        } else {
            0.0
        };
        if let Some(attempt) = self.try_decide_pair(req, mode, seen, &read, now) {
            return attempt;
        }
        let bearer = match read.bearer.map(|t| self.resolve(t, TokenKind::Access, now)) {
            Some(None) => return self.try_decide_checked(req, mode, seen),
            other => other.flatten(),
        };
        let customer_token = match read
            .customer_token
            .map(|t| self.resolve(t, TokenKind::Customer, now))
        {
            Some(None) => return self.try_decide_checked(req, mode, seen),
            other => other.flatten(),
        };
        // A literal, not `with_tokens`: on this, the single-token hot path,
        // the two ways of building through it measured 19 and 42 more
        // instructions per request (callgrind).
        let presented = Presented {
            bearer,
            customer_token,
            session: read.session,
            basic: read.basic,
            attribution: read.attribution,
            other_scheme: read.other_scheme,
            dpop_scheme: read.dpop_scheme,
        };
        self.try_decide_presented(req, mode, seen, presented)
    }

    /// An access token and a customer token both in this thread's slots of
    /// the verified-token cache (see `jwt::cache::local`), still fresh: the
    /// request is decided on their contexts borrowed from there, so that
    /// the pair costs two slot hits and a merge-memo hit and touches one
    /// reference count (the answer's), as one token does. `None`: the
    /// request is not such a pair, and takes the owned path.
    ///
    /// Only where the tokens are looked up differs: the same
    /// [`try_decide_presented`](Self::try_decide_presented) decides, with
    /// every per-request check.
    fn try_decide_pair<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
        seen: &mut Seen,
        read: &Presented<'_, RawToken<'_>>,
        now: f64,
    ) -> Option<Attempt> {
        let (Some(RawToken::Unchecked(access)), Some(RawToken::Unchecked(customer))) =
            (&read.bearer, &read.customer_token)
        else {
            return None;
        };
        let cache = self.engine.cache.as_ref()?;
        let keys = [
            cache.query(TokenKind::Access as u8, access),
            cache.query(TokenKind::Customer as u8, customer),
        ];
        let generation = |tag: u8, idx: usize| {
            let kind = if tag == TokenKind::Customer as u8 {
                TokenKind::Customer
            } else {
                TokenKind::Access
            };
            self.generation(kind, idx)
        };
        let [a, c] = &keys;
        cache.with_local_pair([a, c], now, generation, |[(a, a_issuer), (c, c_issuer)]| {
            let presented = read.with_tokens(
                Some(Resolved::Hit {
                    ctx: Cow::Borrowed(a),
                    issuer: a_issuer,
                    raw: access,
                }),
                Some(Resolved::Hit {
                    ctx: Cow::Borrowed(c),
                    issuer: c_issuer,
                    raw: customer,
                }),
            );
            self.try_decide_presented(req, mode, seen, presented)
        })
    }

    /// [`try_decide_inner`](Self::try_decide_inner) with every token
    /// checked at once.
    fn try_decide_checked<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
        seen: &mut Seen,
    ) -> Attempt {
        match self.extract::<Checked, R>(req) {
            Err(r) => Attempt::Done(Err(self.refused(r))),
            Ok(p) => self.try_decide_presented(req, mode, seen, p.map_tokens(Resolved::Text)),
        }
    }

    fn try_decide_presented<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
        seen: &mut Seen,
        presented: Presented<'_, Resolved<'_>>,
    ) -> Attempt {
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
        let access = self.verify_resolved(presented.bearer, TokenKind::Access);
        let customer = self.verify_resolved(presented.customer_token, TokenKind::Customer);
        match (access, customer) {
            (Ok(a), Ok(c)) => {
                // The proof is checked on every request, cached token or not;
                // its `jti` is recorded only once the answer is final here.
                if let Some((ctx, raw)) = &a {
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
                let verified = [a.map(|(ctx, _)| ctx), c.map(|(ctx, _)| ctx), None, None];
                Attempt::Done(
                    self.combine(verified, presented.other_scheme, mode)
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
    fn is_cors_preflight<T, R: RequestParts + ?Sized>(
        &self,
        req: &R,
        presented: &Presented<'_, T>,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CustomerTokenConfig, IssuerConfig};
    use crate::error::AuthErrorKind;
    use crate::revocation::MemoryRevocations;
    use futures_util::FutureExt as _;
    use std::sync::Arc;

    const SECRET: &str = "a-very-long-shared-secret-of-32+-bytes!!";

    fn mint(claims: serde_json::Value) -> String {
        let claims = match claims {
            serde_json::Value::Object(mut map) => {
                map.insert("iss".into(), "https://i.example".into());
                map.insert("aud".into(), "api".into());
                map.insert("exp".into(), 4_000_000_000u64.into());
                map
            }
            _ => unreachable!("claims are an object"),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn pair(access: &str, customer: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", format!("Bearer {access}").parse().unwrap());
        h.insert("x-customer-token", customer.parse().unwrap());
        h
    }

    /// An HS256 authenticator with customer tokens and a revocation list.
    fn with_revocations() -> (Authenticator, Arc<MemoryRevocations>) {
        let revocations = Arc::new(MemoryRevocations::default());
        let auth = Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret(SECRET),
            )
            .customer_tokens(CustomerTokenConfig::default())
            .revocations(revocations.clone())
            .build()
            .unwrap();
        (auth, revocations)
    }

    /// What the borrowed pair path answers for `req`: `None` when the pair
    /// is not in this thread's slots.
    fn pair_path(
        auth: &Authenticator,
        req: &http::HeaderMap,
    ) -> Option<Result<Decision, AuthError>> {
        let read = auth.extract::<Deferred, _>(req).ok().unwrap();
        let now = crate::jwt::now_secs();
        match auth.try_decide_pair(req, Mode::Optional, &mut Seen::default(), &read, now)? {
            Attempt::Done(result) => Some(result),
            Attempt::NeedsAsync => panic!("a cached pair needs no await"),
        }
    }

    /// The pair path borrows both contexts from this thread's slots; every
    /// per-request check still runs on it: revocation of either token, and
    /// the two tokens' agreement.
    #[test]
    fn a_pair_in_this_threads_slots_is_decided_with_every_check() {
        let (auth, revocations) = with_revocations();
        let access = |jti: &str, account: &str| {
            mint(
                serde_json::json!({"jti": jti, "client_id": "app", "account_id": account,
                "scope": "orders:read customer:read"}),
            )
        };
        let customer = |jti: &str, id: &str| {
            mint(
                serde_json::json!({"jti": jti, "client_id": "app", "account_id": "acct",
                "customer_id": id, "token_use": "customer", "scope": "customer:read"}),
            )
        };
        let decide = |h: &http::HeaderMap| auth.authenticate(h).now_or_never().unwrap();
        // Until a token is in this thread's slots (its second shared-cache
        // hit), the owned path answers.
        let h = pair(&access("a1", "acct"), &customer("c1", "cust-1"));
        assert!(pair_path(&auth, &h).is_none());
        for _ in 0..3 {
            let ctx = decide(&h).unwrap().unwrap();
            assert_eq!(ctx.customer(), Some("cust-1"));
        }
        let Some(Ok(Decision::Authenticated(ctx))) = pair_path(&auth, &h) else {
            panic!("the cached pair was not decided on the borrowed path");
        };
        assert_eq!(ctx.customer(), Some("cust-1"));
        assert_eq!(ctx.account(), Some("acct"));

        // Revoking the customer token is honoured on the next request.
        revocations.revoke_jti("c1", 4_000_000_000);
        let Some(Err(e)) = pair_path(&auth, &h) else {
            panic!("a revoked customer token was accepted");
        };
        assert_eq!(e.kind(), AuthErrorKind::InvalidToken);
        assert!(decide(&h).is_err());

        // So is revoking the access token.
        let h = pair(&access("a2", "acct"), &customer("c2", "cust-2"));
        for _ in 0..3 {
            assert!(decide(&h).unwrap().is_some());
        }
        assert!(matches!(pair_path(&auth, &h), Some(Ok(_))));
        revocations.revoke_jti("a2", 4_000_000_000);
        assert!(matches!(pair_path(&auth, &h), Some(Err(_))));
        assert!(decide(&h).is_err());

        // Two tokens that each verify but belong to different accounts are
        // refused on every request, cached or not.
        let h = pair(&access("a3", "other"), &customer("c3", "cust-3"));
        for _ in 0..3 {
            let e = decide(&h).unwrap_err();
            assert_eq!(
                e.description(),
                "the customer token belongs to another app or account"
            );
        }
        let Some(Err(e)) = pair_path(&auth, &h) else {
            panic!("a mismatched pair in the slots was not refused");
        };
        assert_eq!(e.kind(), AuthErrorKind::InsufficientScope);
        assert_eq!(
            e.description(),
            "the customer token belongs to another app or account"
        );
    }

    /// With a revocation list, a JWT's `jti` and `iat` are kept while it
    /// is parsed: the per-request check builds no map of every claim, and
    /// reads exactly what the claims would give, whatever their types.
    #[test]
    fn a_revocation_check_reads_the_kept_marks_not_a_claims_map() {
        use crate::context::TokenMarks;
        let (auth, revocations) = with_revocations();
        let bearer = |token: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("authorization", format!("Bearer {token}").parse().unwrap());
            h
        };
        let shapes = [
            serde_json::json!({"jti": "j1", "iat": 1_700_000_000u64}),
            serde_json::json!({"jti": "j2", "iat": 1_700_000_000.9}),
            serde_json::json!({"jti": "", "iat": 0}),
            serde_json::json!({"iat": 1_700_000_000u64}),
            serde_json::json!({"jti": "j4"}),
            serde_json::json!({}),
        ];
        for claims in shapes {
            let token = mint(claims.clone());
            let ctx = auth
                .authenticate(&bearer(&token))
                .now_or_never()
                .unwrap()
                .unwrap()
                .unwrap();
            assert!(
                !ctx.claim_set().is_built(),
                "{claims}: the check built the claims map"
            );
            let raw = ctx.raw_claims();
            assert_eq!(
                ctx.marks(),
                Some(&TokenMarks::of(raw.get("jti"), raw.get("iat"))),
                "{claims}"
            );
        }
        // Claims the verifier refuses never reach the list.
        for claims in [
            serde_json::json!({"jti": 7}),
            serde_json::json!({"iat": "1700000000"}),
        ] {
            assert!(
                auth.authenticate(&bearer(&mint(claims)))
                    .now_or_never()
                    .unwrap()
                    .is_err()
            );
        }
        // And they are what the list checks: revoked, refused.
        let token = mint(serde_json::json!({"jti": "j3"}));
        assert!(
            auth.authenticate(&bearer(&token))
                .now_or_never()
                .unwrap()
                .is_ok()
        );
        revocations.revoke_jti("j3", 4_000_000_000);
        assert!(
            auth.authenticate(&bearer(&token))
                .now_or_never()
                .unwrap()
                .is_err()
        );
    }
}
