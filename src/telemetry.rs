//! Metrics: every metric name tollgate records, and the recording functions
//! the engine calls.
//!
//! With the `metrics` feature, tollgate records through the [`metrics`]
//! facade: install any recorder (for example `metrics-exporter-prometheus`)
//! and the series below appear. Without the feature the recording functions
//! are empty and compile to nothing, so call sites carry no `cfg`.
//!
//! Labels are bounded: outcomes, reasons, credential kinds, grant types and
//! OAuth error codes. A token, session ID, customer or client identifier is
//! never a label. On the request path the keys are `static`s, so recording
//! allocates nothing.
//!
//! | name | type | labels | unit |
//! |---|---|---|---|
//! | [`DECISIONS_TOTAL`] | counter | `outcome`, `reason` | decisions |
//! | [`CREDENTIALS_TOTAL`] | counter | `kind` | credentials |
//! | [`TOKEN_CACHE_TOTAL`] | counter | `result` | lookups |
//! | [`SESSION_STORE_CALLS_TOTAL`] | counter | `result` | calls |
//! | [`JWKS_FETCHES_TOTAL`] | counter | `result` | fetches |
//! | [`JWKS_UNKNOWN_KID_REFRESHES_TOTAL`] | counter | none | fetches |
//! | [`INTROSPECTIONS_TOTAL`] | counter | `result` | calls |
//! | [`TOKEN_ENDPOINT_TOTAL`] | counter | `grant`, `result` | requests |
//! | [`THROTTLED_TOTAL`] | counter | `endpoint` | requests |
//! | [`VERIFY_SECONDS`] | histogram | none | seconds |
//! | [`SESSION_STORE_SECONDS`] | histogram | none | seconds |
//! | [`JWKS_FETCH_SECONDS`] | histogram | none | seconds |
//! | [`TOKEN_ENDPOINT_SECONDS`] | histogram | none | seconds |
//! | [`JWKS_KEYS`] | gauge | `issuer_index` | keys |
//! | [`JWKS_KEY_SET_AGE_SECONDS`] | gauge | `issuer_index` | seconds |
//! | [`JWKS_KEY_SET_CONFIRMED_SECONDS`] | gauge | `issuer_index` | seconds (Unix time) |
//! | [`TOKEN_CACHE_ENTRIES`] | gauge | none | entries |

// Without the feature most arguments are unused by design.
#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

use crate::authenticator::Decision;
use crate::error::{AuthError, AuthErrorKind};

