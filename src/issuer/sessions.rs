//! Customer sessions for frontends, framework-free: anonymous onboarding
//! sessions created with a public client id (under a per-address budget),
//! backend-created sessions, binding the customer created during
//! onboarding, reading and revoking the current session.
//!
//! [`CustomerSessions`] holds the handlers; [`customer_sessions_router`](super::customer_sessions_router)
//! (axum) and `issuer::actix::customer_sessions`
//! (actix-web) mount them behind the verifier:
//!
//! | route | who | answer |
//! |---|---|---|
//! | `POST /customer-sessions` | an app's access token (optional `customer_id`), or nobody with `{"client_id": <public client>}` | 201, the session (and its cookie) |
//! | `GET /customer-sessions/current` | a session holder | 200, the session |
//! | `PATCH /customer-sessions/{id}` | the session itself (for a customer created through it) or the app's backend | 200, the bound session; 409 when already bound |
//! | `DELETE /customer-sessions/current` | a session holder | 204, the session is gone |

use super::customer::{CustomerDirectory, error, is_app};
use super::oauth_error::json_response;
use super::throttle::{MemoryThrottle, Throttle, ThrottleRule, throttle_key};
use crate::context::AuthContext;
use crate::session::{
    BindAuthority, NewSession, SessionId, SessionRecord, SessionStore, StoreError,
};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the customer-session endpoints; see [`CustomerSessions`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CustomerSessionSettings {
    /// Where sessions live.
    pub store: Arc<dyn SessionStore>,
    /// The account of anonymous sessions (backend sessions take the app's).
    pub account: String,
    /// Public client ids that may create anonymous sessions (none by default).
    pub public_clients: Vec<String>,
    /// The customer grant of backend sessions and of bound sessions.
    pub scopes: String,
    /// What an anonymous onboarding session may do (default `customer:write`:
    /// create its customer).
    pub onboarding_scopes: String,
    /// Anonymous sessions one address may create per window (default 30 a minute).
    pub anonymous_per_address: ThrottleRule,
    /// Anonymous sessions all addresses together may create per window
    /// (default 6000 a minute).
    pub anonymous_total: ThrottleRule,
    /// Where the anonymous budgets are spent (default: in-process).
    pub throttle: Arc<dyn Throttle>,
    /// The session cookie set on creation and cleared on revocation (none by default).
    pub cookie: Option<String>,
    /// Largest accepted request body (default 8 KiB).
    pub max_body_bytes: usize,
    /// Checks that a backend-named `customer_id` exists
    /// ([`CustomerDirectory::customer_exists`]); unchecked without one.
    pub customers: Option<Arc<dyn CustomerDirectory>>,
}

impl CustomerSessionSettings {
    /// Sessions in `store`; anonymous ones belong to `account`.
    pub fn new(store: Arc<dyn SessionStore>, account: impl Into<String>) -> Self {
        Self {
            store,
            account: account.into(),
            public_clients: Vec::new(),
            scopes: "customer:read customer:write orders:read orders:write".into(),
            onboarding_scopes: "customer:write".into(),
            anonymous_per_address: ThrottleRule::new(30, Duration::from_secs(60)),
            anonymous_total: ThrottleRule::new(6000, Duration::from_secs(60)),
            throttle: Arc::new(MemoryThrottle::default()),
            cookie: None,
            max_body_bytes: 8 * 1024,
            customers: None,
        }
    }

    /// Lets `client_id` (a public client) create anonymous sessions.
    #[must_use]
    pub fn with_public_client(mut self, client_id: impl Into<String>) -> Self {
        self.public_clients.push(client_id.into());
        self
    }

    /// The full customer grant and the onboarding grant.
    #[must_use]
    pub fn with_scopes(mut self, scopes: impl Into<String>, onboarding: impl Into<String>) -> Self {
        self.scopes = scopes.into();
        self.onboarding_scopes = onboarding.into();
        self
    }

    /// Budgets of anonymous session creation.
    #[must_use]
    pub fn with_anonymous_limits(mut self, per_address: ThrottleRule, total: ThrottleRule) -> Self {
        self.anonymous_per_address = per_address;
        self.anonymous_total = total;
        self
    }

    /// Spends the budgets in `throttle` (e.g. a shared `RedisThrottle`).
    #[must_use]
    pub fn with_throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = throttle;
        self
    }

    /// Sets the session cookie `name` on creation.
    #[must_use]
    pub fn with_cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Refuses backend sessions for customers `customers` does not know.
    #[must_use]
    pub fn with_customers(mut self, customers: Arc<dyn CustomerDirectory>) -> Self {
        self.customers = Some(customers);
        self
    }
}

