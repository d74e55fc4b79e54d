//! Calls on the shared [`RedisConn`](crate::redis_conn::RedisConn), with its errors as key-store
//! errors.

use super::{KeyStoreError, RedisKeyStore};
use crate::redis_conn::RedisError;
use redis::aio::ConnectionManager;

impl From<RedisError> for KeyStoreError {
    fn from(e: RedisError) -> Self {
        if e.is_unavailable() {
            KeyStoreError::Unavailable(e.to_string())
        } else {
            KeyStoreError::Backend(e.to_string())
        }
    }
}

impl RedisKeyStore {
    /// Runs `op` on the connection within the call's time budget.
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> Result<T, KeyStoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        Ok(self.inner.conn.run(op).await?)
    }
}