/// Decisions of [`Authenticator::decide`](crate::Authenticator::decide):
/// `outcome` is `allowed` (verified credentials), `anonymous` (none, let
/// through in optional mode, or a CORS preflight), `refused` or
/// `unavailable`; `reason` is the
/// [`AuthErrorKind`] in snake case (`invalid_token`, …) or `none`.
pub const DECISIONS_TOTAL: &str = "tollgate_decisions_total";
/// Credentials presented in decided requests: `kind` is `access_token`,
/// `customer_token`, `session` or `basic`.
pub const CREDENTIALS_TOTAL: &str = "tollgate_credentials_total";
/// Verified-token cache events: `result` is `hit` or `miss` (lookups; a
/// request that waited for a key fetch looks up again after it), or
/// `evicted` (entries dropped to make room).
pub const TOKEN_CACHE_TOTAL: &str = "tollgate_token_cache_total";
/// Session store lookups: `result` is `found`, `not_found` or `error`.
pub const SESSION_STORE_CALLS_TOTAL: &str = "tollgate_session_store_calls_total";
/// Remote key-set fetches: `result` is `fresh`, `not_modified`, `failed`
/// (no keys held) or `stale_served` (failed; the last good keys stay in use).
pub const JWKS_FETCHES_TOTAL: &str = "tollgate_jwks_fetches_total";
/// Key-set fetches triggered by a token naming a `kid` the held set lacks.
pub const JWKS_UNKNOWN_KID_REFRESHES_TOTAL: &str = "tollgate_jwks_unknown_kid_refreshes_total";
/// Calls to the introspection endpoint: `result` is `active`, `inactive` or
/// `unavailable`.
pub const INTROSPECTIONS_TOTAL: &str = "tollgate_introspections_total";
/// Token endpoint requests: `grant` is `client_credentials`,
/// `authorization_code`, `refresh_token` or `other`; `result` is `ok` or the
/// OAuth error code.
pub const TOKEN_ENDPOINT_TOTAL: &str = "tollgate_token_endpoint_total";
/// Requests refused by failure throttling: `endpoint` is `client_auth`
/// (token, revocation and introspection endpoints), `authorize_login`,
/// `customer_login` or `anonymous_session` (the anonymous customer-session
/// budget).
pub const THROTTLED_TOTAL: &str = "tollgate_throttled_total";
/// Time of one uncached token verification (cache hits are not timed).
pub const VERIFY_SECONDS: &str = "tollgate_verify_seconds";
/// Time of one session store lookup (`SessionStore::get`).
pub const SESSION_STORE_SECONDS: &str = "tollgate_session_store_seconds";
/// Time of one remote key-set fetch.
pub const JWKS_FETCH_SECONDS: &str = "tollgate_jwks_fetch_seconds";
/// Time of one token endpoint request.
pub const TOKEN_ENDPOINT_SECONDS: &str = "tollgate_token_endpoint_seconds";
/// Keys held per remote key set: `issuer_index` is the issuer's position in
/// its configuration list (access-token issuers and customer-token issuers
/// are numbered separately).
pub const JWKS_KEYS: &str = "tollgate_jwks_keys";
/// Age of each remote key set: seconds since the keys were last fetched or
/// confirmed unchanged (`304`), set at every fetch attempt: 0 after a
/// successful one, the growing age of the last good keys while fetches fail.
/// Between attempts the gauge keeps its last value; for the age at scrape
/// time use `time() - tollgate_jwks_key_set_confirmed_seconds`.
pub const JWKS_KEY_SET_AGE_SECONDS: &str = "tollgate_jwks_key_set_age_seconds";
/// When each remote key set was last fetched or confirmed unchanged (Unix
/// time, seconds): the age at scrape time is `time()` minus this.
pub const JWKS_KEY_SET_CONFIRMED_SECONDS: &str = "tollgate_jwks_key_set_confirmed_seconds";
/// Entries in the verified-token cache.
pub const TOKEN_CACHE_ENTRIES: &str = "tollgate_token_cache_entries";

/// A `static` key: name and labels fixed at compile time, so recording
/// allocates nothing.
#[cfg(feature = "metrics")]
macro_rules! key {
    ($name:expr $(, $k:literal => $v:expr)*) => {{
        static LABELS: [metrics::Label; <[&str]>::len(&[$($k),*])] =
            [$(metrics::Label::from_static_parts($k, $v)),*];
        static KEY: metrics::Key = metrics::Key::from_static_parts($name, &LABELS);
        &KEY
    }};
}

#[cfg(feature = "metrics")]
static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new("tollgate", metrics::Level::INFO, Some(module_path!()));

#[cfg(feature = "metrics")]
fn increment(key: &'static metrics::Key) {
    metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(1));
}

/// A credential kind, for [`credential`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    AccessToken,
    CustomerToken,
    Session,
    Basic,
}