/// The customer-session handlers, framework-free, mounted by
/// [`customer_sessions_router`](super::customer_sessions_router) (axum) and
/// `issuer::actix::customer_sessions` (actix-web) behind the verifier:
///
/// | route | who | answer |
/// |---|---|---|
/// | `POST /customer-sessions` | an app's access token (optional `customer_id`), or nobody with `{"client_id": <public client>}` | 201, the session (and its cookie) |
/// | `GET /customer-sessions/current` | a session holder | 200, the session |
/// | `PATCH /customer-sessions/{id}` | the session itself (for a customer created through it) or the app's backend | 200, the bound session; 409 when already bound |
/// | `DELETE /customer-sessions/current` | a session holder | 204, the session is gone |
///
/// Anonymous sessions are budgeted per client address and overall
/// ([`CustomerSessionSettings::with_anonymous_limits`]): 429 with
/// `Retry-After` past either.
pub struct CustomerSessions {
    settings: CustomerSessionSettings,
}

impl fmt::Debug for CustomerSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerSessions")
            .field("settings", &self.settings)
            .finish()
    }
}

fn store_error(e: StoreError) -> Response<Bytes> {
    match e {
        StoreError::NotFound => error(StatusCode::NOT_FOUND, "not_found", "no such session"),
        StoreError::AlreadyBound => error(
            StatusCode::CONFLICT,
            "already_bound",
            "the session already has a customer",
        ),
        StoreError::NotAllowed => error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "only a customer created through this session, or the app's backend credential, may be bound",
        ),
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "session store unavailable",
        ),
    }
}

/// A string member of a JSON object.
fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// The session as the seed shows it.
fn session_json(r: &SessionRecord) -> Value {
    json!({"data": {"type": "customer_session", "id": r.id.as_str(), "customer_id": r.customer,
        "account": r.account, "scopes": r.scopes, "expires_at": r.expires_at_ms / 1000}})
}

impl CustomerSessions {
    /// The handlers over `settings`.
    pub fn new(settings: CustomerSessionSettings) -> Self {
        Self { settings }
    }

    /// The settings.
    pub fn settings(&self) -> &CustomerSessionSettings {
        &self.settings
    }

