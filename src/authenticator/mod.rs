//! The engine: request credentials → verifiers → [`AuthContext`].
//!
//! Every adapter (tower, axum, and later actix) calls [`Authenticator`] and
//! only translates its answer; no check lives anywhere else.
//!
//! ```
//! use tollgate::{Authenticator, IssuerConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let auth = Authenticator::builder()
//!     .issuer(
//!         IssuerConfig::new("https://issuer.example")
//!             .audience("orders-api")
//!             .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
//!     )
//!     .build()
//!     .unwrap();
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("authorization", "Bearer not-a-jwt".parse().unwrap());
//! let err = auth.authenticate(&headers).await.unwrap_err();
//! assert_eq!(err.status(), 401);
//! # });
//! ```

mod build;

pub use build::{AuthenticatorBuilder, install_crypto_backend};

use crate::config::{ClaimNames, TokenMarker};
use crate::context::{AuthContext, ContextParts, ContextShared, CredentialKinds};
use crate::credentials::{self, CredentialSources, CredentialsError, RequestParts};
use crate::error::{AuthError, AuthErrorKind};
use crate::jwt::cache::TokenCache;
use crate::jwt::{IssuerVerifier, Rejection, token};
use crate::scope::ScopeSet;
use crate::session::{SessionId, SessionStore, StoreError};
use std::fmt;
use std::sync::Arc;

/// Verifies credentials and builds [`AuthContext`]s. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    engine: Arc<Engine>,
}

struct Engine {
    client_status: Option<Arc<dyn ClientStatus>>,
    revocations: Option<Arc<dyn crate::revocation::Revocations>>,
    basic: Option<Arc<dyn crate::basic::BasicVerifier>>,
    attribution: Option<AttributionRules>,
    issuers: Vec<Arc<IssuerVerifier>>,
    cache: Option<TokenCache>,
    customer: Option<CustomerRules>,
    sessions: Option<SessionRules>,
    sources: CredentialSources,
    claims: ClaimNames,
    shared: Arc<ContextShared>,
    allow_cors_preflight: bool,
}

struct CustomerRules {
    header: String,
    issuers: Vec<Arc<IssuerVerifier>>,
    marker: TokenMarker,
    customer_claim: String,
    client_claim: String,
    account_claim: String,
    allow_alone: bool,
    grant: ScopeSet,
}

struct AttributionRules {
    header: String,
    policy: Option<Arc<dyn AttributionPolicy>>,
}

struct SessionRules {
    store: Arc<dyn SessionStore>,
    header: Option<String>,
    cookie: Option<String>,
    /// Recently unknown session IDs (SHA-256) → when they were looked up (ms).
    unknown: Option<quick_cache::sync::Cache<[u8; 32], u64>>,
    negative_ttl_ms: u64,
}

/// Tells whether an API client may still use its tokens, so deactivating a
/// client takes effect before its tokens expire. Consulted on every request
/// that carries an access token (cached tokens included): keep it cheap, and
/// document the delay of any caching you add behind it.
pub trait ClientStatus: Send + Sync + std::fmt::Debug + 'static {
    /// Whether `client_id` is active.
    fn is_active(&self, client_id: &str) -> bool;
}

/// Decides what a client's writes are attributed to: the requested value
/// (from the attribution header) if the client may use it, else its default.
pub trait AttributionPolicy: Send + Sync + std::fmt::Debug + 'static {
    /// `Ok(value)` to use, or `Err(())` when `requested` is not allowed.
    #[allow(clippy::result_unit_err)]
    fn resolve(&self, client_id: &str, requested: Option<&str>) -> Result<Option<String>, ()>;
}

/// Whether a request without credentials may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse requests without credentials (401).
    Required,
    /// Let requests without credentials through; present credentials must
    /// still verify.
    Optional,
}

/// What the engine decided for a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Decision {
    /// Credentials verified.
    Authenticated(AuthContext),
    /// No credentials, and the mode lets the request through.
    Anonymous,
    /// A CORS preflight, let through unauthenticated.
    Preflight,
}

