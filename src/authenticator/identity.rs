//! Verifying JWTs (access and customer tokens, through the verified-token
//! cache) and mapping their claims to an [`Identity`], then to an
//! [`AuthContext`].

use super::Authenticator;
use crate::config::TokenMarker;
use crate::context::{AuthContext, ClaimSet, ContextParts, CredentialKinds, TokenMarks};
use crate::error::{AuthError, AuthErrorKind};
use crate::jwt::{IssuerVerifier, Rejection, token};
use crate::scope::ScopeSet;
use crate::session::SessionId;
use crate::telemetry;
use std::borrow::Cow;
use std::sync::Arc;

pub(super) enum VerifyError {
    Refuse(AuthErrorKind, &'static str),
    NeedKeys {
        issuer: usize,
        generation: u64,
    },
    /// An opaque access token: only the introspection endpoint can answer.
    NeedIntrospection,
}

/// Which kind of JWT a token must be.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum TokenKind {
    Access = 1,
    Customer = 2,
}

/// One verified credential, before credentials are combined.
pub(super) struct Identity {
    pub(super) kind: CredentialKinds,
    pub(super) issuer: Option<Box<str>>,
    pub(super) account: Option<Box<str>>,
    pub(super) client_id: Option<Box<str>>,
    pub(super) subject: Option<Box<str>>,
    pub(super) customer: Option<Box<str>>,
    pub(super) session: Option<SessionId>,
    pub(super) attribution: Option<Box<str>>,
    pub(super) scopes: ScopeSet,
    pub(super) expires_at: Option<u64>,
    pub(super) claims: ClaimSet,
    /// A customer token's `jti` (for revoking it at logout).
    pub(super) token_id: Option<Box<str>>,
    /// Kept for the revocation list, when there is one.
    pub(super) marks: Option<Box<TokenMarks>>,
}

/// What the verified-token cache needs to know about a verified token.
struct CacheMeta {
    valid_until: f64,
    valid_from: Option<f64>,
    issuer: usize,
    generation: u64,
}

/// An identifier claim (`sub`, the account, client and customer claims):
/// absent, or a non-empty string. Any other type is refused, never coerced:
/// a number is not silently the string of its digits, and an object or array
/// is not silently absent.
pub(super) fn claim_text(
    value: Option<&serde_json::Value>,
) -> Result<Option<Box<str>>, VerifyError> {
    match value {
        None => Ok(None),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str().into())),
        Some(_) => Err(VerifyError::Refuse(
            AuthErrorKind::InvalidToken,
            "an identifier claim is malformed",
        )),
    }
}

/// [`claim_text`] of a value the caller owns: its string is moved into
/// the answer, not copied.
pub(super) fn claim_text_owned(
    value: Option<serde_json::Value>,
) -> Result<Option<Box<str>>, VerifyError> {
    match value {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(Some(s.into_boxed_str())),
        other => claim_text(other.as_ref()),
    }
}

impl TokenMarker {
    /// Whether `tok` carries this marker; `claim` is the value of the
    /// marker's claim, if it is one.
    fn matches(&self, claim: Option<&serde_json::Value>, tok: &token::UnverifiedToken<'_>) -> bool {
        match self {
            TokenMarker::Claim { value, .. } => {
                claim.and_then(|v| v.as_str()) == Some(value.as_str())
            }
            TokenMarker::Typ { typ } => token::typ_matches(tok.typ.as_deref(), typ),
        }
    }
}

impl Authenticator {
    /// Verifies one access token (the `Authorization: Bearer` value) on its own.
    ///
    /// This checks the token only: a DPoP-bound token (see
    /// [`AuthContext::binding`]) verifies here without a proof, as token
    /// introspection needs. To authenticate a request, use
    /// [`decide`](Self::decide) or [`authenticate`](Self::authenticate),
    /// which check the proof.
    pub async fn verify_access_token(&self, token: &str) -> Result<AuthContext, AuthError> {
        self.verify_jwt_async(token, TokenKind::Access).await
    }

