//! The authorization-code flow (RFC 6749 §4.1, PKCE RFC 7636, the OAuth 2.0
//! Security BCP RFC 9700): `GET /oauth/authorize` with a server-rendered
//! login page and consent step, the `authorization_code` and
//! `refresh_token` grants of the token endpoint, and RFC 7009 revocation.
//!
//! Everything here is framework-free (from `http` types to
//! `http::Response<Bytes>`); the axum routes are in `routes.rs`.
//!
//! State between steps lives in stores shared by every instance: the
//! consent ticket and the authorization code in [`CodeStore`]s, refresh
//! token families in a [`RefreshStore`], failed logins in a
//! [`Throttle`]. The pages carry no state of their own beyond a
//! double-submit CSRF cookie, so two instances behind one load balancer
//! serve one login.
//!
//! | step | request | answer |
//! |---|---|---|
//! | 1 | `GET /oauth/authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256[&scope][&nonce]` | login page (or an error page when `client_id`/`redirect_uri` are wrong: never redirected) |
//! | 2 | `POST /oauth/authorize/login` (email, password) | consent page (a one-use ticket) |
//! | 3 | `POST /oauth/authorize/consent` (allow/deny) | `303` to `redirect_uri?code&state&iss` or `?error=access_denied&state&iss` |
//! | 4 | `POST /oauth/token` `grant_type=authorization_code` | access token naming client and customer, refresh token, ID token with `openid` |
//! | 5 | `POST /oauth/token` `grant_type=refresh_token` | rotated refresh token; reuse revokes the family |

mod login;
mod pages;
mod request;
mod tokens;

use super::customer::CustomerDirectory;
use super::grants::{CodeStore, FamilyId, RefreshStore};
use super::throttle::{MemoryThrottle, Throttle};
use crate::revocation::RevocationWriter;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the authorization-code flow.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CodeFlowSettings {
    /// Authorization-code lifetime (default 60 s).
    pub code_lifetime: Duration,
    /// How long the consent page stays valid after the login (default 10 min).
    pub consent_lifetime: Duration,
    /// Access-token lifetime for user tokens (default 15 min; never more
    /// than the client's own lifetime).
    pub access_lifetime: Duration,
    /// ID-token lifetime (default 5 min).
    pub id_token_lifetime: Duration,
    /// Absolute refresh-token family lifetime (default 30 days).
    pub refresh_lifetime: Duration,
    /// A refresh token unused this long is dead (default 7 days).
    pub refresh_idle: Duration,
    /// The most a customer can delegate to a client, space-delimited:
    /// requested scopes are narrowed to this and to the client's own.
    pub customer_grant: String,
    /// Failed logins allowed per (account, email, address) within
    /// `failure_window` (default 5).
    pub max_failures: u32,
    /// Failed logins allowed per address within `failure_window` (default 50).
    pub max_failures_per_address: u32,
    /// The window for counting failures (default 5 min).
    pub failure_window: Duration,
    /// Where failed logins are counted (a shared `RedisThrottle` for
    /// several instances).
    pub throttle: Arc<dyn Throttle>,
    /// Largest accepted query or form body (default 8 KiB).
    pub max_request_bytes: usize,
}

impl Default for CodeFlowSettings {
    fn default() -> Self {
        Self {
            code_lifetime: Duration::from_secs(60),
            consent_lifetime: Duration::from_secs(600),
            access_lifetime: Duration::from_secs(900),
            id_token_lifetime: Duration::from_secs(300),
            refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            refresh_idle: Duration::from_secs(7 * 24 * 3600),
            customer_grant: "customer:read customer:write orders:read orders:write".into(),
            max_failures: 5,
            max_failures_per_address: 50,
            failure_window: Duration::from_secs(300),
            throttle: Arc::new(MemoryThrottle::default()),
            max_request_bytes: 8 * 1024,
        }
    }
}

impl CodeFlowSettings {
    /// Counts failed logins in `throttle`.
    #[must_use]
    pub fn with_throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = throttle;
        self
    }

    /// Sets the failed-login budgets.
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

    /// Sets the refresh-token lifetimes (absolute, idle).
    #[must_use]
    pub fn with_refresh_lifetimes(mut self, absolute: Duration, idle: Duration) -> Self {
        self.refresh_lifetime = absolute;
        self.refresh_idle = idle;
        self
    }

    /// Sets the access-token lifetime of user tokens.
    #[must_use]
    pub fn with_access_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// Sets the most a customer can delegate (space-delimited scopes).
    #[must_use]
    pub fn with_customer_grant(mut self, grant: impl Into<String>) -> Self {
        self.customer_grant = grant.into();
        self
    }
}

/// The authorization-code flow: pass it to
/// [`TokenEndpointSettings::with_code_flow`](super::TokenEndpointSettings::with_code_flow).
#[derive(Clone)]
pub struct CodeFlow {
    pub(crate) directory: Arc<dyn CustomerDirectory>,
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) consents: Arc<dyn CodeStore>,
    pub(crate) refresh: Arc<dyn RefreshStore>,
    pub(crate) revocations: Option<Arc<dyn RevocationWriter>>,
    pub(crate) settings: CodeFlowSettings,
}

impl fmt::Debug for CodeFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeFlow")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CodeFlow {
    /// A flow checking customers in `directory`, keeping authorization
    /// codes in `codes`, consent tickets in `consents` (a second store,
    /// or the same backend under another prefix) and refresh-token
    /// families in `refresh`.
    pub fn new(
        directory: Arc<dyn CustomerDirectory>,
        codes: Arc<dyn CodeStore>,
        consents: Arc<dyn CodeStore>,
        refresh: Arc<dyn RefreshStore>,
    ) -> Self {
        Self {
            directory,
            codes,
            consents,
            refresh,
            revocations: None,
            settings: CodeFlowSettings::default(),
        }
    }

    /// A flow keeping codes, consent tickets and refresh tokens in this
    /// process (one instance; see [`CodeFlow::new`] for shared stores).
    pub fn in_memory(directory: Arc<dyn CustomerDirectory>) -> Self {
        Self::new(
            directory,
            Arc::new(super::grants::MemoryCodes::default()),
            Arc::new(super::grants::MemoryCodes::default()),
            Arc::new(super::grants::MemoryRefreshTokens::default()),
        )
    }

    /// Where the access tokens of a revoked family are revoked (a replayed
    /// code, a reused or revoked refresh token). Without it they stay
    /// valid until they expire (`access_lifetime`).
    #[must_use]
    pub fn with_revocations(mut self, revocations: Arc<dyn RevocationWriter>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_settings(mut self, settings: CodeFlowSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Revokes a family and every access token issued in it.
    pub(crate) async fn revoke_family(&self, family: &FamilyId) {
        match self.refresh.revoke(family).await {
            Ok(tokens) => self.revoke_access_tokens(tokens).await,
            Err(e) => {
                tracing::warn!(error = %e, "tollgate: could not revoke a refresh-token family");
            }
        }
    }

    /// Revokes these access tokens (`jti`, `exp`) of a revoked family.
    pub(crate) async fn revoke_access_tokens(&self, tokens: Vec<(String, u64)>) {
        let Some(rev) = &self.revocations else { return };
        for (jti, exp) in tokens {
            if let Err(e) = rev.revoke_token(&jti, exp).await {
                tracing::warn!(error = %e, "tollgate: could not revoke an access token of a revoked family");
            }
        }
    }
}
