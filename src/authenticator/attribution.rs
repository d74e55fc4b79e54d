//! Attribution: what a request's writes are attributed to.

use super::{Authenticator, Decision};
use crate::context::CredentialKinds;
use crate::error::AuthError;

impl Authenticator {
    /// Sets the request's attribution: the header's value if the caller may
    /// use it (403 otherwise), else the caller's default.
    pub(super) fn attribute(
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
                policy.resolve(client, requested).map_err(|_| refuse())?
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
}

#[cfg(test)]
mod tests {
    use super::super::AttributionPolicy;
    use super::super::identity::Identity;
    use super::*;
    use crate::config::IssuerConfig;
    use crate::scope::ScopeSet;
    use std::sync::Arc;

    /// `app` may ask for `shop-1` and defaults to `main`; no one else may ask.
    #[derive(Debug)]
    struct Shops;

    impl AttributionPolicy for Shops {
        fn resolve(
            &self,
            client_id: &str,
            requested: Option<&str>,
        ) -> Result<Option<String>, crate::authenticator::AttributionRefused> {
            match (client_id, requested) {
                ("app", None) => Ok(Some("main".into())),
                ("app", Some("shop-1")) => Ok(Some("shop-1".into())),
                _ => Err(crate::authenticator::AttributionRefused),
            }
        }
    }

    fn builder() -> crate::AuthenticatorBuilder {
        Authenticator::builder().issuer(
            IssuerConfig::new("https://i.example")
                .audience("api")
                .hmac_secret("a-very-long-shared-secret-of-32+-bytes!!"),
        )
    }

    fn auth() -> Authenticator {
        builder()
            .attribution("x-attribution", Arc::new(Shops))
            .build()
            .unwrap()
    }

    fn cred(
        auth: &Authenticator,
        kind: CredentialKinds,
        client: &str,
        attribution: Option<&str>,
    ) -> Decision {
        Decision::Authenticated(auth.context(Identity {
            kind,
            issuer: None,
            account: Some("acct".into()),
            client_id: Some(client.into()),
            subject: None,
            customer: None,
            session: None,
            attribution: attribution.map(Into::into),
            scopes: ScopeSet::default(),
            expires_at: None,
            claims: crate::context::ClaimSet::empty(),
            token_id: None,
            marks: None,
        }))
    }

    fn attributed(d: Result<Decision, AuthError>) -> Option<String> {
        match d {
            Ok(Decision::Authenticated(ctx)) => ctx.attribution().map(str::to_owned),
            Ok(other) => panic!("not authenticated: {other:?}"),
            Err(e) => panic!("refused: {e:?}"),
        }
    }

    fn forbidden(d: Result<Decision, AuthError>) {
        let err = d.unwrap_err();
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.description(),
            "the attribution is not allowed for this caller"
        );
    }

    #[test]
    fn own_attribution_may_only_be_requested_as_is() {
        let auth = auth();
        let till = || cred(&auth, CredentialKinds::BASIC, "till-7", Some("shop-7"));
        assert_eq!(
            attributed(auth.attribute(till(), None)).as_deref(),
            Some("shop-7")
        );
        assert_eq!(
            attributed(auth.attribute(till(), Some("shop-7"))).as_deref(),
            Some("shop-7")
        );
        forbidden(auth.attribute(till(), Some("shop-1")));
    }

    #[test]
    fn access_token_attribution_is_resolved_by_the_policy() {
        let auth = auth();
        let app = || cred(&auth, CredentialKinds::ACCESS_TOKEN, "app", None);
        assert_eq!(
            attributed(auth.attribute(app(), None)).as_deref(),
            Some("main")
        );
        assert_eq!(
            attributed(auth.attribute(app(), Some("shop-1"))).as_deref(),
            Some("shop-1")
        );
        forbidden(auth.attribute(app(), Some("shop-2")));
        // The policy refuses this client outright.
        let stranger = cred(&auth, CredentialKinds::ACCESS_TOKEN, "stranger", None);
        forbidden(auth.attribute(stranger, None));
    }

    #[test]
    fn callers_without_an_access_token_cannot_choose() {
        let auth = auth();
        let session = || cred(&auth, CredentialKinds::SESSION, "app", None);
        assert_eq!(attributed(auth.attribute(session(), None)), None);
        forbidden(auth.attribute(session(), Some("shop-1")));
    }

    #[test]
    fn without_rules_or_identity_the_decision_is_unchanged() {
        let auth = auth();
        assert!(matches!(
            auth.attribute(Decision::Anonymous, Some("shop-1")),
            Ok(Decision::Anonymous)
        ));
        let plain = builder().build().unwrap();
        let app = cred(&plain, CredentialKinds::ACCESS_TOKEN, "app", None);
        assert_eq!(attributed(plain.attribute(app, Some("shop-2"))), None);
    }
}
