//! The connection: made on first use, re-established by the manager, every
//! call within the time budget, and Redis errors mapped to store errors.

use super::RedisStore;
use crate::session::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// Maps a Redis error: anything about reaching the server is `Unavailable`.
fn map_err(e: &redis::RedisError) -> StoreError {
    if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
    {
        StoreError::Unavailable(format!("redis: {e}"))
    } else {
        StoreError::Backend(format!("redis: {e}"))
    }
}

impl RedisStore {
    /// The connection manager, connecting on first use. A failed attempt
    /// leaves the cell empty, so the next call tries again.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(self.timeout);
                ConnectionManager::new_with_config(self.client.clone(), config)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("redis: {e}")))
            })
            .await
            .cloned()
    }

    /// Runs `op` on the connection within the call's time budget.
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let call = async {
            let conn = self.connection().await?;
            op(conn).await.map_err(|e| map_err(&e))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "redis: no answer within {} ms",
                    self.timeout.as_millis()
                ))
            })?
    }
}
