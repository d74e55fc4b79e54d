//! Combining the verified credentials of one request into one context.

use super::{Authenticator, Decision, Mode};
use crate::context::{AuthContext, ContextParts, CredentialKinds};
use std::borrow::Cow;

mod memo;

use crate::error::{AuthError, AuthErrorKind};
pub(crate) use memo::MergeCache;

impl Authenticator {
    /// Combines every presented credential into one context. Each one has
    /// verified; here they must also agree with each other.
    ///
    /// A borrowed context (from this thread's slots of the verified-token
    /// cache) is cloned only when it is the answer.
    pub(super) fn combine(
        &self,
        [access, customer, session, basic]: [Option<Cow<'_, AuthContext>>; 4],
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
        if let (Some(a), Some(c), None, None, Some(memo)) =
            (&access, &customer, &session, &basic, &self.engine.merged)
        {
            if let Some(merged) = memo.get(a, c) {
                return Ok(Decision::Authenticated(merged));
            }
            let merged = self.merge(a, c)?;
            memo.insert(a, c, &merged);
            return Ok(Decision::Authenticated(merged));
        }
        // One credential (the usual request): it is the answer.
        let [access, customer, session, basic] = match [access, customer, session, basic] {
            [Some(one), None, None, None] | [None, None, Some(one), None] => {
                return Ok(Decision::Authenticated(one.into_owned()));
            }
            all => all,
        };
        let mut merged: Option<Cow<'_, AuthContext>> = None;
        for ctx in [access, customer, session, basic].into_iter().flatten() {
            merged = Some(match merged {
                None => ctx,
                Some(base) => Cow::Owned(self.merge(&base, &ctx)?),
            });
        }
        match (merged, mode) {
            (Some(ctx), _) => Ok(Decision::Authenticated(ctx.into_owned())),
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
        let (claims, marks) = if base.claim_set().is_empty() {
            (other.claim_set(), other.marks())
        } else {
            (base.claim_set(), base.marks())
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
                // The expiry of the same customer token as the id above.
                // The marks of the claims kept above.
                marks: marks.cloned().map(Box::new),
                customer_token_expires_at: if base.customer_token_id().is_some() {
                    base.customer_token_expires_at()
                } else {
                    other.customer_token_expires_at()
                },
            },
            self.engine.shared.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::identity::Identity;
    use super::*;
    use crate::config::IssuerConfig;
    use crate::scope::ScopeSet;

    fn auth() -> Authenticator {
        Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes!!"),
            )
            .build()
            .unwrap()
    }

    /// A verified credential of `kind` naming `account`, `client` and `customer`.
    fn cred(
        auth: &Authenticator,
        kind: CredentialKinds,
        account: Option<&str>,
        client: Option<&str>,
        customer: Option<&str>,
        scopes: &str,
        expires_at: Option<u64>,
    ) -> AuthContext {
        auth.context(Identity {
            kind,
            issuer: None,
            account: account.map(Into::into),
            client_id: client.map(Into::into),
            subject: None,
            customer: customer.map(Into::into),
            session: None,
            attribution: None,
            scopes: ScopeSet::parse_delimited(scopes, &auth.engine.shared.scope_rules),
            expires_at,
            claims: crate::context::ClaimSet::empty(),
            token_id: None,
            marks: None,
        })
    }

    #[test]
    fn a_pair_of_the_same_contexts_is_merged_once_and_others_are_not_confused() {
        let auth = Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes!!"),
            )
            .customer_tokens(crate::config::CustomerTokenConfig::default())
            .build()
            .unwrap();
        assert!(auth.engine.merged.is_some());
        let access = cred(
            &auth,
            CredentialKinds::ACCESS_TOKEN,
            Some("acct"),
            Some("app"),
            None,
            "orders:read customer:read",
            Some(100),
        );
        let customer = |id: &str| {
            cred(
                &auth,
                CredentialKinds::CUSTOMER_TOKEN,
                Some("acct"),
                Some("app"),
                Some(id),
                "customer:read",
                Some(50),
            )
        };
        let (c1, c2) = (customer("c1"), customer("c2"));
        let merged = |c: &AuthContext| match auth
            .combine(
                [
                    Some(Cow::Borrowed(&access)),
                    Some(Cow::Borrowed(c)),
                    None,
                    None,
                ],
                false,
                Mode::Required,
            )
            .unwrap()
        {
            Decision::Authenticated(ctx) => ctx,
            _ => panic!("not authenticated"),
        };
        let first = merged(&c1);
        let again = merged(&c1);
        assert_eq!(first.addr(), again.addr(), "the memo answered");
        let other = merged(&c2);
        assert_ne!(first.addr(), other.addr());
        assert_eq!(other.customer(), Some("c2"));
        assert_eq!(again.customer(), Some("c1"));
        assert_eq!(again.expires_at(), Some(50));
        // A new context with the same content is another context: merged
        // afresh, never matched by content or by a recycled address.
        let c1b = customer("c1");
        assert_ne!(merged(&c1b).addr(), first.addr());
        // Without a token cache there is no memo.
        let uncached = Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes!!"),
            )
            .customer_tokens(crate::config::CustomerTokenConfig::default())
            .token_cache(crate::jwt::TokenCacheSettings::default().with_enabled(false))
            .build()
            .unwrap();
        assert!(uncached.engine.merged.is_none());
    }

