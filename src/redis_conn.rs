//! One lazily connected, reconnecting Redis connection with a time budget
//! per call, for the platform's shared state (throttles, deactivations,
//! revocations). Every call either answers within the budget or fails.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::fmt;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Why a call to shared state in Redis failed (unreachable, timed out, or
/// an error reply). The text names no secret (URLs are redacted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisError(pub(crate) String);

pub(crate) struct RedisConn {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    pub(crate) prefix: String,
    timeout: Duration,
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
        Ok(Self {
            client,
            manager: OnceCell::new(),
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(self.timeout);
                ConnectionManager::new_with_config(self.client.clone(), config)
                    .await
                    .map_err(|e| RedisError(e.to_string()))
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
            op(conn).await.map_err(|e| RedisError(e.to_string()))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| RedisError(format!("no answer within {} ms", self.timeout.as_millis())))?
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
