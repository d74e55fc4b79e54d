//! Session lookup through the full engine (memory and Redis stores), and a
//! customer-token + access-token pair beside a single access token, in the
//! same run.

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tollgate::config::CustomerTokenConfig;
use tollgate::session::{MemoryStore, NewSession, SessionStore};
use tollgate::{Authenticator, CryptoBackend, IssuerConfig};

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "bench-api";

fn now_or_never<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected no await"),
    }
}

fn rsa_pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn builder() -> tollgate::AuthenticatorBuilder {
    Authenticator::builder().issuer(IssuerConfig::new(ISSUER).audience(AUDIENCE).public_key_pem(
        String::from_utf8(rsa_pem("rsa.pub.pem")).unwrap(),
        tollgate::Algorithm::RS256,
    ))
}

fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

fn bench(c: &mut Criterion) {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("sessions");

    // Memory store.
    let memory: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let auth = builder().session_store(memory.clone()).build().unwrap();
    let s = rt
        .block_on(memory.create(NewSession::for_customer(
            "acct",
            "cust",
            "customer:read orders:read",
        )))
        .unwrap();
    let h = headers(&[("x-session-id", s.id.as_str())]);
    assert!(now_or_never(auth.authenticate(&h)).unwrap().is_some());
    group.bench_function("session_lookup/memory", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&h))))
    });

    // Redis store (loopback), when built with the feature and one answers.
    #[cfg(feature = "redis")]
    {
        use tollgate::session::{RedisSettings, RedisStore};
        let store: Arc<dyn SessionStore> = Arc::new(
            RedisStore::new(RedisSettings::default().with_key_prefix("tollgate-bench:")).unwrap(),
        );
        let auth = builder().session_store(store.clone()).build().unwrap();
        match rt.block_on(store.create(NewSession::for_customer("acct", "cust", "customer:read"))) {
            Ok(s) => {
                let h = headers(&[("x-session-id", s.id.as_str())]);
                assert!(rt.block_on(auth.authenticate(&h)).unwrap().is_some());
                group.bench_function("session_lookup/redis", |b| {
                    b.iter(|| rt.block_on(auth.authenticate(black_box(&h))))
                });
                let _ = rt.block_on(store.revoke(&s.id));
                // With an idle timeout: the lookup also slides the deadline,
                // still one round trip (a Lua script).
                let idle = rt
                    .block_on(
                        store.create(
                            NewSession::for_customer("acct", "cust", "customer:read")
                                .with_idle_ttl(std::time::Duration::from_secs(600)),
                        ),
                    )
                    .unwrap();
                let h = headers(&[("x-session-id", idle.id.as_str())]);
                assert!(rt.block_on(auth.authenticate(&h)).unwrap().is_some());
                group.bench_function("session_lookup/redis_idle", |b| {
                    b.iter(|| rt.block_on(auth.authenticate(black_box(&h))))
                });
                let _ = rt.block_on(store.revoke(&idle.id));
            }
            Err(e) => eprintln!("SKIPPED session_lookup/redis: {e}"),
        }
        // Client-side caching with Redis invalidation (RESP3 tracking).
        let tracked = Arc::new(
            RedisStore::new(
                RedisSettings::default()
                    .with_key_prefix("tollgate-bench:")
                    .with_tracking(true),
            )
            .unwrap(),
        );
        let store: Arc<dyn SessionStore> = tracked.clone();
        let auth = builder().session_store(store.clone()).build().unwrap();
        if let Ok(s) = rt.block_on(
            store.create(
                NewSession::for_customer("acct", "cust", "customer:read")
                    .with_idle_ttl(std::time::Duration::from_secs(600)),
            ),
        ) {
            let h = headers(&[("x-session-id", s.id.as_str())]);
            // Wait for the tracking connection, then warm the cache.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while format!("{tracked:?}").contains("tracking: Some(false)")
                && std::time::Instant::now() < deadline
            {
                rt.block_on(auth.authenticate(&h)).unwrap();
                rt.block_on(async {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await
                });
            }
            for _ in 0..3 {
                assert!(rt.block_on(auth.authenticate(&h)).unwrap().is_some());
            }
            group.bench_function("session_lookup/redis_tracking", |b| {
                b.iter(|| rt.block_on(auth.authenticate(black_box(&h))))
            });
            let _ = rt.block_on(store.revoke(&s.id));
        }
    }
    group.finish();

    // Access token alone vs access token + customer token.
    let mut group = c.benchmark_group("customer_token");
    let auth = builder()
        .customer_tokens(CustomerTokenConfig::default())
        .build()
        .unwrap();
    let key = EncodingKey::from_rsa_pem(&rsa_pem("rsa.pem")).unwrap();
    let exp = 4_000_000_000u64;
    let access = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "exp": exp, "client_id": "app",
            "account_id": "acct", "scope": "orders:read orders:write customer:read"}),
        &key,
    )
    .unwrap();
    let customer = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "exp": exp, "client_id": "app",
            "account_id": "acct", "customer_id": "cust", "token_use": "customer"}),
        &key,
    )
    .unwrap();
    let bearer = format!("Bearer {access}");
    let single = headers(&[("authorization", &bearer)]);
    let pair = headers(&[("authorization", &bearer), ("x-customer-token", &customer)]);
    assert!(
        now_or_never(auth.authenticate(&pair))
            .unwrap()
            .unwrap()
            .customer()
            .is_some()
    );
    group.bench_function("RS256/access_token", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&single))))
    });
    group.bench_function("RS256/access_plus_customer_token", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&pair))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
