//! Customer sessions: opaque session IDs looked up in a [`SessionStore`].
//!
//! A session belongs to an account, may be bound to one customer, and carries
//! the scopes it grants. Anonymous sessions (no customer yet) serve the
//! onboarding flow of a storefront: the frontend creates a customer through
//! the session, then binds that customer to it, exactly once.
//!
//! The rules live here, once, in the provided methods of [`SessionStore`];
//! a storage backend implements only the primitives (`insert`, `load`,
//! `compare_and_swap`, `remove`, `remove_customer`). Two backends ship:
//! [`MemoryStore`] (the embedded default) and, with feature `redis`,
//! `RedisStore`.
//!
//! Binding a customer to an anonymous session needs a [`BindAuthority`]:
//! either proof that the customer was created through that same session, or
//! the app's backend credential (an [`AuthContext`] authenticated with an
//! access token, which only tollgate can build). Holding an anonymous session
//! ID is never enough to attach an *existing* customer.

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_scripts;
#[cfg(feature = "redis")]
mod tracking;

#[cfg(feature = "redis")]
pub(crate) use self::redis::redact_url as redis_redact_url;
#[cfg(feature = "redis")]
pub use self::redis::{RedisSettings, RedisStore};
pub use crate::session_id::{SESSION_ID_PREFIX, SessionId};
pub use memory::{DEFAULT_MAX_SESSIONS, MemoryStore};

use crate::context::{AuthContext, CredentialKinds};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default absolute lifetime: 24 hours.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A stored session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session ID.
    pub id: SessionId,
    /// The account (tenant).
    pub account: String,
    /// The client application the session was created for, if known.
    pub client_id: Option<String>,
    /// The bound customer; `None` for an anonymous (onboarding) session.
    pub customer: Option<String>,
    /// Scopes the session grants (space-delimited).
    pub scopes: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// Absolute expiry, ms since the epoch.
    pub expires_at_ms: u64,
    /// Idle timeout, if any.
    pub idle_ttl_ms: Option<u64>,
    /// Last use, ms since the epoch (for idle expiry).
    pub last_seen_ms: u64,
    /// Customers created through this session (the only ones it may bind
    /// on its own authority).
    pub created_customers: Vec<String>,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Bumped on every change; the store compares it to apply updates atomically.
    pub version: u64,
}

impl SessionRecord {
    /// An anonymous session in account `a`, with a fresh ID, expiring at
    /// `expires_at_ms`.
    #[cfg(test)]
    pub(crate) fn for_tests(expires_at_ms: u64) -> Self {
        Self {
            id: SessionId::generate().unwrap(),
            account: "a".into(),
            client_id: None,
            customer: None,
            scopes: String::new(),
            created_at_ms: 0,
            expires_at_ms,
            idle_ttl_ms: None,
            last_seen_ms: 0,
            created_customers: vec![],
            metadata: serde_json::Map::new(),
            version: 0,
        }
    }

    /// When the session stops being valid if not used again, ms since the epoch.
    pub fn deadline_ms(&self) -> u64 {
        match self.idle_ttl_ms {
            Some(idle) => self
                .expires_at_ms
                .min(self.last_seen_ms.saturating_add(idle)),
            None => self.expires_at_ms,
        }
    }

    /// Whether the session is expired at `now_ms`.
    pub fn is_expired_at(&self, now_ms: u64) -> bool {
        now_ms >= self.deadline_ms()
    }
}

/// What to create.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewSession {
    /// The account.
    pub account: String,
    /// The client application.
    pub client_id: Option<String>,
    /// The customer, or `None` for an anonymous session.
    pub customer: Option<String>,
    /// Granted scopes (space-delimited).
    pub scopes: String,
    /// Absolute lifetime (default 24 h).
    pub ttl: Duration,
    /// Idle timeout (sliding), if any.
    pub idle_ttl: Option<Duration>,
}