/// Counts a decided request and its outcome.
#[inline]
pub(crate) fn decision(result: &Result<Decision, AuthError>) {
    #[cfg(feature = "metrics")]
    increment(match result {
        Ok(Decision::Authenticated(_)) => {
            key!(DECISIONS_TOTAL, "outcome" => "allowed", "reason" => "none")
        }
        // No credential in optional mode, or a CORS preflight: let through
        // unauthenticated, which is not the same as a verified caller.
        Ok(_) => key!(DECISIONS_TOTAL, "outcome" => "anonymous", "reason" => "none"),
        Err(e) => match e.kind() {
            AuthErrorKind::Missing => {
                key!(DECISIONS_TOTAL, "outcome" => "refused", "reason" => "missing")
            }
            AuthErrorKind::InvalidRequest => {
                key!(DECISIONS_TOTAL, "outcome" => "refused", "reason" => "invalid_request")
            }
            AuthErrorKind::InvalidToken => {
                key!(DECISIONS_TOTAL, "outcome" => "refused", "reason" => "invalid_token")
            }
            AuthErrorKind::Expired => {
                key!(DECISIONS_TOTAL, "outcome" => "refused", "reason" => "expired")
            }
            AuthErrorKind::InsufficientScope => {
                key!(DECISIONS_TOTAL, "outcome" => "refused", "reason" => "insufficient_scope")
            }
            AuthErrorKind::InvalidDpopProof => {
                key!(DECISIONS_TOTAL, "outcome" => "refused", "reason" => "invalid_dpop_proof")
            }
            AuthErrorKind::Unavailable => {
                key!(DECISIONS_TOTAL, "outcome" => "unavailable", "reason" => "unavailable")
            }
        },
    });
}

/// The `outcome` label (and span field) of a decision.
pub(crate) fn outcome(result: &Result<Decision, AuthError>) -> &'static str {
    match result {
        Ok(Decision::Authenticated(_)) => "allowed",
        Ok(_) => "anonymous",
        Err(e) if e.kind() == AuthErrorKind::Unavailable => "unavailable",
        Err(_) => "refused",
    }
}

/// The `reason` label (and span field) of a refusal: the kind in snake case.
pub(crate) fn reason(kind: AuthErrorKind) -> &'static str {
    match kind {
        AuthErrorKind::Missing => "missing",
        AuthErrorKind::InvalidRequest => "invalid_request",
        AuthErrorKind::InvalidToken => "invalid_token",
        AuthErrorKind::Expired => "expired",
        AuthErrorKind::InsufficientScope => "insufficient_scope",
        AuthErrorKind::Unavailable => "unavailable",
        AuthErrorKind::InvalidDpopProof => "invalid_dpop_proof",
    }
}

/// Counts one presented credential.
#[inline]
pub(crate) fn credential(kind: Credential) {
    #[cfg(feature = "metrics")]
    increment(match kind {
        Credential::AccessToken => key!(CREDENTIALS_TOTAL, "kind" => "access_token"),
        Credential::CustomerToken => key!(CREDENTIALS_TOTAL, "kind" => "customer_token"),
        Credential::Session => key!(CREDENTIALS_TOTAL, "kind" => "session"),
        Credential::Basic => key!(CREDENTIALS_TOTAL, "kind" => "basic"),
    });
}

/// Counts a verified-token cache lookup.
#[inline]
pub(crate) fn token_cache(hit: bool) {
    #[cfg(feature = "metrics")]
    increment(if hit {
        key!(TOKEN_CACHE_TOTAL, "result" => "hit")
    } else {
        key!(TOKEN_CACHE_TOTAL, "result" => "miss")
    });
}

/// Counts entries evicted from the verified-token cache to make room.
#[inline]
pub(crate) fn token_cache_evictions(count: u32) {
    #[cfg(feature = "metrics")]
    metrics::with_recorder(|r| {
        r.register_counter(key!(TOKEN_CACHE_TOTAL, "result" => "evicted"), &METADATA)
            .increment(u64::from(count));
    });
}

/// Sets the number of verified-token cache entries.
#[inline]
pub(crate) fn token_cache_entries(entries: usize) {
    #[cfg(feature = "metrics")]
    metrics::with_recorder(|r| {
        r.register_gauge(key!(TOKEN_CACHE_ENTRIES), &METADATA)
            .set(entries as f64);
    });
}

/// A session store lookup's result, for [`session_store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreResult {
    Found,
    NotFound,
    Error,
}

