//! `Authorization: Basic` credentials (legacy tills).

use super::Authenticator;
use super::identity::Identity;
use crate::context::{AuthContext, CredentialKinds};
use crate::error::{AuthError, AuthErrorKind};
use crate::scope::ScopeSet;

impl Authenticator {
    pub(super) async fn verify_basic(&self, raw: &[u8]) -> Result<AuthContext, AuthError> {
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
            claims: crate::context::ClaimSet::empty(),
            token_id: None,
            marks: None,
        }))
    }
}
