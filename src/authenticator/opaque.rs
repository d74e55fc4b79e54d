//! Opaque access tokens, answered by RFC 7662 introspection (see
//! [`crate::introspection`]): the active answer's claims become the same
//! context a JWT gives, through the same claim names, and then meet the
//! same per-request checks (client status, revocation).

use super::Authenticator;
use super::identity::{Identity, VerifyError, claim_text};
use crate::context::{AuthContext, CredentialKinds};
use crate::error::{AuthError, AuthErrorKind};
use crate::introspection::Introspected;

/// Whether `raw` is not a JWS compact serialization (three parts): only
/// such tokens are introspected, so a JWT never leaves the process.
pub(super) fn is_opaque(raw: &str) -> bool {
    raw.bytes().filter(|&b| b == b'.').count() != 2
}

impl Authenticator {
    /// Introspects an opaque access token.
    pub(super) async fn introspect_opaque(&self, raw: &str) -> Result<AuthContext, AuthError> {
        let Some(introspector) = &self.engine.introspector else {
            return Err(self.error(AuthErrorKind::InvalidToken, "the token is malformed"));
        };
        if raw.len() > self.engine.sources.max_token_bytes {
            return Err(self.error(
                AuthErrorKind::InvalidToken,
                "the token exceeds the size limit",
            ));
        }
        let leeway = self.engine.issuers.first().map_or(0, |i| i.leeway_secs);
        let answer = match introspector.introspect(raw, leeway).await {
            Introspected::Active(answer) => answer,
            Introspected::Inactive => {
                return Err(self.error(AuthErrorKind::InvalidToken, "the token is not active"));
            }
            Introspected::Unavailable => {
                return Err(self.error(
                    AuthErrorKind::Unavailable,
                    "the introspection endpoint is unavailable",
                ));
            }
        };
        // The context is built once per cached answer; the per-request
        // checks (client status, revocation) run on every use.
        let ctx = match answer.context.get() {
            Some(ctx) => Ok(ctx.clone()),
            None => self.opaque_context(&answer.claims).inspect(|ctx| {
                let _ = answer.context.set(ctx.clone());
            }),
        };
        ctx.and_then(|ctx| self.still_valid(&ctx).map(|()| ctx))
            .map_err(|e| match e {
                VerifyError::Refuse(k, d) => self.error(k, d),
                VerifyError::NeedKeys { .. } | VerifyError::NeedIntrospection => self.error(
                    AuthErrorKind::Unavailable,
                    "the introspection endpoint is unavailable",
                ),
            })
    }

    fn opaque_context(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<AuthContext, VerifyError> {
        let names = &self.engine.claims;
        let scopes = self.scope_claim(claims)?.unwrap_or_default();
        let expires_at = claims
            .get("exp")
            .and_then(serde_json::Value::as_f64)
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64);
        let issuer = claim_text(claims.get("iss"))?;
        let id = Identity {
            kind: CredentialKinds::ACCESS_TOKEN,
            issuer,
            account: claim_text(claims.get(&names.account))?,
            client_id: claim_text(claims.get(&names.client_id))?,
            subject: claim_text(claims.get("sub"))?,
            customer: claim_text(claims.get(&names.customer))?,
            session: None,
            attribution: None,
            scopes,
            expires_at,
            claims: crate::context::ClaimSet::from_map(claims.clone()),
            token_id: None,
            marks: None,
        };
        Ok(self.context(id))
    }
}

#[cfg(test)]
mod tests {
    use super::is_opaque;

    #[test]
    fn only_non_jws_tokens_are_opaque() {
        assert!(is_opaque("2YotnFZFEjr1zCsicMWpAA"));
        assert!(is_opaque("a.b"));
        assert!(is_opaque("a.b.c.d.e"));
        assert!(!is_opaque("a.b.c"));
    }
}
