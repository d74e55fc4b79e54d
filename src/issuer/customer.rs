//! `POST /customers/tokens`: customer login with email and password, checked
//! by the app's [`CustomerDirectory`], answered with a customer token bound
//! to the calling app and account (shape of the seed's response).

use super::mint::{CustomerGrant, Minter};
use super::oauth_error::json_response;
use super::throttle::{MemoryThrottle, Throttle, ThrottleRule, throttle_key};
use crate::context::AuthContext;
use crate::revocation::RevocationWriter;
use async_trait::async_trait;
use bytes::Bytes;
use http::{Response, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a directory could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// Password checks are saturated: answer 503 with this `Retry-After`.
    #[error("busy; retry after {0:?}")]
    Busy(Duration),
    /// The customer store is unreachable (503).
    #[error("unavailable")]
    Unavailable,
}

impl From<super::password::Busy> for DirectoryError {
    fn from(b: super::password::Busy) -> Self {
        Self::Busy(b.0)
    }
}

/// Checks customer credentials. Implement it over your customer store, with
/// a [`PasswordHasher`](super::PasswordHasher): it caps the cost of a login
/// flood, and checking unknown emails against its dummy hash
/// (`verify(None, ..)`) makes an unknown email cost what a wrong password
/// costs, so timing does not reveal which emails exist.
#[async_trait]
pub trait CustomerDirectory: Send + Sync + fmt::Debug + 'static {
    /// The customer id for `email`/`password` in `account`, if they match.
    async fn check_password(
        &self,
        account: &str,
        email: &str,
        password: &str,
    ) -> Result<Option<String>, DirectoryError>;

    /// Whether `customer_id` exists in `account`: checked before an app's
    /// backend opens a session for it ([`CustomerSessionSettings::with_customers`](super::CustomerSessionSettings::with_customers)).
    /// The default answers `true` (no check).
    async fn customer_exists(
        &self,
        account: &str,
        customer_id: &str,
    ) -> Result<bool, DirectoryError> {
        let _ = (account, customer_id);
        Ok(true)
    }
}

/// Settings of the customer-token endpoint.
///
/// Failed logins are counted per *(account, email, client address)* and per
/// address: a stranger's wrong passwords for a customer's email slow only
/// the stranger's address, never the customer's own logins.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CustomerTokenSettings {
    /// The customer grant written into tokens (space-delimited).
    pub grant: String,
    /// Token lifetime.
    pub lifetime: Duration,
    /// Failed logins allowed per email and address within `failure_window` (default 5).
    pub max_failures: u32,
    /// Failed logins allowed per address within `failure_window` (default 50).
    pub max_failures_per_address: u32,
    /// The window for counting failures (default 5 minutes).
    pub failure_window: Duration,
    /// Where failures are counted (default: in-process, fixed size).
    pub throttle: Arc<dyn Throttle>,
    /// Largest accepted request body (default 8 KiB).
    pub max_body_bytes: usize,
    /// Where customer logouts revoke tokens (`DELETE /customers/tokens/current`
    /// is served only with one).
    pub revocations: Option<Arc<dyn RevocationWriter>>,
}

impl Default for CustomerTokenSettings {
    fn default() -> Self {
        Self {
            grant: "customer:read customer:write orders:read orders:write".into(),
            lifetime: Duration::from_secs(3600),
            max_failures: 5,
            max_failures_per_address: 50,
            failure_window: Duration::from_secs(300),
            throttle: Arc::new(MemoryThrottle::default()),
            max_body_bytes: 8 * 1024,
            revocations: None,
        }
    }
}

impl CustomerTokenSettings {
    /// Counts failures in `throttle` (e.g. a shared `RedisThrottle`).
    #[must_use]
    pub fn with_throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = throttle;
        self
    }

    /// Serves customer logout, revoking the presented token in `revocations`.
    #[must_use]
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationWriter>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Sets the failure budgets.
    #[must_use]
    pub fn with_failure_limits(
        mut self,
        per_email_and_address: u32,
        per_address: u32,
        window: Duration,
    ) -> Self {
        self.max_failures = per_email_and_address;
        self.max_failures_per_address = per_address;
        self.failure_window = window;
        self
    }
}

/// The customer-token endpoints, framework-free: `POST /customers/tokens`
/// ([`login`](Self::login)) and, with revocations, `DELETE
/// /customers/tokens/current` ([`logout`](Self::logout)). Mounted by
/// [`customer_token_routes`](super::customer_token_routes) (axum) and
/// `issuer::actix::customer_tokens` (actix-web),
/// both behind the verifier, which supplies the caller's [`AuthContext`].
pub struct CustomerTokenEndpoint {
    minter: Minter,
    directory: Arc<dyn CustomerDirectory>,
    settings: CustomerTokenSettings,
}

impl fmt::Debug for CustomerTokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerTokenEndpoint")
            .field("directory", &self.directory)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LoginBody {
    Wrapped { data: Credentials },
    Plain(Credentials),
}

fn with_retry_after(mut res: Response<Bytes>, after: Duration) -> Response<Bytes> {
    res.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(after.as_secs().max(1)),
    );
    res
}

