//! The connection: made on first use, re-established by the manager, every
//! call within the time budget, and Redis errors mapped to store errors.

use super::{KeyStoreError, RedisKeyStore};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// Maps a Redis error: anything about reaching the server is `Unavailable`.
fn map_err(e: &redis::RedisError) -> KeyStoreError {
    if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
    {
        KeyStoreError::Unavailable(format!("redis: {e}"))
    } else {
        KeyStoreError::Backend(format!("redis: {e}"))
    }
}

impl RedisKeyStore {
    /// The connection manager, connecting on first use. A failed attempt
    /// leaves the cell empty, so the next call tries again.
    async fn connection(&self) -> Result<ConnectionManager, KeyStoreError> {
        let timeout = self.inner.timeout;
        self.inner
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(timeout);
                ConnectionManager::new_with_config(self.inner.client.clone(), config)
                    .await
                    .map_err(|e| KeyStoreError::Unavailable(format!("redis: {e}")))
            })
            .await
            .cloned()
    }

    /// Runs `op` on the connection within the call's time budget.
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> Result<T, KeyStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            op(conn).await.map_err(|e| map_err(&e))
        };
        tokio::time::timeout(self.inner.timeout, call)
            .await
            .map_err(|_| {
                KeyStoreError::Unavailable(format!(
                    "redis: no answer within {} ms",
                    self.inner.timeout.as_millis()
                ))
            })?
    }
}
