//! The [`SessionStore`] operations of a [`RedisStore`]: each one script or
//! command, the stored record decoded back.

use super::RedisStore;
use crate::session::{SessionId, SessionRecord, SessionStore, StoreError};
use async_trait::async_trait;

/// Latest expiry handed to Redis (year 3000, ms since the epoch): far past
/// any real session, well inside what `PEXPIREAT` accepts.
const MAX_DEADLINE_MS: u64 = 32_503_680_000_000;

/// The timing arguments of the write scripts: last seen, expires at, idle
/// timeout ("" for none).
fn timing_args(call: &mut redis::ScriptInvocation<'_>, record: &SessionRecord) {
    call.arg(record.last_seen_ms)
        .arg(record.expires_at_ms.min(MAX_DEADLINE_MS))
        .arg(
            record
                .idle_ttl_ms
                .map(|i| i.to_string())
                .unwrap_or_default(),
        );
}

/// Decodes a stored session: the JSON record `data`, its version field `v`
/// (what `compare_and_swap` checks: it wins over the JSON's) and its last
/// use `l` (slid by lookups without rewriting the JSON: the later one wins).
/// Anything inconsistent is treated as missing, with a warning.
fn decode(
    id: &SessionId,
    version: Option<String>,
    data: Option<String>,
    last: Option<String>,
) -> Option<SessionRecord> {
    let data = data?;
    let mut record = match serde_json::from_str::<SessionRecord>(&data) {
        Ok(record) if record.id == *id => record,
        Ok(_) => {
            tracing::warn!(
                session = id.redacted(),
                "stored session record has another id; treated as missing"
            );
            return None;
        }
        Err(e) => {
            tracing::warn!(
                session = id.redacted(),
                error = %e,
                "unreadable stored session record; treated as missing"
            );
            return None;
        }
    };
    match version.as_deref().map(str::parse::<u64>) {
        Some(Ok(v)) => record.version = v,
        _ => {
            tracing::warn!(
                session = id.redacted(),
                "stored session record has no valid version; treated as missing"
            );
            return None;
        }
    }
    if let Some(Ok(l)) = last.as_deref().map(str::parse::<u64>) {
        record.last_seen_ms = record.last_seen_ms.max(l);
    }
    Some(record)
}

/// How long after its last slide a cached idle session may be answered
/// without sliding it again: a twentieth of the idle timeout, at most 5 s
/// (the lookup script uses the same rule). The idle deadline can thus fall
/// that much early, never late; only with a local cache.
fn touch_slack(idle_ms: u64) -> u64 {
    (idle_ms / 20).min(5_000)
}

impl RedisStore {
    /// `script` keyed by the record's session key and, when it has a
    /// customer, that customer's index key.
    fn record_call<'a>(
        &self,
        script: &'a redis::Script,
        record: &SessionRecord,
    ) -> redis::ScriptInvocation<'a> {
        let mut call = script.key(self.session_key(record.id.as_str()));
        if let Some(customer) = record.customer.as_deref() {
            call.key(self.customer_key(&record.account, customer));
        }
        call
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn insert(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.invalidate(&record.id);
        let data = Self::encode(record)?;
        let mut call = self.record_call(&self.insert_script, record);
        call.arg(record.version.to_string())
            .arg(data)
            .arg(MAX_DEADLINE_MS)
            .arg(record.account.as_str())
            .arg(record.customer.as_deref().unwrap_or_default())
            .arg(record.id.as_str());
        timing_args(&mut call, record);
        let inserted: Result<i64, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.invalidate(&record.id);
        if inserted? == 1 {
            Ok(())
        } else {
            Err(StoreError::Backend("session id collision".into()))
        }
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(record) = self.cached(id) {
            return Ok(Some(record));
        }
        let generation = self.cache_generation();
        let key = self.session_key(id.as_str());
        let (version, data, last): (Option<String>, Option<String>, Option<String>) = self
            .run(|mut conn| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("v")
                    .arg("d")
                    .arg("l")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let record = decode(id, version, data, last);
        if let Some(record) = &record {
            self.remember(generation, record);
        }
        Ok(record)
    }

    async fn lookup(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(record) = self.cached(id) {
            let now = crate::session::now_ms();
            match record.idle_ttl_ms {
                _ if record.is_expired_at(now) => return Ok(None),
                None => return Ok(Some(record)),
                // Touched recently enough: the slide can wait (see
                // `touch_slack`), so the cached record answers.
                Some(idle) if now.saturating_sub(record.last_seen_ms) < touch_slack(idle) => {
                    return Ok(Some(record));
                }
                Some(_) => {}
            }
        }
        let generation = self.cache_generation();
        let script = &self.lookup_script;
        let mut call = script.key(self.session_key(id.as_str()));
        // With a local cache a slide within the slack is skipped, so a slide
        // (a write, announced to every tracking instance) happens at most
        // once per slack per session, not once per request.
        let slack = if self.cache_ttl.is_some() { "1" } else { "0" };
        call.arg(self.conn.prefix.as_str())
            .arg(MAX_DEADLINE_MS)
            .arg(slack);
        type Answer = Option<(Option<String>, Option<String>, Option<String>, String)>;
        let answer: Answer = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await?;
        let Some((version, data, last, legacy)) = answer else {
            return Ok(None);
        };
        let Some(record) = decode(id, version, data, last) else {
            return Ok(None);
        };
        if record.is_expired_at(crate::session::now_ms()) {
            return Ok(None);
        }
        if legacy == "1" && record.idle_ttl_ms.is_some() {
            // Written before the timing fields existed: slide it the old
            // way, which also writes them.
            return crate::session::slide(self, id, record).await;
        }
        self.remember(generation, &record);
        Ok(Some(record))
    }

    async fn compare_and_swap(
        &self,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<bool, StoreError> {
        // Invalidate whatever the outcome: a failed swap means the cached
        // copy (if any) is stale, and `update` must not retry on it.
        self.invalidate(&record.id);
        let data = Self::encode(record)?;
        let mut call = self.record_call(&self.cas_script, record);
        call.arg(expected_version.to_string())
            .arg(record.version.to_string())
            .arg(data)
            .arg(MAX_DEADLINE_MS)
            .arg(record.account.as_str())
            .arg(record.customer.as_deref().unwrap_or_default())
            .arg(record.id.as_str());
        timing_args(&mut call, record);
        let swapped: Result<i64, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.invalidate(&record.id);
        Ok(swapped? == 1)
    }

    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.invalidate(id);
        let mut call = self.remove_script.key(self.session_key(id.as_str()));
        call.arg(self.conn.prefix.as_str()).arg(id.as_str());
        let removed: Result<i64, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.invalidate(id);
        Ok(removed? == 1)
    }

    async fn remove_customer(&self, account: &str, customer: &str) -> Result<u64, StoreError> {
        self.forget_customer(account, customer);
        let mut call = self
            .remove_customer_script
            .key(self.customer_key(account, customer));
        call.arg(self.conn.prefix.as_str())
            .arg(account)
            .arg(customer);
        let removed: Result<Vec<String>, _> = self
            .run(|mut conn| async move { call.invoke_async(&mut conn).await })
            .await;
        self.forget_customer(account, customer);
        let removed = removed?;
        for id in removed.iter().filter_map(|s| SessionId::parse(s)) {
            self.invalidate(&id);
        }
        Ok(u64::try_from(removed.len()).unwrap_or(u64::MAX))
    }
}
