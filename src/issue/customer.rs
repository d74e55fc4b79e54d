//! `POST /customers/tokens`: customer login with email and password, checked
//! by the app's [`CustomerDirectory`], answered with a customer token bound
//! to the calling app and account (shape of the seed's response).

use super::mint::{CustomerGrant, Minter};
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

/// Checks customer credentials. Implement it over your customer store;
/// compare passwords with a slow password hash.
#[async_trait]
pub trait CustomerDirectory: Send + Sync + fmt::Debug + 'static {
    /// The customer id for `email`/`password` in `account`, if they match.
    async fn check_password(&self, account: &str, email: &str, password: &str) -> Option<String>;
}

/// Settings of the customer-token endpoint.
#[derive(Clone, Debug)]
pub struct CustomerTokenSettings {
    /// The customer grant written into tokens (space-delimited).
    pub grant: String,
    /// Token lifetime.
    pub lifetime: Duration,
}

impl Default for CustomerTokenSettings {
    fn default() -> Self {
        Self {
            grant: "customer:read customer:write orders:read orders:write".into(),
            lifetime: Duration::from_secs(3600),
        }
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
    body: axum::body::Bytes,
) -> Result<Response, AuthError> {
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
    let Some(customer) = s
        .directory
        .check_password(account, &creds.email, &creds.password)
        .await
    else {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "unknown email or wrong password",
        ));
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
