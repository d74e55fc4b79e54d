//! `POST /customers/tokens`: customer login with email and password, checked
//! by the app's [`CustomerDirectory`], answered with a customer token bound
//! to the calling app and account (shape of the seed's response).

use super::mint::{CustomerGrant, Minter};
use super::throttle::{MemoryThrottle, Throttle, ThrottleRule, throttle_key};
use crate::error::AuthError;
use crate::extract::Auth;
use async_trait::async_trait;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http::StatusCode;
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

struct Shared {
    minter: Minter,
    directory: Arc<dyn CustomerDirectory>,
    settings: CustomerTokenSettings,
}

/// `POST /customers/tokens` (mount behind an [`AuthLayer`](crate::tower::AuthLayer):
/// the app's access token is required).
pub fn customer_tokens_router(
    minter: Minter,
    directory: Arc<dyn CustomerDirectory>,
    settings: CustomerTokenSettings,
) -> Router {
    Router::new()
        .route("/customers/tokens", post(login))
        .with_state(Arc::new(Shared {
            minter,
            directory,
            settings,
        }))
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

fn with_retry_after(mut res: Response, after: Duration) -> Response {
    res.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(after.as_secs().max(1)),
    );
    res
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": code, "error_description": description})),
    )
        .into_response()
}

async fn login(
    State(s): State<Arc<Shared>>,
    auth: Auth,
    req: axum::extract::Request,
) -> Result<Response, AuthError> {
    let (parts, body) = req.into_parts();
    let addr = super::throttle::request_address(&parts.extensions);
    let Ok(body) = axum::body::to_bytes(body, s.settings.max_body_bytes).await else {
        return Ok(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        ));
    };
    // Only an app (access token) logs customers in, as in the seed.
    if !auth
        .credentials()
        .contains(crate::CredentialKinds::ACCESS_TOKEN)
        || auth.is_customer_scoped()
    {
        return Ok(error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "an app access token is required",
        ));
    }
    let Ok(body) = serde_json::from_slice::<LoginBody>(&body) else {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected {\"email\", \"password\"}",
        ));
    };
    let creds = match body {
        LoginBody::Wrapped { data } | LoginBody::Plain(data) => data,
    };
    let (Some(account), Some(client)) = (auth.account(), auth.client_id()) else {
        return Ok(error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the app token names no account",
        ));
    };
    let settings = &s.settings;
    let pair_rule = ThrottleRule::new(settings.max_failures, settings.failure_window);
    let addr_rule = ThrottleRule::new(settings.max_failures_per_address, settings.failure_window);
    let email = creds.email.trim().to_lowercase();
    let pair_key = throttle_key(&[b"login", account.as_bytes(), email.as_bytes(), &addr]);
    let addr_key = throttle_key(&[b"login-addr", &addr]);
    let limited = match settings.throttle.check(&pair_key, pair_rule).await {
        Some(after) => Some(after),
        None => settings.throttle.check(&addr_key, addr_rule).await,
    };
    if let Some(after) = limited {
        crate::telemetry::throttled("customer_login");
        return Ok(with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "too many failed logins from this address; try again later",
            ),
            after,
        ));
    }
    let customer = match s
        .directory
        .check_password(account, &creds.email, &creds.password)
        .await
    {
        Ok(Some(customer)) => customer,
        Ok(None) => {
            settings.throttle.fail(&pair_key, pair_rule).await;
            settings.throttle.fail(&addr_key, addr_rule).await;
            return Ok(error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "unknown email or wrong password",
            ));
        }
        Err(DirectoryError::Busy(after)) => {
            return Ok(with_retry_after(
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "too many logins at once; try again shortly",
                ),
                after,
            ));
        }
        Err(_) => {
            return Ok(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the customer directory is unavailable",
            ));
        }
    };
    let minted = s.minter.customer_token(&CustomerGrant {
        customer_id: &customer,
        client_id: client,
        account,
        scope: &s.settings.grant,
        lifetime: s.settings.lifetime,
    });
    let Ok(minted) = minted else {
        return Ok(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "cannot sign",
        ));
    };
    let mut res = Json(serde_json::json!({"data": {
        "type": "token",
        "id": minted.jti,
        "customer_id": customer,
        "token": minted.token,
        "expires": minted.expires_at,
    }}))
    .into_response();
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