/// A small JSON error body (`{"error", "error_description"}`), `no-store`.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response<Bytes> {
    json_response(
        status,
        &serde_json::json!({"error": code, "error_description": description}),
    )
}

/// An app's own credential: an access token, not customer-scoped.
pub(crate) fn is_app(auth: &AuthContext) -> bool {
    auth.credentials()
        .contains(crate::CredentialKinds::ACCESS_TOKEN)
        && !auth.is_customer_scoped()
}

impl CustomerTokenEndpoint {
    /// An endpoint minting with `minter` for customers of `directory`.
    pub fn new(
        minter: Minter,
        directory: Arc<dyn CustomerDirectory>,
        settings: CustomerTokenSettings,
    ) -> Self {
        Self {
            minter,
            directory,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &CustomerTokenSettings {
        &self.settings
    }

    /// `POST /customers/tokens`: `body` is the JSON request body (at most
    /// [`max_body_bytes`](CustomerTokenSettings::max_body_bytes); adapters
    /// answer 413 above), `addr` the caller's [`address_key`](super::address_key).
    pub async fn login(&self, auth: &AuthContext, body: &[u8], addr: &[u8; 16]) -> Response<Bytes> {
        // Only an app (access token) logs customers in, as in the seed.
        if !is_app(auth) {
            return error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "an app access token is required",
            );
        }
        let Ok(body) = serde_json::from_slice::<LoginBody>(body) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "expected {\"email\", \"password\"}",
            );
        };
        let creds = match body {
            LoginBody::Wrapped { data } | LoginBody::Plain(data) => data,
        };
        let (Some(account), Some(client)) = (auth.account(), auth.client_id()) else {
            return error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the app token names no account",
            );
        };
        let settings = &self.settings;
        let pair_rule = ThrottleRule::new(settings.max_failures, settings.failure_window);
        let addr_rule =
            ThrottleRule::new(settings.max_failures_per_address, settings.failure_window);
        let email = creds.email.trim().to_lowercase();
        let pair_key = throttle_key(&[b"login", account.as_bytes(), email.as_bytes(), addr]);
        let addr_key = throttle_key(&[b"login-addr", addr]);
        // Failures are what is budgeted (a customer's own successful logins
        // cost nothing): one attempt is spent before the password is
        // checked and given back unless it fails, so concurrent guesses
        // cannot all pass a check made before any of them failed.
        let budgets: [(&[u8], ThrottleRule); 2] = [(&pair_key, pair_rule), (&addr_key, addr_rule)];
        let limited = settings.throttle.spend_all(&budgets).await;
        if let Some(after) = limited {
            crate::telemetry::throttled("customer_login");
            return with_retry_after(
                error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "slow_down",
                    "too many failed logins from this address; try again later",
                ),
                after,
            );
        }
        let customer = match self
            .directory
            .check_password(account, &creds.email, &creds.password)
            .await
        {
            Ok(Some(customer)) => {
                settings.throttle.refund_all(&budgets).await;
                customer
            }
            Ok(None) => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_grant",
                    "unknown email or wrong password",
                );
            }
            Err(DirectoryError::Busy(after)) => {
                settings.throttle.refund_all(&budgets).await;
                return with_retry_after(
                    error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "too many logins at once; try again shortly",
                    ),
                    after,
                );
            }
            Err(_) => {
                settings.throttle.refund_all(&budgets).await;
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the customer directory is unavailable",
                );
            }
        };
        let minted = self.minter.customer_token(&CustomerGrant {
            customer_id: &customer,
            client_id: client,
            account,
            scope: &settings.grant,
            lifetime: settings.lifetime,
        });
        let Ok(minted) = minted else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "cannot sign",
            );
        };
        json_response(
            StatusCode::OK,
            &serde_json::json!({"data": {
                "type": "token",
                "id": minted.jti,
                "customer_id": customer,
                "token": minted.token,
                "expires": minted.expires_at,
            }}),
        )
    }

    /// `DELETE /customers/tokens/current`: customer logout. The presented
    /// customer token is revoked (everywhere, when the revocation list is
    /// shared); 204, or 404 without [`with_revocations`](CustomerTokenSettings::with_revocations).
    pub async fn logout(&self, auth: &AuthContext) -> Response<Bytes> {
        let Some(revoker) = &self.settings.revocations else {
            return error(StatusCode::NOT_FOUND, "not_found", "no revocation list");
        };
        if !auth
            .credentials()
            .contains(crate::CredentialKinds::CUSTOMER_TOKEN)
        {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "no customer token to revoke",
            );
        }
        // The merged context keeps the access token's claims; the customer
        // token's own jti is what `login` returned as its id.
        let Some(jti) = auth.customer_token_id() else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the customer token has no jti",
            );
        };
        // The customer token's own expiry: the pair's (`expires_at`) is the
        // access token's when that one expires first, and the revocation
        // would lapse while the customer token still works with a new one.
        let exp = auth
            .customer_token_expires_at()
            .or(auth.expires_at())
            .unwrap_or(u64::MAX);
        match revoker.revoke_token(jti, exp).await {
            Ok(()) => {
                let mut res = Response::new(Bytes::new());
                *res.status_mut() = StatusCode::NO_CONTENT;
                res
            }
            Err(_) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "revocation list unavailable",
            ),
        }
    }
}
