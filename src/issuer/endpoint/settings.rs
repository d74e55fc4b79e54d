//! [`TokenEndpointSettings`]: failure throttling, the body limit, the code
//! flow, DPoP and introspection of a [`TokenEndpoint`](super::TokenEndpoint).

use crate::authenticator::ClientStatus;
use crate::issuer::authorize::CodeFlow;
use crate::issuer::throttle::{MemoryThrottle, Throttle};
use std::sync::Arc;
use std::time::Duration;

/// Token endpoint settings.
///
/// Failed client authentications are counted per *(client id, client
/// address)* and per address, never per client id alone: a stranger sending
/// wrong secrets for a real client's id slows only their own address and
/// cannot lock the real client out. The address is the [`ClientAddr`](crate::issuer::ClientAddr)
/// request extension if the app sets one (behind a trusted proxy), else
/// axum's `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenEndpointSettings {
    /// Failed attempts allowed per client id and address within
    /// `failure_window` (default 10).
    pub max_failures: u32,
    /// Failed attempts allowed per address, whatever the client id, within
    /// `failure_window` (default 100).
    pub max_failures_per_address: u32,
    /// The window for counting failures (default 60 s).
    pub failure_window: Duration,
    /// Where failures are counted (default: a fixed-size in-process
    /// [`MemoryThrottle`]; `RedisThrottle` shares counts between instances).
    pub throttle: Arc<dyn Throttle>,
    /// Consulted besides the registry's own `active` flag (e.g. a shared
    /// `RedisClientStatus`).
    pub client_status: Option<Arc<dyn ClientStatus>>,
    /// Largest accepted request body (default 16 KiB).
    pub max_body_bytes: usize,
    /// The authorization-code flow (login, codes, refresh tokens), if on.
    pub code_flow: Option<CodeFlow>,
    /// Where DPoP proof `jti`s sent to this endpoint are remembered
    /// (default: in memory; share a `RedisReplayCache` between instances).
    pub dpop_replay: Arc<dyn crate::dpop::ReplayCache>,
    /// A DPoP proof's `iat` may be this far in the past or future (default 60 s).
    pub dpop_iat_window: Duration,
    /// `POST /oauth/introspect` (RFC 7662), answered by this verifier.
    pub introspection: Option<crate::Authenticator>,
}

impl Default for TokenEndpointSettings {
    fn default() -> Self {
        Self {
            max_failures: 10,
            max_failures_per_address: 100,
            failure_window: Duration::from_secs(60),
            throttle: Arc::new(MemoryThrottle::default()),
            client_status: None,
            max_body_bytes: 16 * 1024,
            code_flow: None,
            dpop_replay: Arc::new(crate::dpop::MemoryReplayCache::default()),
            dpop_iat_window: Duration::from_secs(60),
            introspection: None,
        }
    }
}

impl TokenEndpointSettings {
    /// Counts failures in `throttle`.
    #[must_use]
    pub fn with_throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = throttle;
        self
    }

    /// Also refuses clients that `status` says are inactive.
    #[must_use]
    pub fn with_client_status(mut self, status: Arc<dyn ClientStatus>) -> Self {
        self.client_status = Some(status);
        self
    }

    /// Turns on the authorization-code flow: `GET /oauth/authorize` with
    /// its login and consent pages, the `authorization_code` and
    /// `refresh_token` grants, and `POST /oauth/revoke`.
    #[must_use]
    pub fn with_code_flow(mut self, flow: CodeFlow) -> Self {
        self.code_flow = Some(flow);
        self
    }

    /// Turns on `POST /oauth/introspect` (RFC 7662), answered by `verifier`
    /// (an [`Authenticator`](crate::Authenticator) that trusts this issuer,
    /// with the app's revocations and client status): a token is active
    /// exactly when a request carrying it would pass.
    #[must_use]
    pub fn with_introspection(mut self, verifier: crate::Authenticator) -> Self {
        self.introspection = Some(verifier);
        self
    }

    /// Sets the failure budgets.
    #[must_use]
    pub fn with_failure_limits(
        mut self,
        per_client_and_address: u32,
        per_address: u32,
        window: Duration,
    ) -> Self {
        self.max_failures = per_client_and_address;
        self.max_failures_per_address = per_address;
        self.failure_window = window;
        self
    }
}
