//! Session credentials: the store lookup, its negative cache of unknown
//! IDs, and the idle-timeout touch.

use super::Authenticator;
use super::identity::Identity;
use crate::context::{AuthContext, CredentialKinds};
use crate::error::{AuthError, AuthErrorKind};
use crate::scope::ScopeSet;
use crate::session::{SessionId, StoreError};
use crate::telemetry::{self, StoreResult};
use tracing::Instrument as _;

impl Authenticator {
    pub(super) async fn load_session(&self, raw: &str) -> Result<AuthContext, AuthError> {
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
        let span = tracing::debug_span!("tollgate.session_store", result = tracing::field::Empty);
        let timer = telemetry::Timer::start();
        // One call: the lookup also slides an idle deadline (one Redis
        // round trip for the Redis store).
        let looked_up = rules.store.lookup(&id).instrument(span.clone()).await;
        timer.stop(telemetry::Timed::SessionStore);
        let result = match &looked_up {
            Ok(Some(_)) => (StoreResult::Found, "found"),
            Ok(None) => (StoreResult::NotFound, "not_found"),
            Err(_) => (StoreResult::Error, "error"),
        };
        telemetry::session_store(result.0);
        span.record("result", result.1);
        let record = match looked_up {
            Ok(Some(r)) => r,
            Ok(None) => {
                if let (Some(unknown), Some(key)) = (&rules.unknown, unknown_key) {
                    unknown.insert(key, crate::session::now_ms());
                }
                return Err(self.error(AuthErrorKind::InvalidToken, "unknown or expired session"));
            }
            Err(e) => return Err(unavailable(e)),
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
            claims: crate::context::ClaimSet::empty(),
            token_id: None,
            marks: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{IssuerConfig, SessionSources};
    use crate::session::{MemoryStore, NewSession, SessionRecord, SessionStore};
    use std::sync::Arc;

    fn auth(store: Arc<MemoryStore>, negative_cache_ms: u64) -> Authenticator {
        Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes!!"),
            )
            .session_store(store)
            .session_sources(SessionSources {
                negative_cache_ms,
                ..SessionSources::default()
            })
            .build()
            .unwrap()
    }

    /// A live record under `id`, as `create` would store it.
    fn record(id: SessionId) -> SessionRecord {
        let now = crate::session::now_ms();
        SessionRecord {
            id,
            account: "acct".into(),
            client_id: Some("app".into()),
            customer: Some("cust".into()),
            scopes: "orders:read".into(),
            created_at_ms: now,
            expires_at_ms: now + 60_000,
            idle_ttl_ms: None,
            last_seen_ms: now,
            created_customers: Vec::new(),
            metadata: serde_json::Map::new(),
            version: 0,
        }
    }

    fn remembered(auth: &Authenticator, id: &SessionId) -> bool {
        let rules = auth.engine.sessions.as_ref().unwrap();
        rules
            .unknown
            .as_ref()
            .is_some_and(|unknown| unknown.get(&id.cache_key()).is_some())
    }

    #[tokio::test]
    async fn an_unknown_id_is_remembered() {
        let store = Arc::new(MemoryStore::new(100));
        let auth = auth(store.clone(), 60_000);
        let id = SessionId::generate().unwrap();
        assert!(!remembered(&auth, &id));

        let err = auth.load_session(id.as_str()).await.unwrap_err();
        assert_eq!(err.status(), 401);
        assert_eq!(err.description(), "unknown or expired session");
        assert!(remembered(&auth, &id));

        // The store is not asked again while the ID is remembered: even a
        // record that appeared under it meanwhile is not seen.
        store.insert(&record(id.clone())).await.unwrap();
        let err = auth.load_session(id.as_str()).await.unwrap_err();
        assert_eq!(err.description(), "unknown or expired session");
    }

    #[tokio::test]
    async fn without_a_negative_cache_the_store_is_asked_every_time() {
        let store = Arc::new(MemoryStore::new(100));
        let auth = auth(store.clone(), 0);
        let id = SessionId::generate().unwrap();
        assert!(auth.load_session(id.as_str()).await.is_err());
        assert!(!remembered(&auth, &id));
        store.insert(&record(id.clone())).await.unwrap();
        let ctx = auth.load_session(id.as_str()).await.unwrap();
        assert_eq!(ctx.session_id(), Some(&id));
    }

    #[tokio::test]
    async fn a_known_session_loads_and_is_not_remembered_as_unknown() {
        let store = Arc::new(MemoryStore::new(100));
        let auth = auth(store.clone(), 60_000);
        let created = store
            .create(NewSession::for_customer("acct", "cust", "orders:read"))
            .await
            .unwrap();
        let ctx = auth.load_session(created.id.as_str()).await.unwrap();
        assert_eq!(ctx.account(), Some("acct"));
        assert_eq!(ctx.customer(), Some("cust"));
        assert_eq!(ctx.credentials(), CredentialKinds::SESSION);
        assert!(ctx.scopes().contains_str("orders:read"));
        assert_eq!(ctx.expires_at(), Some(created.expires_at_ms / 1000));
        assert!(!remembered(&auth, &created.id));
    }

    #[tokio::test]
    async fn a_malformed_id_is_refused_before_any_lookup() {
        let auth = auth(Arc::new(MemoryStore::new(100)), 60_000);
        let err = auth.load_session("not-a-session-id").await.unwrap_err();
        assert_eq!(err.status(), 401);
        assert_eq!(err.description(), "the session id is malformed");
        let rules = auth.engine.sessions.as_ref().unwrap();
        assert_eq!(rules.unknown.as_ref().map(|u| u.len()), Some(0));
    }
}