impl NewSession {
    /// An anonymous session for `account` with `scopes`, 24 h lifetime.
    pub fn anonymous(account: impl Into<String>, scopes: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            client_id: None,
            customer: None,
            scopes: scopes.into(),
            ttl: DEFAULT_SESSION_TTL,
            idle_ttl: None,
        }
    }

    /// A session bound to `customer`.
    pub fn for_customer(
        account: impl Into<String>,
        customer: impl Into<String>,
        scopes: impl Into<String>,
    ) -> Self {
        Self {
            customer: Some(customer.into()),
            ..Self::anonymous(account, scopes)
        }
    }

    /// Sets the client application.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Binds the session to `customer`.
    #[must_use]
    pub fn with_customer(mut self, customer: impl Into<String>) -> Self {
        self.customer = Some(customer.into());
        self
    }

    /// Sets the granted scopes (space-delimited).
    #[must_use]
    pub fn with_scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = scopes.into();
        self
    }

    /// Sets the absolute lifetime.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the idle (sliding) timeout.
    #[must_use]
    pub fn with_idle_ttl(mut self, idle_ttl: Duration) -> Self {
        self.idle_ttl = Some(idle_ttl);
        self
    }
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend is unreachable or timed out: answer 503, never 401.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The backend failed otherwise (also answered with 503).
    #[error("session store error: {0}")]
    Backend(String),
    /// The store is full.
    #[error("session store is full")]
    Full,
    /// No such (live) session.
    #[error("no such session")]
    NotFound,
    /// The session already has a customer.
    #[error("the session is already bound to a customer")]
    AlreadyBound,
    /// The binding is not allowed on this authority.
    #[error("this authority may not bind that customer")]
    NotAllowed,
    /// Concurrent updates kept colliding.
    #[error("the session changed concurrently; retry")]
    Conflict,
}

/// On whose authority a customer is bound to an anonymous session.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum BindAuthority<'a> {
    /// The session itself, for a customer created through it (see
    /// [`SessionStore::record_created_customer`]).
    CreatedThroughSession,
    /// The app's backend credential: a context authenticated with an access
    /// token for the session's account.
    Backend(&'a AuthContext),
}

