//! One lazily connected, reconnecting Redis connection with a time budget
//! per call, for everything tollgate keeps in Redis (sessions, signing
//! keys, grants, throttles, deactivations, revocations). Every call either
//! answers within the budget or fails, and says whether Redis was
//! unreachable or answered with an error.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::fmt;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Why a call to shared state in Redis failed (unreachable, timed out, or
/// an error reply). The text names no secret (URLs are redacted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redis: {message}")]
pub struct RedisError {
    message: String,
    /// Redis could not be reached or did not answer in time (rather than
    /// answering with an error).
    unavailable: bool,
}

impl RedisError {
    fn unavailable(message: String) -> Self {
        Self {
            message,
            unavailable: true,
        }
    }

    /// Anything about reaching the server is "unavailable"; the rest is an
    /// error reply (a failed script, an ACL refusal).
    fn from_redis(e: &redis::RedisError) -> Self {
        Self {
            message: e.to_string(),
            unavailable: e.is_io_error()
                || e.is_connection_refusal()
                || e.is_connection_dropped()
                || e.is_timeout()
                || e.is_unrecoverable_error(),
        }
    }

    /// Whether Redis was unreachable or too slow (not an error reply).
    pub(crate) fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

pub(crate) struct RedisConn {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    pub(crate) prefix: String,
    timeout: Duration,
    retries: usize,
}

impl fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConn")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisConn {
    /// Checks the URL; does not connect.
    pub(crate) fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        if timeout.is_zero() {
            return Err("the redis timeout must be at least 1 ms".into());
        }
        let client = redis::Client::open(url).map_err(|e| {
            format!(
                "invalid redis url {}: {e}",
                crate::session::redis_redact_url(url)
            )
        })?;
        Ok(Self::from_client(client, prefix, timeout))
    }

    /// A connection on `client` (`timeout` at least 1 ms); does not connect.
    pub(crate) fn from_client(client: redis::Client, prefix: &str, timeout: Duration) -> Self {
        Self {
            client,
            manager: OnceCell::new(),
            prefix: prefix.to_owned(),
            timeout: timeout.max(Duration::from_millis(1)),
            retries: 1,
        }
    }

    /// The same, retrying a failed command `retries` times (default 1)
    /// within the budget.
    pub(crate) fn with_retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    /// The client (the signing-key store rebuilds its connection from it).
    #[cfg_attr(not(feature = "issuer"), allow(dead_code))]
    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether a connection was ever made.
    pub(crate) fn is_connected(&self) -> bool {
        self.manager.initialized()
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(self.retries)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(self.timeout);
                ConnectionManager::new_with_config(self.client.clone(), config)
                    .await
                    .map_err(|e| RedisError::unavailable(e.to_string()))
            })
            .await
            .cloned()
    }

    /// Runs `op` within the time budget.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, RedisError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            op(conn).await.map_err(|e| RedisError::from_redis(&e))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                RedisError::unavailable(format!("no answer within {} ms", self.timeout.as_millis()))
            })?
    }
}

/// Something mirrored from Redis into memory.
pub(crate) trait Mirror: Send + Sync + 'static {
    /// What a failed refresh is logged as.
    const WHAT: &'static str;
    /// Reloads the mirror from Redis.
    fn reload(&self) -> impl Future<Output = Result<(), RedisError>> + Send;
}

/// Reloads `target` every `every` in the background until it is dropped (the
/// task holds it weakly). A failed reload keeps the last mirror, logged at warn.
pub(crate) fn spawn_refresher<T: Mirror>(
    target: &std::sync::Arc<T>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let weak = std::sync::Arc::downgrade(target);
    tokio::spawn(async move {
        loop {
            let Some(this) = weak.upgrade() else { return };
            if let Err(e) = this.reload().await {
                tracing::warn!(error = %e, what = T::WHAT, "tollgate: refresh from redis failed; keeping the last state");
            }
            drop(this);
            tokio::time::sleep(every).await;
        }
    })
}