    /// `POST /customer-sessions`: from the backend (`auth` an app token,
    /// optional `customer_id`), or anonymous from a frontend (`auth` `None`,
    /// only a public `client_id`). `addr` is the caller's
    /// [`address_key`](super::address_key).
    pub async fn create(
        &self,
        auth: Option<&AuthContext>,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let s = &self.settings;
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let new = match auth {
            Some(auth) if is_app(auth) => {
                let account = auth.account().unwrap_or(&s.account);
                let customer = field(&body, "customer_id").map(str::to_owned);
                if let (Some(c), Some(directory)) = (&customer, &s.customers) {
                    match directory.customer_exists(account, c).await {
                        Ok(true) => {}
                        Ok(false) => {
                            return error(StatusCode::NOT_FOUND, "not_found", "no such customer");
                        }
                        Err(_) => {
                            return error(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "temporarily_unavailable",
                                "the customer directory is unavailable",
                            );
                        }
                    }
                }
                let mut new = NewSession::anonymous(account, s.scopes.clone());
                if let Some(client) = auth.client_id() {
                    new = new.with_client_id(client);
                }
                if let Some(c) = customer {
                    new = new.with_customer(c);
                }
                new
            }
            Some(_) => {
                return error(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "customer credentials cannot create sessions",
                );
            }
            None => {
                let Some(client) = field(&body, "client_id")
                    .and_then(|c| s.public_clients.iter().find(|p| p.as_str() == c))
                else {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "a known public client_id is required",
                    );
                };
                // A budget of anonymous sessions per address (so one caller
                // cannot use up everyone's), under an overall ceiling, each
                // spent in one step so concurrent requests cannot all pass
                // before any is counted.
                let per_addr = throttle_key(&[b"anon-session", addr]);
                let total = throttle_key(&[b"anon-session-total"]);
                let limited = s
                    .throttle
                    .spend_all(&[
                        (&per_addr, s.anonymous_per_address),
                        (&total, s.anonymous_total),
                    ])
                    .await;
                if let Some(after) = limited {
                    crate::telemetry::throttled("anonymous_session");
                    let mut res = error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "slow_down",
                        "too many anonymous sessions",
                    );
                    res.headers_mut().insert(
                        header::RETRY_AFTER,
                        HeaderValue::from(after.as_secs().max(1)),
                    );
                    return res;
                }
                NewSession::anonymous(s.account.clone(), s.onboarding_scopes.clone())
                    .with_client_id(client.clone())
            }
        };
        match s.store.create(new).await {
            Ok(r) => {
                let mut res = json_response(StatusCode::CREATED, &session_json(&r));
                if let Some(cookie) = s
                    .cookie
                    .as_deref()
                    .and_then(|name| crate::session::session_cookie(name, &r))
                {
                    res.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                res
            }
            Err(e) => store_error(e),
        }
    }

    /// `PATCH /customer-sessions/{id}` with `{"customer_id"}`: binds the
    /// customer created during onboarding (by the session itself) or any
    /// customer (by the app's backend), once; the session then carries the
    /// full customer grant.
    pub async fn bind(&self, auth: &AuthContext, id: &str, body: &[u8]) -> Response<Bytes> {
        let s = &self.settings;
        let Some(id) = SessionId::parse(id) else {
            return error(StatusCode::NOT_FOUND, "not_found", "no such session");
        };
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let Some(customer) = field(&body, "customer_id") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "customer_id is required",
            );
        };
        let authority = if auth.session_id() == Some(&id) {
            BindAuthority::CreatedThroughSession
        } else if is_app(auth) {
            BindAuthority::Backend(auth)
        } else {
            return error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "not this session's holder",
            );
        };
        if let Err(e) = s.store.bind_customer(&id, customer, authority).await {
            return store_error(e);
        }
        let scopes = s.scopes.clone();
        match s
            .store
            .update(&id, &|r| {
                r.scopes.clone_from(&scopes);
                Ok(())
            })
            .await
        {
            Ok(r) => json_response(StatusCode::OK, &session_json(&r)),
            Err(e) => store_error(e),
        }
    }

    /// `GET /customer-sessions/current`: the caller's session.
    pub async fn current(&self, auth: &AuthContext) -> Response<Bytes> {
        let Some(id) = auth.session_id() else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "no session credential",
            );
        };
        match self.settings.store.get(id).await {
            Ok(Some(r)) => json_response(StatusCode::OK, &session_json(&r)),
            Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such session"),
            Err(e) => store_error(e),
        }
    }

    /// `DELETE /customer-sessions/current`: ends the caller's session (204)
    /// and clears its cookie.
    pub async fn revoke(&self, auth: &AuthContext) -> Response<Bytes> {
        let Some(id) = auth.session_id() else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "no session credential",
            );
        };
        match self.settings.store.revoke(id).await {
            Ok(_) => {
                let mut res = Response::new(Bytes::new());
                *res.status_mut() = StatusCode::NO_CONTENT;
                if let Some(clear) = self.settings.cookie.as_deref().and_then(clear_cookie) {
                    res.headers_mut().insert(header::SET_COOKIE, clear);
                }
                res
            }
            Err(e) => store_error(e),
        }
    }
}

/// A `Set-Cookie` that removes the session cookie `name`.
fn clear_cookie(name: &str) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((name, ""))
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}