/// Storage for sessions. Backends implement the primitives; the provided
/// methods hold the rules and should not be overridden.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// Stores a new record; fails if the ID exists.
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError>;
    /// Loads a record (expired ones may be returned; callers check).
    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// Replaces the record if its stored version is `expected_version`.
    /// Returns whether it was replaced.
    async fn compare_and_swap(
        &self,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<bool, StoreError>;
    /// Deletes a record. Returns whether it existed.
    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError>;
    /// Deletes every session of a customer in an account. Returns how many.
    async fn remove_customer(&self, account: &str, customer: &str) -> Result<u64, StoreError>;

    /// Creates a session.
    async fn create(&self, new: NewSession) -> Result<SessionRecord, StoreError> {
        let now = now_ms();
        let record = SessionRecord {
            id: SessionId::generate()
                .map_err(|e| StoreError::Backend(format!("OS RNG failed: {e}")))?,
            account: new.account,
            client_id: new.client_id,
            customer: new.customer,
            scopes: new.scopes,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ms(new.ttl)),
            idle_ttl_ms: new.idle_ttl.map(ms),
            last_seen_ms: now,
            created_customers: Vec::new(),
            metadata: serde_json::Map::new(),
            version: 0,
        };
        self.insert(&record).await?;
        Ok(record)
    }

    /// A live session, or `None` (unknown, expired or revoked).
    async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.load(id).await?.filter(|r| !r.is_expired_at(now_ms())))
    }

    /// The lookup of a request: [`get`](Self::get), and for a session with
    /// an idle timeout also [`touch`](Self::touch) (sliding its deadline).
    /// Stores that can do both in one step override this (the Redis store
    /// does it in one round trip).
    async fn lookup(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let Some(record) = self.get(id).await? else {
            return Ok(None);
        };
        if record.idle_ttl_ms.is_none() {
            return Ok(Some(record));
        }
        slide(self, id, record).await
    }

    /// Applies `change` atomically (retrying on concurrent updates).
    async fn update(
        &self,
        id: &SessionId,
        change: &(dyn for<'r> Fn(&'r mut SessionRecord) -> Result<(), StoreError> + Send + Sync),
    ) -> Result<SessionRecord, StoreError> {
        for _ in 0..8 {
            let Some(mut record) = self.get(id).await? else {
                return Err(StoreError::NotFound);
            };
            let expected = record.version;
            change(&mut record)?;
            record.version = expected.wrapping_add(1);
            if self.compare_and_swap(expected, &record).await? {
                return Ok(record);
            }
        }
        Err(StoreError::Conflict)
    }

    /// Records that `customer` was created through session `id`, so the
    /// session may bind it on its own authority.
    async fn record_created_customer(
        &self,
        id: &SessionId,
        customer: &str,
    ) -> Result<(), StoreError> {
        let customer = customer.to_owned();
        self.update(id, &move |r| {
            if !r.created_customers.contains(&customer) {
                r.created_customers.push(customer.clone());
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Binds `customer` to an anonymous session, exactly once.
    async fn bind_customer(
        &self,
        id: &SessionId,
        customer: &str,
        authority: BindAuthority<'_>,
    ) -> Result<SessionRecord, StoreError> {
        let backend_account = match authority {
            BindAuthority::Backend(ctx) => {
                if !ctx.credentials().contains(CredentialKinds::ACCESS_TOKEN) {
                    return Err(StoreError::NotAllowed);
                }
                Some(ctx.account().map(str::to_owned))
            }
            BindAuthority::CreatedThroughSession => None,
        };
        let customer = customer.to_owned();
        self.update(id, &move |r| {
            // Exactly once: a bound session is never rebound, not even to
            // the same customer.
            if r.customer.is_some() {
                return Err(StoreError::AlreadyBound);
            }
            match &backend_account {
                Some(account) => {
                    if account.as_deref() != Some(r.account.as_str()) {
                        return Err(StoreError::NotAllowed);
                    }
                }
                None => {
                    if !r.created_customers.contains(&customer) {
                        return Err(StoreError::NotAllowed);
                    }
                }
            }
            r.customer = Some(customer.clone());
            Ok(())
        })
        .await
    }

    /// Replaces the session's metadata.
    async fn update_metadata(
        &self,
        id: &SessionId,
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<SessionRecord, StoreError> {
        self.update(id, &move |r| {
            r.metadata = metadata.clone();
            Ok(())
        })
        .await
    }

    /// Marks the session used now (sliding idle expiry).
    async fn touch(&self, id: &SessionId) -> Result<SessionRecord, StoreError> {
        self.update(id, &|r| {
            r.last_seen_ms = now_ms();
            Ok(())
        })
        .await
    }

    /// Revokes one session.
    async fn revoke(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.remove(id).await
    }

    /// Revokes every session of a customer.
    async fn revoke_customer(&self, account: &str, customer: &str) -> Result<u64, StoreError> {
        self.remove_customer(account, customer).await
    }
}

/// Slides an idle session with [`SessionStore::touch`]: the touched record,
/// `None` if it went away meanwhile, or `record` if another request touched
/// it concurrently (as fresh as ours).
async fn slide<S: SessionStore + ?Sized>(
    store: &S,
    id: &SessionId,
    record: SessionRecord,
) -> Result<Option<SessionRecord>, StoreError> {
    match store.touch(id).await {
        Ok(r) => Ok(Some(r)),
        Err(StoreError::NotFound) => Ok(None),
        Err(StoreError::Conflict) => Ok(Some(record)),
        Err(e) => Err(e),
    }
}

/// Longest cookie lifetime browsers honour (RFC 6265bis §5.5: 400 days);
/// longer session lifetimes are clamped to it.
pub const MAX_COOKIE_AGE: Duration = Duration::from_secs(400 * 24 * 3600);

/// Builds the `Set-Cookie` value for a session: `Secure; HttpOnly;
/// SameSite=Lax; Path=/` and the session's absolute expiry as `Max-Age`
/// (clamped to [`MAX_COOKIE_AGE`], so no lifetime overflows a date).
///
/// Built with the `cookie` crate; a name that is not a cookie token
/// (RFC 6265 §4.1.1) gives `None`.
pub fn session_cookie(name: &str, record: &SessionRecord) -> Option<http::HeaderValue> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    {
        return None;
    }
    let max_age =
        Duration::from_millis(record.expires_at_ms.saturating_sub(now_ms())).min(MAX_COOKIE_AGE);
    let max_age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).ok()?);
    let c = cookie::Cookie::build((name, record.id.as_str()))
        .path("/")
        .max_age(max_age)
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build();
    http::HeaderValue::from_str(&c.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let rec = SessionRecord::for_tests(now_ms() + 3_600_000);
        let id = rec.id.clone();
        let c = session_cookie("sid", &rec).unwrap();
        let c = c.to_str().unwrap();
        assert!(c.starts_with(&format!("sid={}", id.as_str())), "{c}");
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=3"] {
            assert!(c.contains(attr), "{attr} missing: {c}");
        }
        assert!(session_cookie("bad name", &rec).is_none());
        assert!(session_cookie("a;b", &rec).is_none());
    }

    #[test]
    fn cookie_for_a_far_future_expiry_is_clamped_not_a_panic() {
        let rec = SessionRecord::for_tests(u64::MAX);
        let c = session_cookie("sid", &rec).unwrap();
        let c = c.to_str().unwrap();
        assert!(
            c.contains(&format!("Max-Age={}", MAX_COOKIE_AGE.as_secs())),
            "{c}"
        );
    }
}
