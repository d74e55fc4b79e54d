//! Memory, counted by a global allocator that tracks live heap bytes
//! (`stats_alloc`; issue
//! 14, target 7): bytes per cached token, bytes per memory-store session,
//! and the verified-token cache's live bytes while far more distinct tokens
//! than it may hold pass through it. Not a criterion bench: it prints one
//! table (`cargo bench --bench memory`).

use futures_util::FutureExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use std::future::Future;
use std::sync::Arc;
use tollgate::session::{MemoryStore, NewSession, SessionStore};
use tollgate::{Authenticator, CryptoBackend, IssuerConfig, KeySource, Secret, TokenCacheSettings};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Live heap bytes: allocated minus freed (`stats_alloc` counts a
/// reallocation's growth or shrinkage in these two already).
fn live() -> isize {
    let s = GLOBAL.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "bench-api";
const SECRET: &str = "bench-secret-that-is-at-least-32-bytes-long";

/// Polls a future that must be ready at once (nothing here awaits).
fn now_or_never<F: Future>(f: F) -> F::Output {
    f.now_or_never().expect("expected no await")
}

fn authenticator(cache: TokenCacheSettings) -> Authenticator {
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .key(KeySource::HmacSecret {
                    secret: Secret::new(SECRET),
                    algorithm: Some(tollgate::Algorithm::HS256),
                    allow_short: false,
                }),
        )
        .token_cache(cache)
        .build()
        .expect("authenticator")
}

/// Authorization headers for `n` distinct tokens shaped like a
/// client-credentials access token (the shape `examples/axum_api` serves).
fn headers(n: usize, from: usize) -> Vec<http::HeaderMap> {
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    (from..from + n)
        .map(|i| {
            let claims = serde_json::json!({
                "iss": ISSUER, "aud": AUDIENCE, "exp": 4_000_000_000u64, "iat": 1_700_000_000u64,
                "sub": format!("client-{i}"), "jti": format!("jti-{i:016}"),
                "client_id": format!("client-{i}"), "account_id": "acct-1",
                "scope": "orders:read orders:write customer:read",
            });
            let token =
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("token");
            let mut h = http::HeaderMap::new();
            h.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("header"),
            );
            h
        })
        .collect()
}

fn token_len(h: &http::HeaderMap) -> usize {
    h[http::header::AUTHORIZATION].len() - "Bearer ".len()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).expect("backend");

    // 1. Bytes per cached token: a cache large enough to keep them all.
    const N: usize = 20_000;
    let auth = authenticator(
        TokenCacheSettings::default()
            .with_max_entries(N * 2)
            .with_max_bytes(1 << 30),
    );
    let hs = headers(N, 0);
    // One request first, so lazily built state is not counted per token.
    assert!(
        now_or_never(auth.authenticate(&hs[0]))
            .expect("ok")
            .is_some()
    );
    let before = live();
    for h in &hs[1..] {
        assert!(now_or_never(auth.authenticate(h)).expect("ok").is_some());
    }
    let per_token = (live() - before) as f64 / (N - 1) as f64;
    assert_eq!(auth.cached_tokens(), N);
    println!("| what | bytes |");
    println!("|---|---|");
    println!(
        "| per cached token (HS256, {}-byte token; {N} tokens, cache large enough for all) | {per_token:.0} |",
        token_len(&hs[0])
    );
    drop(hs);
    drop(auth);

    // 2. Bytes per memory-store session.
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(N * 2));
    let ids: Vec<String> = (0..N).map(|i| format!("cust-{i}")).collect();
    let scopes = "customer:read orders:read";
    let _warm = now_or_never(store.create(NewSession::for_customer("acct", "warm", scopes)));
    let before = live();
    for id in &ids {
        let s = now_or_never(store.create(NewSession::for_customer("acct", id.as_str(), scopes)))
            .expect("session");
        drop(s);
    }
    let per_session = (live() - before) as f64 / N as f64;
    println!(
        "| per memory-store session (customer session, {}-byte scope string; {N} sessions) | {per_session:.0} |",
        scopes.len()
    );
    drop(store);

    // 3. The cache's bounds under many more distinct tokens than it may
    // hold: live bytes after each batch (tokens are minted per batch and
    // dropped before counting). The default settings (10,000 entries, 16
    // MiB: the entry count binds), then a byte bound that binds first.
    for settings in [
        TokenCacheSettings::default(),
        TokenCacheSettings::default()
            .with_max_entries(1_000_000)
            .with_max_bytes(4 << 20),
    ] {
        let auth = authenticator(settings.clone());
        let base = live();
        const BATCH: usize = 50_000;
        for batch in 0..3 {
            let hs = headers(BATCH, batch * BATCH);
            for h in &hs {
                assert!(now_or_never(auth.authenticate(h)).expect("ok").is_some());
            }
            drop(hs);
            let bytes = live() - base;
            println!(
                "| cache of max {} entries / {} bytes, after {} distinct tokens: {} cached, live bytes ({:.2} of max_bytes) | {bytes} |",
                settings.max_entries,
                settings.max_bytes,
                (batch + 1) * BATCH,
                auth.cached_tokens(),
                bytes as f64 / settings.max_bytes as f64,
            );
        }
    }
}