/// Counts a session store lookup.
#[inline]
pub(crate) fn session_store(result: StoreResult) {
    #[cfg(feature = "metrics")]
    increment(match result {
        StoreResult::Found => key!(SESSION_STORE_CALLS_TOTAL, "result" => "found"),
        StoreResult::NotFound => key!(SESSION_STORE_CALLS_TOTAL, "result" => "not_found"),
        StoreResult::Error => key!(SESSION_STORE_CALLS_TOTAL, "result" => "error"),
    });
}

/// A key-set fetch's result, for [`jwks_fetch`].
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchResult {
    Fresh,
    NotModified,
    Failed,
    StaleServed,
}

/// Counts a key-set fetch.
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[inline]
pub(crate) fn jwks_fetch(result: FetchResult) {
    #[cfg(feature = "metrics")]
    increment(match result {
        FetchResult::Fresh => key!(JWKS_FETCHES_TOTAL, "result" => "fresh"),
        FetchResult::NotModified => key!(JWKS_FETCHES_TOTAL, "result" => "not_modified"),
        FetchResult::Failed => key!(JWKS_FETCHES_TOTAL, "result" => "failed"),
        FetchResult::StaleServed => key!(JWKS_FETCHES_TOTAL, "result" => "stale_served"),
    });
}

/// Counts a key-set fetch triggered by an unknown `kid`.
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[inline]
pub(crate) fn jwks_unknown_kid_refresh() {
    #[cfg(feature = "metrics")]
    increment(key!(JWKS_UNKNOWN_KID_REFRESHES_TOTAL));
}

/// Sets the number of keys held for the issuer at `issuer_index` (off the
/// request path: the label is formatted here).
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[inline]
pub(crate) fn jwks_keys(issuer_index: usize, keys: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!(JWKS_KEYS, "issuer_index" => issuer_index.to_string()).set(keys as f64);
}

/// Sets the age of the key set of the issuer at `issuer_index`: `age` since
/// its keys were last fetched or confirmed unchanged (off the request path:
/// called at fetch attempts).
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[inline]
pub(crate) fn jwks_key_set_age(issuer_index: usize, age: std::time::Duration) {
    #[cfg(feature = "metrics")]
    {
        let index = issuer_index.to_string();
        let confirmed = std::time::SystemTime::now()
            .checked_sub(age)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        metrics::gauge!(JWKS_KEY_SET_AGE_SECONDS, "issuer_index" => index.clone())
            .set(age.as_secs_f64());
        metrics::gauge!(JWKS_KEY_SET_CONFIRMED_SECONDS, "issuer_index" => index).set(confirmed);
    }
}

/// An introspection call's result, for [`introspection`].
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntrospectionResult {
    Active,
    Inactive,
    Unavailable,
}

/// Counts a call to the introspection endpoint.
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
#[inline]
pub(crate) fn introspection(result: IntrospectionResult) {
    #[cfg(feature = "metrics")]
    increment(match result {
        IntrospectionResult::Active => key!(INTROSPECTIONS_TOTAL, "result" => "active"),
        IntrospectionResult::Inactive => key!(INTROSPECTIONS_TOTAL, "result" => "inactive"),
        IntrospectionResult::Unavailable => {
            key!(INTROSPECTIONS_TOTAL, "result" => "unavailable")
        }
    });
}

/// Counts a token endpoint request: `grant` is one of the grant labels,
/// `result` is `ok` or an OAuth error code (both fixed strings).
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
#[inline]
pub(crate) fn token_endpoint(grant: &'static str, result: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(TOKEN_ENDPOINT_TOTAL, "grant" => grant, "result" => result).increment(1);
}

/// Counts a request refused by failure throttling at `endpoint`.
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
#[inline]
pub(crate) fn throttled(endpoint: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(THROTTLED_TOTAL, "endpoint" => endpoint).increment(1);
}

/// Which histogram a [`Timer`] records into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timed {
    Verify,
    SessionStore,
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    JwksFetch,
    #[cfg_attr(not(feature = "issuer"), allow(dead_code))]
    TokenEndpoint,
}

/// Measures one operation; a zero-sized no-op without the feature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timer {
    #[cfg(feature = "metrics")]
    start: std::time::Instant,
}