/// Outcome of the synchronous fast path.
#[cfg_attr(not(any(feature = "tower", feature = "actix")), allow(dead_code))]
pub(crate) enum Attempt {
    Done(Result<Decision, AuthError>),
    /// A key fetch or a session lookup must be awaited: use the async path.
    NeedsAsync,
}

enum VerifyError {
    Refuse(AuthErrorKind, &'static str),
    NeedKeys { issuer: usize, generation: u64 },
}

/// Which kind of JWT a token must be.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum TokenKind {
    Access = 1,
    Customer = 2,
}

/// One verified credential, before credentials are combined.
struct Identity {
    kind: CredentialKinds,
    issuer: Option<Box<str>>,
    account: Option<Box<str>>,
    client_id: Option<Box<str>>,
    subject: Option<Box<str>>,
    customer: Option<Box<str>>,
    session: Option<SessionId>,
    attribution: Option<Box<str>>,
    scopes: ScopeSet,
    expires_at: Option<u64>,
    claims: serde_json::Map<String, serde_json::Value>,
}

/// What the verified-token cache needs to know about a verified token.
struct CacheMeta {
    valid_until: f64,
    valid_from: Option<f64>,
    issuer: usize,
    generation: u64,
}

/// The credentials of one request, borrowed from it.
struct Presented<'r> {
    bearer: Option<&'r str>,
    customer_token: Option<&'r str>,
    session: Option<&'r str>,
    /// The `Authorization: Basic` value, when a basic verifier is configured.
    basic: Option<&'r [u8]>,
    /// The attribution header's value, when attribution is configured.
    attribution: Option<&'r str>,
    other_scheme: bool,
}

/// An identifier claim (`sub`, the account, client and customer claims):
/// absent, or a non-empty string. Any other type is refused, never coerced:
/// a number is not silently the string of its digits, and an object or array
/// is not silently absent.
impl Presented<'_> {
    fn has_credentials(&self) -> bool {
        self.bearer.is_some()
            || self.customer_token.is_some()
            || self.session.is_some()
            || self.basic.is_some()
            || self.other_scheme
    }
}

fn claim_text(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<Box<str>>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str().into())),
        Some(_) => Err(VerifyError::Refuse(
            AuthErrorKind::InvalidToken,
            "an identifier claim is malformed",
        )),
    }
}

impl TokenMarker {
    fn matches(&self, tok: &token::UnverifiedToken<'_>) -> bool {
        match self {
            TokenMarker::Claim { claim, value } => {
                tok.claims.get(claim).and_then(|v| v.as_str()) == Some(value.as_str())
            }
            TokenMarker::Typ { typ } => token::typ_matches(tok.typ.as_deref(), typ),
        }
    }
}

