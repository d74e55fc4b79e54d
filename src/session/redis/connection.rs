//! Calls on the shared [`RedisConn`](crate::redis_conn::RedisConn), with
//! its errors as store errors.

use super::RedisStore;
use crate::redis_conn::RedisError;
use crate::session::StoreError;
use redis::aio::ConnectionManager;

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> Self {
        if e.is_unavailable() {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Backend(e.to_string())
        }
    }
}

impl RedisStore {
    /// Runs `op` on the connection within the call's time budget.
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        Ok(self.conn.run(op).await?)
    }
}