impl Timer {
    /// Starts measuring.
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            start: std::time::Instant::now(),
        }
    }

    /// Records the time since [`start`](Self::start) into `into`.
    #[inline]
    pub(crate) fn stop(self, into: Timed) {
        #[cfg(feature = "metrics")]
        {
            let secs = self.start.elapsed().as_secs_f64();
            let key = match into {
                Timed::Verify => key!(VERIFY_SECONDS),
                Timed::SessionStore => key!(SESSION_STORE_SECONDS),
                Timed::JwksFetch => key!(JWKS_FETCH_SECONDS),
                Timed::TokenEndpoint => key!(TOKEN_ENDPOINT_SECONDS),
            };
            metrics::with_recorder(|r| r.register_histogram(key, &METADATA).record(secs));
        }
    }
}

#[cfg(all(test, feature = "metrics", feature = "aws_lc_rs"))]
mod tests {
    use crate::{Authenticator, CryptoBackend, IssuerConfig, Mode, TokenCacheSettings};

    const SECRET: &str = "a-very-long-shared-secret-of-32+-bytes!!";

    /// Runs `f` on a current-thread runtime under a local recorder and
    /// returns the Prometheus scrape.
    fn scrape(f: impl AsyncFnOnce()) -> String {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        metrics::with_local_recorder(&recorder, || rt.block_on(f()));
        handle.render()
    }

    fn value(scrape: &str, series: &str) -> Option<f64> {
        scrape
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    fn token(sub: &str) -> String {
        let claims = serde_json::json!({
            "iss": "https://i.example", "aud": "api", "sub": sub,
            "exp": crate::jwt::now_secs() as u64 + 300,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn bearer(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn decisions_credentials_cache_and_evictions_are_counted() {
        crate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
        let auth = Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.example")
                    .audience("api")
                    .hmac_secret(SECRET),
            )
            .token_cache(TokenCacheSettings::default().with_max_entries(2))
            .build()
            .unwrap();
        let out = scrape(async || {
            for sub in ["a", "b", "c", "a"] {
                auth.decide(&bearer(&token(sub)), Mode::Required)
                    .await
                    .unwrap();
            }
            let _ = auth.decide(&bearer("not-a-jwt"), Mode::Required).await;
            let _ = auth.decide(&http::HeaderMap::new(), Mode::Required).await;
            let _ = auth.decide(&http::HeaderMap::new(), Mode::Optional).await;
        });
        let v = |series| value(&out, series);
        assert_eq!(
            v(r#"tollgate_decisions_total{outcome="allowed",reason="none"}"#),
            Some(4.0),
            "{out}"
        );
        assert_eq!(
            v(r#"tollgate_decisions_total{outcome="anonymous",reason="none"}"#),
            Some(1.0),
            "{out}"
        );
        assert_eq!(
            v(r#"tollgate_decisions_total{outcome="refused",reason="invalid_token"}"#),
            Some(1.0)
        );
        assert_eq!(
            v(r#"tollgate_decisions_total{outcome="refused",reason="missing"}"#),
            Some(1.0)
        );
        assert_eq!(
            v(r#"tollgate_credentials_total{kind="access_token"}"#),
            Some(5.0)
        );
        let lookups = v(r#"tollgate_token_cache_total{result="miss"}"#).unwrap_or(0.0)
            + v(r#"tollgate_token_cache_total{result="hit"}"#).unwrap_or(0.0);
        assert_eq!(lookups, 5.0, "{out}");
        assert!(
            v(r#"tollgate_token_cache_total{result="evicted"}"#) >= Some(1.0),
            "{out}"
        );
        assert!(
            v("tollgate_token_cache_entries").is_some_and(|n| n <= 2.0),
            "{out}"
        );
        // Only uncached verifications are timed: one per miss.
        assert_eq!(
            v("tollgate_verify_seconds_count"),
            v(r#"tollgate_token_cache_total{result="miss"}"#),
            "{out}"
        );
    }
}