impl Authenticator {
    /// Starts a builder.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    fn error(&self, kind: AuthErrorKind, desc: &'static str) -> AuthError {
        AuthError::new(kind, desc, &self.engine.shared.errors)
    }

    /// The 401 for a request without credentials.
    pub fn missing_credentials(&self) -> AuthError {
        self.error(AuthErrorKind::Missing, "credentials are required")
    }

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
    pub async fn decide<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        mode: Mode,
    ) -> Result<Decision, AuthError> {
        let presented = self.extract(req)?;
        if self.is_cors_preflight(req, &presented) {
            return Ok(Decision::Preflight);
        }
        let access = match presented.bearer {
            Some(raw) => Some(self.verify_jwt_async(raw, TokenKind::Access).await?),
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
    #[cfg_attr(not(any(feature = "tower", feature = "actix")), allow(dead_code))]
    pub(crate) fn try_decide<R: RequestParts + ?Sized>(&self, req: &R, mode: Mode) -> Attempt {
        let presented = match self.extract(req) {
            Ok(p) => p,
            Err(e) => return Attempt::Done(Err(e)),
        };
        if self.is_cors_preflight(req, &presented) {
            return Attempt::Done(Ok(Decision::Preflight));
        }
        if presented.session.is_some() || presented.basic.is_some() {
            return Attempt::NeedsAsync;
        }
        let verify = |raw: Option<&str>, kind| match raw {
            None => Ok(None),
            Some(raw) => self.verify_jwt_now(raw, kind, true).map(Some),
        };
        let access = verify(presented.bearer, TokenKind::Access);
        let customer = verify(presented.customer_token, TokenKind::Customer);
        match (access, customer) {
            (Ok(a), Ok(c)) => Attempt::Done(
                self.combine([a, c, None, None], presented.other_scheme, mode)
                    .and_then(|d| self.attribute(d, presented.attribution)),
            ),
            // A definite refusal of either credential is final.
            (Err(VerifyError::Refuse(kind, desc)), _)
            | (_, Err(VerifyError::Refuse(kind, desc))) => {
                Attempt::Done(Err(self.error(kind, desc)))
            }
            _ => Attempt::NeedsAsync,
        }
    }

    /// Whether this is a CORS preflight that passes unauthenticated: only
    /// when [`allow_cors_preflight`](AuthenticatorBuilder::allow_cors_preflight)
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
        Ok(Presented {
            bearer: creds.bearer.map(|b| b.as_str()),
            customer_token,
            session,
            other_scheme: creds.other_scheme && basic.is_none(),
            basic,
            attribution,
        })
    }

    /// Verifies one access token (the `Authorization: Bearer` value) on its own.
    pub async fn verify_access_token(&self, token: &str) -> Result<AuthContext, AuthError> {
        self.verify_jwt_async(token, TokenKind::Access).await
    }

    async fn verify_jwt_async(&self, raw: &str, kind: TokenKind) -> Result<AuthContext, AuthError> {
        match self.verify_jwt_now(raw, kind, true) {
            Ok(id) => Ok(id),
            Err(VerifyError::Refuse(k, desc)) => Err(self.error(k, desc)),
            Err(VerifyError::NeedKeys { issuer, generation }) => {
                let remote = self
                    .issuers_for(kind)
                    .get(issuer)
                    .and_then(|i| i.remote.clone());
                if let Some(remote) = remote {
                    remote.refresh_for(generation).await;
                }
                self.verify_jwt_now(raw, kind, false).map_err(|e| match e {
                    VerifyError::Refuse(k, desc) => self.error(k, desc),
                    VerifyError::NeedKeys { .. } => self.error(
                        AuthErrorKind::Unavailable,
                        "the issuer's keys are unavailable",
                    ),
                })
            }
        }
    }

    fn issuers_for(&self, kind: TokenKind) -> &[Arc<IssuerVerifier>] {
        match (kind, &self.engine.customer) {
            (TokenKind::Customer, Some(rules)) => &rules.issuers,
            _ => &self.engine.issuers,
        }
    }

    /// Key-set generation of issuer `idx` for `kind` (0 for static keys).
    fn generation(&self, kind: TokenKind, idx: usize) -> u64 {
        self.issuers_for(kind)
            .get(idx)
            .and_then(|i| i.remote.as_ref())
            .map_or(0, |r| r.generation())
    }

    fn verify_jwt_now(
        &self,
        raw: &str,
        kind: TokenKind,
        allow_fetch: bool,
    ) -> Result<AuthContext, VerifyError> {
        let ctx = self.verify_jwt_cached(raw, kind, allow_fetch)?;
        if let (Some(status), Some(client)) = (&self.engine.client_status, ctx.client_id())
            && !status.is_active(client)
        {
            return Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the client is deactivated",
            ));
        }
        if let Some(revocations) = &self.engine.revocations
            && revocations.is_revoked(&ctx)
        {
            return Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the token has been revoked",
            ));
        }
        Ok(ctx)
    }

    fn verify_jwt_cached(
        &self,
        raw: &str,
        kind: TokenKind,
        allow_fetch: bool,
    ) -> Result<AuthContext, VerifyError> {
        let Some(cache) = &self.engine.cache else {
            return self
                .verify_jwt_uncached(raw, kind, allow_fetch)
                .map(|(ctx, _)| ctx);
        };
        let key = TokenCache::key(kind as u8, raw);
        let now = crate::jwt::now_secs();
        if let Some((ctx, idx)) = cache.get(&key, now, |idx| self.generation(kind, idx)) {
            // Hits still drive the background refresh of remote keys.
            if let Some(remote) = self
                .issuers_for(kind)
                .get(idx)
                .and_then(|i| i.remote.as_ref())
            {
                remote.refresh_if_due();
            }
            return Ok(ctx);
        }
        let (ctx, meta) = self.verify_jwt_uncached(raw, kind, allow_fetch)?;
        cache.insert(
            key,
            raw.len(),
            ctx.clone(),
            meta.valid_until,
            meta.valid_from,
            meta.issuer,
            meta.generation,
        );
        Ok(ctx)
    }

    fn verify_jwt_uncached(
        &self,
        raw: &str,
        kind: TokenKind,
        allow_fetch: bool,
    ) -> Result<(AuthContext, CacheMeta), VerifyError> {
        let refuse = |desc| VerifyError::Refuse(AuthErrorKind::InvalidToken, desc);
        if raw.len() > self.engine.sources.max_token_bytes {
            return Err(refuse("the token exceeds the size limit"));
        }
        let tok = token::parse(raw).map_err(|e| refuse(e.description()))?;
        // Type confusion is refused both ways: a customer token is never an
        // access token, and only a marked token is a customer token.
        let marked = self
            .engine
            .customer
            .as_ref()
            .map(|c| c.marker.matches(&tok));
        match (kind, marked) {
            (TokenKind::Access, Some(true)) => {
                return Err(refuse("a customer token cannot be used as an access token"));
            }
            (TokenKind::Customer, Some(false) | None) => {
                return Err(refuse("the token is not a customer token"));
            }
            _ => {}
        }
        let iss = tok.claims.get("iss").and_then(|v| v.as_str());
        let issuers = self.issuers_for(kind);
        let Some((idx, issuer)) = issuers
            .iter()
            .enumerate()
            .find(|(_, i)| iss == Some(&*i.issuer))
        else {
            return Err(refuse("the token issuer is not accepted"));
        };
        let generation = issuer.remote.as_ref().map_or(0, |r| r.generation());
        issuer.verify(&tok, allow_fetch).map_err(|r| match r {
            Rejection::Refuse(kind, desc) => {
                tracing::debug!(reason = desc, "tollgate: token refused");
                VerifyError::Refuse(kind, desc)
            }
            Rejection::NeedKeys(generation) => VerifyError::NeedKeys {
                issuer: idx,
                generation,
            },
        })?;
        let claims = tok.claims;
        let names = &self.engine.claims;
        let rules = &self.engine.shared.scope_rules;
        let mut scopes = match claims.get(&names.scope) {
            None => None,
            Some(serde_json::Value::String(s)) => Some(ScopeSet::parse_delimited(s, rules)),
            Some(serde_json::Value::Array(items)) if items.iter().all(|v| v.is_string()) => Some(
                ScopeSet::from_strs(items.iter().filter_map(|v| v.as_str()), rules),
            ),
            Some(_) => return Err(refuse("the scope claim is malformed")),
        };
        let expires_at = claims.get("exp").and_then(|v| v.as_f64()).map(|f| f as u64);
        let leeway = issuer.leeway_secs as f64;
        let meta = CacheMeta {
            valid_until: claims.get("exp").and_then(|v| v.as_f64()).unwrap_or(0.0) + leeway,
            valid_from: claims
                .get("nbf")
                .and_then(|v| v.as_f64())
                .map(|n| n - leeway),
            issuer: idx,
            generation,
        };
        let id = match (kind, &self.engine.customer) {
            (TokenKind::Customer, Some(c)) => {
                let Some(customer) = claim_text(&claims, &c.customer_claim)? else {
                    return Err(refuse("the customer token has no customer claim"));
                };
                // A customer grant caps what the token may do; a scope
                // claim in the token narrows it further.
                let grant = match scopes.take() {
                    Some(own) => own.intersection(&c.grant, rules),
                    None => c.grant.clone(),
                };
                Identity {
                    kind: CredentialKinds::CUSTOMER_TOKEN,
                    issuer: Some(issuer.issuer.clone()),
                    account: claim_text(&claims, &c.account_claim)?,
                    client_id: claim_text(&claims, &c.client_claim)?,
                    subject: claim_text(&claims, "sub")?,
                    customer: Some(customer),
                    session: None,
                    attribution: None,
                    scopes: grant,
                    expires_at,
                    claims,
                }
            }
            _ => Identity {
                kind: CredentialKinds::ACCESS_TOKEN,
                issuer: Some(issuer.issuer.clone()),
                account: claim_text(&claims, &names.account)?,
                client_id: claim_text(&claims, &names.client_id)?,
                subject: claim_text(&claims, "sub")?,
                customer: None,
                session: None,
                attribution: None,
                scopes: scopes.unwrap_or_default(),
                expires_at,
                claims,
            },
        };
        Ok((self.context(id), meta))
    }

    async fn load_session(&self, raw: &str) -> Result<AuthContext, AuthError> {
        let Some(rules) = &self.engine.sessions else {
            return Err(self.error(AuthErrorKind::InvalidToken, "sessions are not enabled"));
        };
        // Format-checked before any store lookup.
        let Some(id) = SessionId::parse(raw) else {
            return Err(self.error(AuthErrorKind::InvalidToken, "the session id is malformed"));
        };
        let unavailable = |e: StoreError| {
            tracing::warn!(error = %e, "tollgate: session store unavailable");
            self.error(
                AuthErrorKind::Unavailable,
                "the session store is unavailable",
            )
        };
        // The ID is already 256 random bits: its text is a fine key as is.
        let unknown_key = rules.unknown.as_ref().map(|_| id.cache_key());
        if let (Some(unknown), Some(key)) = (&rules.unknown, &unknown_key)
            && let Some(at) = unknown.get(key)
        {
            if crate::session::now_ms().saturating_sub(at) < rules.negative_ttl_ms {
                return Err(self.error(AuthErrorKind::InvalidToken, "unknown or expired session"));
            }
            unknown.remove(key);
        }
        let record = match rules.store.get(&id).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                if let (Some(unknown), Some(key)) = (&rules.unknown, unknown_key) {
                    unknown.insert(key, crate::session::now_ms());
                }
                return Err(self.error(AuthErrorKind::InvalidToken, "unknown or expired session"));
            }
            Err(e) => return Err(unavailable(e)),
        };
        let record = if record.idle_ttl_ms.is_some() {
            match rules.store.touch(&id).await {
                Ok(r) => r,
                Err(StoreError::NotFound) => {
                    return Err(
                        self.error(AuthErrorKind::InvalidToken, "unknown or expired session")
                    );
                }
                Err(StoreError::Conflict) => record,
                Err(e) => return Err(unavailable(e)),
            }
        } else {
            record
        };
        let rules_s = &self.engine.shared.scope_rules;
        Ok(self.context(Identity {
            kind: CredentialKinds::SESSION,
            issuer: None,
            account: Some(record.account.into_boxed_str()),
            client_id: record.client_id.map(String::into_boxed_str),
            subject: None,
            customer: record.customer.map(String::into_boxed_str),
            session: Some(record.id),
            attribution: None,
            scopes: ScopeSet::parse_delimited(&record.scopes, rules_s),
            expires_at: Some(record.expires_at_ms / 1000),
            claims: serde_json::Map::new(),
        }))
    }

    /// Combines every presented credential into one context. Each one has
    /// verified; here they must also agree with each other.
    fn combine(
        &self,
        [access, customer, session, basic]: [Option<AuthContext>; 4],
        other_scheme: bool,
        mode: Mode,
    ) -> Result<Decision, AuthError> {
        if access.is_none() && basic.is_none() && other_scheme {
            return Err(self.error(
                AuthErrorKind::Missing,
                "unsupported authorization scheme; use Bearer",
            ));
        }
        if let (None, Some(_), Some(rules)) = (&access, &customer, &self.engine.customer)
            && !rules.allow_alone
            && session.is_none()
            && basic.is_none()
        {
            return Err(self.error(
                AuthErrorKind::Missing,
                "a customer token needs the app's access token beside it",
            ));
        }
        let mut merged: Option<AuthContext> = None;
        for ctx in [access, customer, session, basic].into_iter().flatten() {
            merged = Some(match merged {
                None => ctx,
                Some(base) => self.merge(&base, &ctx)?,
            });
        }
        match (merged, mode) {
            (Some(ctx), _) => Ok(Decision::Authenticated(ctx)),
            (None, Mode::Optional) => Ok(Decision::Anonymous),
            (None, Mode::Required) => Err(self.missing_credentials()),
        }
    }

    /// Two credentials of one request: they must name the same account, app
    /// and customer (where both name one); scopes are what both allow.
    fn merge(&self, base: &AuthContext, other: &AuthContext) -> Result<AuthContext, AuthError> {
        let forbidden = |desc| AuthError::forbidden(desc, &self.engine.shared.errors);
        let differs =
            |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(a), Some(b)) if a != b);
        // The customer token binding: same app and same account, both named.
        let same =
            |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(a), Some(b)) if a == b);
        if other.credentials() == CredentialKinds::CUSTOMER_TOKEN
            && base.credentials().contains(CredentialKinds::ACCESS_TOKEN)
            && !(same(base.client_id(), other.client_id()) && same(base.account(), other.account()))
        {
            return Err(forbidden(
                "the customer token belongs to another app or account",
            ));
        }
        if differs(base.account(), other.account()) {
            return Err(forbidden("the credentials belong to different accounts"));
        }
        if differs(base.client_id(), other.client_id()) {
            return Err(forbidden("the credentials belong to different apps"));
        }
        if differs(base.customer(), other.customer()) {
            return Err(forbidden("the credentials belong to different customers"));
        }
        let rules = &self.engine.shared.scope_rules;
        let text = |a: Option<&str>, b: Option<&str>| a.or(b).map(Box::<str>::from);
        let issuer = if base.issuer().is_empty() {
            other.issuer()
        } else {
            base.issuer()
        };
        let claims = if base.raw_claims().is_empty() {
            other.raw_claims()
        } else {
            base.raw_claims()
        };
        Ok(AuthContext::new(
            ContextParts {
                issuer: issuer.into(),
                account: text(base.account(), other.account()),
                client_id: text(base.client_id(), other.client_id()),
                subject: text(base.subject(), other.subject()),
                customer: text(base.customer(), other.customer()),
                session: base.session_id().or(other.session_id()).cloned(),
                attribution: text(base.attribution(), other.attribution()),
                scopes: base.scopes().intersection(other.scopes(), rules),
                expires_at: match (base.expires_at(), other.expires_at()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                credentials: base.credentials().union(other.credentials()),
                claims: claims.clone(),
                customer_token_id: text(base.customer_token_id(), other.customer_token_id()),
            },
            self.engine.shared.clone(),
        ))
    }

    async fn verify_basic(&self, raw: &[u8]) -> Result<AuthContext, AuthError> {
        use crate::basic::BasicRejection;
        let Some(verifier) = &self.engine.basic else {
            return Err(self.missing_credentials());
        };
        let Some((user, secret)) = crate::basic::decode(raw) else {
            return Err(self.error(
                AuthErrorKind::InvalidRequest,
                "the Basic credentials are malformed",
            ));
        };
        let id = match verifier.verify(&user, &secret).await {
            Ok(id) => id,
            Err(BasicRejection::Invalid) => {
                return Err(self.error(AuthErrorKind::InvalidToken, "unknown till or wrong secret"));
            }
            Err(BasicRejection::DisabledForAccount) => {
                return Err(self.error(
                    AuthErrorKind::InvalidToken,
                    "basic credentials are switched off for this account",
                ));
            }
            Err(_) => {
                return Err(self.error(
                    AuthErrorKind::Unavailable,
                    "the basic credential verifier is unavailable",
                ));
            }
        };
        Ok(self.context(Identity {
            kind: CredentialKinds::BASIC,
            issuer: None,
            account: Some(id.account.into_boxed_str()),
            client_id: Some(id.till.into_boxed_str()),
            subject: None,
            customer: None,
            session: None,
            attribution: id.attribution.map(String::into_boxed_str),
            scopes: ScopeSet::parse_delimited(&id.scopes, &self.engine.shared.scope_rules),
            expires_at: None,
            claims: serde_json::Map::new(),
        }))
    }

    /// Sets the request's attribution: the header's value if the caller may
    /// use it (403 otherwise), else the caller's default.
    fn attribute(
        &self,
        decision: Decision,
        requested: Option<&str>,
    ) -> Result<Decision, AuthError> {
        let (Some(rules), Decision::Authenticated(ctx)) = (&self.engine.attribution, &decision)
        else {
            return Ok(decision);
        };
        let refuse = || {
            AuthError::forbidden(
                "the attribution is not allowed for this caller",
                &self.engine.shared.errors,
            )
        };
        // Tills (and any credential that carries its own attribution) may
        // only name that one.
        if let Some(own) = ctx.attribution() {
            return match requested {
                Some(r) if r != own => Err(refuse()),
                _ => Ok(decision),
            };
        }
        // The policy speaks for API clients (access tokens); other callers
        // (sessions, customer tokens alone) have no attribution to choose.
        let app = ctx.credentials().contains(CredentialKinds::ACCESS_TOKEN);
        let resolved = match (&rules.policy, ctx.client_id()) {
            (Some(policy), Some(client)) if app => {
                policy.resolve(client, requested).map_err(|()| refuse())?
            }
            _ if requested.is_some() => return Err(refuse()),
            _ => None,
        };
        Ok(match resolved {
            Some(value) => {
                Decision::Authenticated(ctx.with_attribution(Some(value.into_boxed_str())))
            }
            None => decision,
        })
    }

    fn context(&self, id: Identity) -> AuthContext {
        AuthContext::new(
            ContextParts {
                issuer: id.issuer.unwrap_or_default(),
                account: id.account,
                client_id: id.client_id,
                subject: id.subject,
                customer: id.customer,
                session: id.session,
                attribution: id.attribution,
                scopes: id.scopes,
                expires_at: id.expires_at,
                credentials: id.kind,
                customer_token_id: if id.kind == CredentialKinds::CUSTOMER_TOKEN {
                    id.claims.get("jti").and_then(|v| v.as_str()).map(Box::from)
                } else {
                    None
                },
                claims: id.claims,
            },
            self.engine.shared.clone(),
        )
    }

    /// The session store, if sessions are enabled.
    pub fn session_store(&self) -> Option<&Arc<dyn SessionStore>> {
        self.engine.sessions.as_ref().map(|s| &s.store)
    }

    /// Fetches every remote key set now, so the first requests do not wait.
    pub async fn prefetch_keys(&self) -> Result<(), AuthError> {
        let mut missing = false;
        let customer = self.engine.customer.iter().flat_map(|c| c.issuers.iter());
        for issuer in self.engine.issuers.iter().chain(customer) {
            if let Some(remote) = &issuer.remote {
                if remote.current().is_none() {
                    remote.refresh_for(remote.generation()).await;
                }
                missing |= remote.current().is_none();
            }
        }
        if missing {
            return Err(self.error(
                AuthErrorKind::Unavailable,
                "the issuer's keys are unavailable",
            ));
        }
        Ok(())
    }

    /// Total HTTP fetches of remote key sets so far (diagnostics and tests).
    pub fn key_fetch_count(&self) -> u64 {
        self.engine
            .issuers
            .iter()
            .filter_map(|i| i.remote.as_ref())
            .map(|r| r.fetch_count())
            .sum()
    }

    /// Entries in the verified-token cache (diagnostics and tests).
    pub fn cached_tokens(&self) -> usize {
        self.engine.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// The realm used in challenges.
    pub fn realm(&self) -> &str {
        &self.engine.shared.errors.realm
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field(
                "issuers",
                &self
                    .engine
                    .issuers
                    .iter()
                    .map(|i| &*i.issuer)
                    .collect::<Vec<_>>(),
            )
            .field("realm", &self.realm())
            .field("customer_tokens", &self.engine.customer.is_some())
            .field("sessions", &self.engine.sessions.is_some())
            .finish_non_exhaustive()
    }
}
