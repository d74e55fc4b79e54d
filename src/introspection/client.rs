//! The introspection call, its caches and its single flight.

use super::{ActiveAnswer, Introspected, IntrospectionSettings};
use crate::session::now_ms;
use crate::telemetry::{self, IntrospectionResult};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Largest introspection response read.
const MAX_RESPONSE: usize = 64 * 1024;

type Key = [u8; 32];

struct Positive {
    claims: Arc<ActiveAnswer>,
    /// Seconds since the epoch after which the answer is not used.
    until: u64,
}

/// Introspects opaque tokens, with caches and single flight.
pub(crate) struct Introspector {
    settings: IntrospectionSettings,
    http: reqwest::Client,
    positive: quick_cache::sync::Cache<Key, Arc<Positive>>,
    /// Inactive answers: until when (ms since the epoch).
    negative: quick_cache::sync::Cache<Key, u64>,
    inflight: Mutex<HashMap<Key, Arc<OnceCell<Introspected>>>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("url", &self.settings.url)
            .field("calls", &self.calls.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn num(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<f64> {
    claims
        .get(name)
        .and_then(serde_json::Value::as_f64)
        .filter(|f| f.is_finite())
}

/// Whether an active answer's `exp` / `nbf` hold at `now` (seconds).
fn in_time(claims: &serde_json::Map<String, serde_json::Value>, now: u64, leeway: u64) -> bool {
    let now = now as f64;
    let leeway = leeway as f64;
    let exp_ok = num(claims, "exp").is_none_or(|e| now < e + leeway);
    let nbf_ok = num(claims, "nbf").is_none_or(|n| now + leeway >= n);
    exp_ok && nbf_ok
}

impl Introspector {
    pub(crate) fn new(settings: IntrospectionSettings) -> Result<Self, String> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("introspection HTTP client: {e}"))?;
        let entries = settings.max_entries;
        Ok(Self {
            settings,
            http,
            positive: quick_cache::sync::Cache::new(entries),
            negative: quick_cache::sync::Cache::new(entries),
            inflight: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        })
    }

    /// How many calls were made to the endpoint.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Introspects `token` (cached; one call in flight per token).
    pub(crate) async fn introspect(&self, token: &str, leeway: u64) -> Introspected {
        let key: Key = Sha256::digest(token.as_bytes()).into();
        let now = now_ms();
        if let Some(p) = self.positive.get(&key) {
            if now / 1000 < p.until && in_time(&p.claims.claims, now / 1000, leeway) {
                return Introspected::Active(p.claims.clone());
            }
            self.positive.remove(&key);
        }
        if self.negative.get(&key).is_some_and(|until| now < until) {
            return Introspected::Inactive;
        }
        let cell = {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key).or_default().clone()
        };
        let outcome = cell
            .get_or_init(|| async { self.call_and_cache(token, &key, leeway).await })
            .await
            .clone();
        {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            if map.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(&key);
            }
        }
        outcome
    }

    async fn call_and_cache(&self, token: &str, key: &Key, leeway: u64) -> Introspected {
        let outcome = self.call(token).await;
        telemetry::introspection(match &outcome {
            Introspected::Active(_) => IntrospectionResult::Active,
            Introspected::Inactive => IntrospectionResult::Inactive,
            Introspected::Unavailable => IntrospectionResult::Unavailable,
        });
        let now = now_ms();
        match &outcome {
            Introspected::Active(answer) => {
                if !in_time(&answer.claims, now / 1000, leeway) {
                    self.negative
                        .insert(*key, now.saturating_add(self.settings.negative_cache_ms));
                    return Introspected::Inactive;
                }
                let cap = now / 1000 + self.settings.max_cache_secs;
                let until = num(&answer.claims, "exp")
                    .map_or(cap, |e| (e.max(0.0) as u64).saturating_add(leeway).min(cap));
                if self.settings.max_cache_secs > 0 {
                    self.positive.insert(
                        *key,
                        Arc::new(Positive {
                            claims: answer.clone(),
                            until,
                        }),
                    );
                }
            }
            Introspected::Inactive => {
                self.negative
                    .insert(*key, now.saturating_add(self.settings.negative_cache_ms));
            }
            Introspected::Unavailable => {}
        }
        outcome
    }

    async fn call(&self, token: &str) -> Introspected {
        self.calls.fetch_add(1, Ordering::Relaxed);
        // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(&self.settings.client_id),
            enc(&String::from_utf8_lossy(
                self.settings.client_secret.as_bytes()
            ))
        ));
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let sent = self
            .http
            .post(&self.settings.url)
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await;
        let mut res = match sent {
            Ok(r) if r.status() == reqwest::StatusCode::OK => r,
            Ok(r) => {
                tracing::warn!(
                    status = r.status().as_u16(),
                    "tollgate: introspection endpoint refused the call"
                );
                return Introspected::Unavailable;
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "tollgate: introspection endpoint unreachable");
                return Introspected::Unavailable;
            }
        };
        let mut buf = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    if buf.len() + chunk.len() > MAX_RESPONSE {
                        return Introspected::Unavailable;
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return Introspected::Unavailable,
            }
        }
        let Ok(serde_json::Value::Object(mut claims)) = serde_json::from_slice(&buf) else {
            return Introspected::Unavailable;
        };
        // §2.2: `active` is a required boolean; anything else is not an answer.
        match claims.remove("active") {
            Some(serde_json::Value::Bool(true)) => Introspected::Active(Arc::new(ActiveAnswer {
                claims,
                context: std::sync::OnceLock::new(),
            })),
            Some(serde_json::Value::Bool(false)) => Introspected::Inactive,
            _ => Introspected::Unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn time_checks() {
        let c = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert!(in_time(&c(json!({})), 100, 0));
        assert!(in_time(&c(json!({"exp": 101})), 100, 0));
        assert!(!in_time(&c(json!({"exp": 100})), 100, 0));
        assert!(in_time(&c(json!({"exp": 100})), 100, 5));
        assert!(!in_time(&c(json!({"nbf": 200})), 100, 0));
    }

    #[test]
    fn settings_are_checked() {
        assert!(
            IntrospectionSettings::new("http://example.com/i", "rs", "s")
                .validate()
                .is_err()
        );
        assert!(
            IntrospectionSettings::new("http://127.0.0.1:9/i", "rs", "s")
                .validate()
                .is_ok()
        );
        assert!(
            IntrospectionSettings::new("https://as.example/i", "", "s")
                .validate()
                .is_err()
        );
        assert!(
            IntrospectionSettings::new("https://as.example/i", "rs", "s")
                .with_timeout_ms(0)
                .validate()
                .is_err()
        );
    }
}