    pub(super) async fn verify_jwt_async(
        &self,
        raw: &str,
        kind: TokenKind,
    ) -> Result<AuthContext, AuthError> {
        match self.verify_jwt_now(raw, kind, true) {
            Ok(id) => Ok(id),
            Err(VerifyError::Refuse(k, desc)) => Err(self.error(k, desc)),
            Err(VerifyError::NeedIntrospection) => self.introspect_opaque(raw).await,
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
                    VerifyError::NeedKeys { .. } | VerifyError::NeedIntrospection => self.error(
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
    pub(super) fn generation(&self, kind: TokenKind, idx: usize) -> u64 {
        self.issuers_for(kind)
            .get(idx)
            .and_then(|i| i.remote.as_ref())
            .map_or(0, |r| r.generation())
    }

    pub(super) fn verify_jwt_now(
        &self,
        raw: &str,
        kind: TokenKind,
        allow_fetch: bool,
    ) -> Result<AuthContext, VerifyError> {
        if kind == TokenKind::Access
            && self.engine.introspector.is_some()
            && super::opaque::is_opaque(raw)
        {
            return Err(VerifyError::NeedIntrospection);
        }
        let ctx = self.verify_jwt_cached(raw, kind, allow_fetch)?;
        self.still_valid(&ctx)?;
        Ok(ctx)
    }

    /// The checks that hold whatever verified the token, on every request
    /// (cached or not): the client is active and the token not revoked.
    pub(super) fn still_valid(&self, ctx: &AuthContext) -> Result<(), VerifyError> {
        if let (Some(status), Some(client)) = (&self.engine.client_status, ctx.client_id())
            && !status.is_active(client)
        {
            return Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the client is deactivated",
            ));
        }
        if let Some(revocations) = &self.engine.revocations
            && revocations.is_revoked(ctx)
        {
            return Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the token has been revoked",
            ));
        }
        Ok(())
    }

    /// The verified-token cache's entry for exactly these bytes, if it is
    /// still valid (expiry, not-before and key-set generation checked),
    /// with its issuer's index.
    pub(super) fn cache_lookup(
        &self,
        raw: &[u8],
        kind: TokenKind,
        now: f64,
    ) -> Option<(AuthContext, usize)> {
        let cache = self.engine.cache.as_ref()?;
        cache.get(&cache.query(kind as u8, raw), now, |idx| {
            self.generation(kind, idx)
        })
    }

    /// A [`cache_lookup`](Self::cache_lookup) hit, answered as
    /// [`verify_jwt_now`](Self::verify_jwt_now) answers one.
    pub(super) fn verified_from_cache<'c>(
        &self,
        ctx: Cow<'c, AuthContext>,
        issuer: usize,
        kind: TokenKind,
    ) -> Result<Cow<'c, AuthContext>, VerifyError> {
        self.cache_hit(issuer, kind);
        self.still_valid(&ctx)?;
        Ok(ctx)
    }

    /// What every cache hit does: it drives the background refresh of
    /// remote keys, and is counted.
    fn cache_hit(&self, issuer: usize, kind: TokenKind) {
        if let Some(remote) = self
            .issuers_for(kind)
            .get(issuer)
            .and_then(|i| i.remote.as_ref())
        {
            remote.refresh_if_due();
        }
        telemetry::token_cache(true);
    }

    fn verify_jwt_cached(
        &self,
        raw: &str,
        kind: TokenKind,
        allow_fetch: bool,
    ) -> Result<AuthContext, VerifyError> {
        let Some(cache) = &self.engine.cache else {
            return self
                .verify_jwt_timed(raw, kind, allow_fetch)
                .map(|(ctx, _)| ctx);
        };
        let key = cache.query(kind as u8, raw.as_bytes());
        let now = crate::jwt::now_secs();
        if let Some((ctx, idx)) = cache.get(&key, now, |idx| self.generation(kind, idx)) {
            self.cache_hit(idx, kind);
            return Ok(ctx);
        }
        telemetry::token_cache(false);
        let (ctx, meta) = self.verify_jwt_timed(raw, kind, allow_fetch)?;
        cache.insert(
            &key,
            ctx.clone(),
            meta.valid_until,
            meta.valid_from,
            meta.issuer,
            meta.generation,
        );
        telemetry::token_cache_entries(cache.len());
        Ok(ctx)
    }

    /// [`verify_jwt_uncached`](Self::verify_jwt_uncached), timed.
    fn verify_jwt_timed(
        &self,
        raw: &str,
        kind: TokenKind,
        allow_fetch: bool,
    ) -> Result<(AuthContext, CacheMeta), VerifyError> {
        let timer = telemetry::Timer::start();
        let result = self.verify_jwt_uncached(raw, kind, allow_fetch);
        timer.stop(telemetry::Timed::Verify);
        result
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
        // The claims read below, kept as the payload is parsed
        // (`jwt::claims`); the map of all claims is built only on demand.
        let names = &self.engine.claims;
        let (account_name, client_name, customer_name) = match (kind, &self.engine.customer) {
            (TokenKind::Customer, Some(c)) => {
                (&*c.account_claim, &*c.client_claim, &*c.customer_claim)
            }
            _ => (&*names.account, &*names.client_id, &*names.customer),
        };
        let marker_claim = match self.engine.customer.as_ref().map(|c| &c.marker) {
            Some(TokenMarker::Claim { claim, .. }) => claim.as_str(),
            _ => "",
        };
        let tok = token::parse_picking(
            raw,
            &[
                &names.scope,
                account_name,
                client_name,
                customer_name,
                marker_claim,
            ],
        )
        .map_err(|e| refuse(e.description()))?;
        let [scope, _, _, _, marker] = [0, 1, 2, 3, 4].map(|i| tok.picked.named(i));
        // Type confusion is refused both ways: a customer token is never an
        // access token, and only a marked token is a customer token.
        let marked = self
            .engine
            .customer
            .as_ref()
            .map(|c| c.marker.matches(marker, &tok));
        match (kind, marked) {
            (TokenKind::Access, Some(true)) => {
                return Err(refuse("a customer token cannot be used as an access token"));
            }
            (TokenKind::Customer, Some(false) | None) => {
                return Err(refuse("the token is not a customer token"));
            }
            _ => {}
        }
        let registered = tok.picked.registered();
        let iss = registered.iss.and_then(|v| v.as_str());
        let issuers = self.issuers_for(kind);
        let Some((idx, issuer)) = issuers
            .iter()
            .enumerate()
            .find(|(_, i)| iss == Some(&*i.issuer))
        else {
            return Err(refuse("the token issuer is not accepted"));
        };
        let generation = issuer.remote.as_ref().map_or(0, |r| r.generation());
        issuer
            .verify(&tok, &registered, allow_fetch)
            .map_err(|r| match r {
                Rejection::Refuse(kind, desc) => {
                    tracing::debug!(reason = desc, "tollgate: token refused");
                    VerifyError::Refuse(kind, desc)
                }
                Rejection::NeedKeys(generation) => VerifyError::NeedKeys {
                    issuer: idx,
                    generation,
                },
            })?;
        let rules = &self.engine.shared.scope_rules;
        let mut scopes = self.scope_value(scope)?;
        let exp = registered.exp.and_then(|v| v.as_f64());
        let leeway = issuer.leeway_secs as f64;
        let meta = CacheMeta {
            valid_until: exp.unwrap_or(0.0) + leeway,
            valid_from: registered.nbf.and_then(|v| v.as_f64()).map(|n| n - leeway),
            issuer: idx,
            generation,
        };
        // Read before `jti` is moved out below.
        let marks = self
            .engine
            .revocations
            .is_some()
            .then(|| Box::new(TokenMarks::of(registered.jti, registered.iat)));
        // The identifiers are moved out of the parse into the context.
        let mut picked = tok.picked;
        let [account, client_id, customer] = [1, 2, 3].map(|i| picked.take_named(i));
        let id = match (kind, &self.engine.customer) {
            (TokenKind::Customer, Some(c)) => {
                let Some(customer) = claim_text_owned(customer)? else {
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
                    account: claim_text_owned(account)?,
                    client_id: claim_text_owned(client_id)?,
                    subject: claim_text_owned(picked.take_sub())?,
                    customer: Some(customer),
                    session: None,
                    attribution: None,
                    scopes: grant,
                    expires_at: exp.map(|f| f as u64),
                    token_id: match picked.take_jti() {
                        Some(serde_json::Value::String(jti)) => Some(jti.into_boxed_str()),
                        _ => None,
                    },
                    claims: tok.claims,
                    marks,
                }
            }
            _ => Identity {
                kind: CredentialKinds::ACCESS_TOKEN,
                issuer: Some(issuer.issuer.clone()),
                account: claim_text_owned(account)?,
                client_id: claim_text_owned(client_id)?,
                subject: claim_text_owned(picked.take_sub())?,
                // A user token (authorization-code login) names its customer.
                customer: claim_text_owned(customer)?,
                session: None,
                attribution: None,
                scopes: scopes.unwrap_or_default(),
                expires_at: exp.map(|f| f as u64),
                token_id: None,
                claims: tok.claims,
                marks,
            },
        };
        Ok((self.context(id), meta))
    }

    /// The scope claim: a space-delimited string or an array of strings.
    pub(super) fn scope_claim(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<ScopeSet>, VerifyError> {
        self.scope_value(claims.get(&self.engine.claims.scope))
    }

    /// A scope claim's value, if present.
    fn scope_value(
        &self,
        value: Option<&serde_json::Value>,
    ) -> Result<Option<ScopeSet>, VerifyError> {
        let rules = &self.engine.shared.scope_rules;
        match value {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(ScopeSet::parse_delimited(s, rules))),
            Some(serde_json::Value::Array(items)) if items.iter().all(|v| v.is_string()) => {
                Ok(Some(ScopeSet::from_strs(
                    items.iter().filter_map(|v| v.as_str()),
                    rules,
                )))
            }
            Some(_) => Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "the scope claim is malformed",
            )),
        }
    }

    pub(super) fn context(&self, id: Identity) -> AuthContext {
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
                    id.token_id
                } else {
                    None
                },
                customer_token_expires_at: if id.kind == CredentialKinds::CUSTOMER_TOKEN {
                    id.expires_at
                } else {
                    None
                },
                marks: id.marks,
                claims: id.claims,
            },
            self.engine.shared.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match value {
            serde_json::Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn refused(r: Result<Option<Box<str>>, VerifyError>) -> bool {
        matches!(
            r,
            Err(VerifyError::Refuse(
                AuthErrorKind::InvalidToken,
                "an identifier claim is malformed"
            ))
        )
    }

    #[test]
    fn claim_text_accepts_a_non_empty_string() {
        let c = claims(json!({ "sub": "user-1" }));
        assert!(matches!(claim_text(c.get("sub")), Ok(Some(s)) if &*s == "user-1"));
    }

    #[test]
    fn claim_text_absent_is_none() {
        let c = claims(json!({ "sub": "user-1" }));
        assert!(matches!(claim_text(c.get("acct")), Ok(None)));
    }

    #[test]
    fn claim_text_refuses_other_types_and_empty() {
        for value in [
            json!(42),
            json!(4.2),
            json!({ "id": "x" }),
            json!(["x"]),
            json!([]),
            json!(""),
            json!(true),
            json!(null),
        ] {
            let c = claims(json!({ "acct": value }));
            assert!(
                refused(claim_text(c.get("acct"))),
                "{value} was not refused"
            );
        }
    }
}