    #[test]
    fn agreeing_credentials_merge_with_intersected_scopes_and_earliest_expiry() {
        let auth = auth();
        let access = cred(
            &auth,
            CredentialKinds::ACCESS_TOKEN,
            Some("acct"),
            Some("app"),
            None,
            "orders:read orders:write",
            Some(2_000),
        );
        let session = cred(
            &auth,
            CredentialKinds::SESSION,
            Some("acct"),
            None,
            Some("cust"),
            "orders:read users:read",
            Some(1_000),
        );
        let merged = auth.merge(&access, &session).unwrap();
        assert_eq!(merged.account(), Some("acct"));
        assert_eq!(merged.client_id(), Some("app"));
        assert_eq!(merged.customer(), Some("cust"));
        assert!(merged.scopes().contains_str("orders:read"));
        assert!(!merged.scopes().contains_str("orders:write"));
        assert!(!merged.scopes().contains_str("users:read"));
        assert_eq!(merged.scopes().len(), 1);
        assert_eq!(merged.expires_at(), Some(1_000));
        assert_eq!(
            merged.credentials(),
            CredentialKinds::ACCESS_TOKEN.union(CredentialKinds::SESSION)
        );

        // One expiry only: it is kept.
        let basic = cred(
            &auth,
            CredentialKinds::BASIC,
            Some("acct"),
            Some("app"),
            None,
            "orders:read",
            None,
        );
        let merged = auth.merge(&basic, &access).unwrap();
        assert_eq!(merged.expires_at(), Some(2_000));
    }

    #[test]
    fn different_account_client_or_customer_is_forbidden() {
        let auth = auth();
        let base = cred(
            &auth,
            CredentialKinds::SESSION,
            Some("acct"),
            Some("app"),
            Some("cust"),
            "orders:read",
            None,
        );
        for (account, client, customer, desc) in [
            (
                "other",
                "app",
                "cust",
                "the credentials belong to different accounts",
            ),
            (
                "acct",
                "other",
                "cust",
                "the credentials belong to different apps",
            ),
            (
                "acct",
                "app",
                "other",
                "the credentials belong to different customers",
            ),
        ] {
            let other = cred(
                &auth,
                CredentialKinds::BASIC,
                Some(account),
                Some(client),
                Some(customer),
                "orders:read",
                None,
            );
            let err = auth.merge(&base, &other).unwrap_err();
            assert_eq!(err.status(), 403);
            assert_eq!(err.description(), desc);
        }
    }

    #[test]
    fn customer_token_must_name_the_access_tokens_client_and_account() {
        let auth = auth();
        let access = |account, client| {
            cred(
                &auth,
                CredentialKinds::ACCESS_TOKEN,
                account,
                client,
                None,
                "orders:read",
                None,
            )
        };
        let customer = |account, client| {
            cred(
                &auth,
                CredentialKinds::CUSTOMER_TOKEN,
                account,
                client,
                Some("cust"),
                "orders:read",
                None,
            )
        };
        let ok = auth
            .merge(
                &access(Some("acct"), Some("app")),
                &customer(Some("acct"), Some("app")),
            )
            .unwrap();
        assert_eq!(ok.customer(), Some("cust"));
        assert!(ok.credentials().contains(CredentialKinds::CUSTOMER_TOKEN));

        let refused = [
            // Both unnamed: not "the same".
            (access(None, None), customer(None, None)),
            (access(Some("acct"), Some("app")), customer(None, None)),
            (
                access(Some("acct"), Some("app")),
                customer(Some("acct"), None),
            ),
            (
                access(Some("acct"), Some("app")),
                customer(None, Some("app")),
            ),
            (access(None, Some("app")), customer(None, Some("app"))),
            (access(Some("acct"), None), customer(Some("acct"), None)),
            (
                access(Some("acct"), Some("app")),
                customer(Some("acct"), Some("other")),
            ),
            (
                access(Some("acct"), Some("app")),
                customer(Some("other"), Some("app")),
            ),
        ];
        for (a, c) in refused {
            let err = auth.merge(&a, &c).unwrap_err();
            assert_eq!(err.status(), 403);
            assert_eq!(
                err.description(),
                "the customer token belongs to another app or account"
            );
        }
    }

    #[test]
    fn combine_without_credentials_follows_the_mode() {
        let auth = auth();
        assert!(matches!(
            auth.combine([None, None, None, None], false, Mode::Optional),
            Ok(Decision::Anonymous)
        ));
        let err = auth
            .combine([None, None, None, None], false, Mode::Required)
            .unwrap_err();
        assert_eq!(err.status(), 401);
        let err = auth
            .combine([None, None, None, None], true, Mode::Optional)
            .unwrap_err();
        assert_eq!(err.status(), 401);
    }
}
