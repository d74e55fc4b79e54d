//! Full `Authenticator` path (headers in → AuthContext out), uncached and
//! cached, beside raw `jsonwebtoken::decode` with the same key and claims and
//! the pre-parsed-key floor (aws-lc verifying the signature alone), in the
//! same run; the tower service call with and without the layer; and a
//! DPoP-bound token's full path (cached token + proof verification + replay
//! insert) beside a bearer token's, same key type, same run; and an opaque
//! token answered from the warm introspection cache beside a cached JWT;
//! the cached path beside a hand-written no-checks cache, and on 1 and 2
//! threads.

use aws_lc_rs::{hmac, signature};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tollgate::{Authenticator, CryptoBackend, IssuerConfig, KeySource, Secret, TokenCacheSettings};
use tower::Service;

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "bench-api";
const SECRET: &str = "bench-secret-that-is-at-least-32-bytes-long";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Polls a future that is expected to be ready at once (the fast path never
/// awaits), without a runtime's overhead.
fn now_or_never<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("fast path awaited"),
    }
}

#[derive(Clone)]
struct Case {
    name: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    source: KeySource,
}

fn cases() -> Vec<Case> {
    let pem = |n: &str| String::from_utf8(key(n)).unwrap();
    vec![
        Case {
            name: "HS256",
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(SECRET.as_bytes()),
            decoding: DecodingKey::from_secret(SECRET.as_bytes()),
            source: KeySource::HmacSecret {
                secret: Secret::new(SECRET),
                algorithm: None,
                allow_short: false,
            },
        },
        Case {
            name: "RS256",
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(&key("rsa.pem")).unwrap(),
            decoding: DecodingKey::from_rsa_pem(&key("rsa.pub.pem")).unwrap(),
            source: KeySource::PublicKeyPem {
                pem: pem("rsa.pub.pem"),
                algorithm: tollgate::Algorithm::RS256,
                kid: None,
            },
        },
        Case {
            name: "ES256",
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(&key("ec256.pem")).unwrap(),
            decoding: DecodingKey::from_ec_pem(&key("ec256.pub.pem")).unwrap(),
            source: KeySource::PublicKeyPem {
                pem: pem("ec256.pub.pem"),
                algorithm: tollgate::Algorithm::ES256,
                kid: None,
            },
        },
        Case {
            name: "EdDSA",
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_pem(&key("ed25519.pem")).unwrap(),
            decoding: DecodingKey::from_ed_pem(&key("ed25519.pub.pem")).unwrap(),
            source: KeySource::PublicKeyPem {
                pem: pem("ed25519.pub.pem"),
                algorithm: tollgate::Algorithm::EdDSA,
                kid: None,
            },
        },
    ]
}

fn bench(c: &mut Criterion) {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client-123",
        "client_id": "client-123",
        "account_id": "acct-9",
        "scope": "orders:read orders:write customer:read",
        "iat": 1_700_000_000u64,
        "exp": 4_000_000_000u64,
    });
    let mut group = c.benchmark_group("verify");
    for case in cases() {
        let token = jsonwebtoken::encode(&Header::new(case.alg), &claims, &case.encoding).unwrap();

        let mut validation = Validation::new(case.alg);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(&token, &case.decoding, &validation).is_ok()
        );
        group.bench_function(format!("{}/jsonwebtoken_decode", case.name), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(
                    black_box(&token),
                    &case.decoding,
                    &validation,
                )
            })
        });

        let builder = |cache: bool| {
            Authenticator::builder()
                .issuer(
                    IssuerConfig::new(ISSUER)
                        .audience(AUDIENCE)
                        .key(case.source.clone()),
                )
                .token_cache(TokenCacheSettings::default().with_enabled(cache))
        };
        let build = |cache: bool| builder(cache).build().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let mut rows = vec![
            ("tollgate_uncached", build(false)),
            ("tollgate_cached", build(true)),
        ];
        if case.alg == Algorithm::RS256 {
            // With a revocation list (holding another token's `jti`): its
            // check runs on every request.
            let list = std::sync::Arc::new(tollgate::revocation::MemoryRevocations::default());
            list.revoke_jti("another-token", 4_000_000_000);
            rows.push((
                "tollgate_uncached_with_revocations",
                builder(false).revocations(list).build().unwrap(),
            ));
        }
        for (label, auth) in rows {
            assert!(now_or_never(auth.authenticate(&headers)).unwrap().is_some());
            group.bench_function(format!("{}/{label}", case.name), |b| {
                b.iter(|| now_or_never(auth.authenticate(black_box(&headers))))
            });
        }

        // The floor: the signature check alone with a pre-parsed aws-lc key.
        let (message, sig_b64) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig_b64).unwrap();
        let message = message.as_bytes().to_vec();
        let floor: Box<dyn Fn() -> bool> = match case.alg {
            Algorithm::HS256 => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
                Box::new(move || hmac::verify(&key, &message, &sig).is_ok())
            }
            alg => {
                let (v, der): (&'static dyn signature::VerificationAlgorithm, Vec<u8>) = match alg {
                    Algorithm::RS256 => (
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        spki_der("rsa.pub.pem"),
                    ),
                    Algorithm::ES256 => (
                        &signature::ECDSA_P256_SHA256_FIXED,
                        spki_der("ec256.pub.pem"),
                    ),
                    _ => (&signature::ED25519, spki_der("ed25519.pub.pem")),
                };
                let key = signature::ParsedPublicKey::new(v, der).unwrap();
                Box::new(move || key.verify_sig(&message, &sig).is_ok())
            }
        };
        assert!(floor());
        group.bench_function(format!("{}/floor_preparsed_verify", case.name), |b| {
            b.iter(|| black_box(floor()))
        });
    }
    group.finish();

    // The tower service call on a trivial inner service, with and without
    // the layer (RS256, cached).
    let mut group = c.benchmark_group("tower_service");
    let rsa = cases()
        .into_iter()
        .find(|c| c.alg == Algorithm::RS256)
        .unwrap();
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &rsa.encoding).unwrap();
    let auth = Authenticator::builder()
        .issuer(IssuerConfig::new(ISSUER).audience(AUDIENCE).key(rsa.source))
        .build()
        .unwrap();
    let inner = tower::service_fn(|_req: http::Request<String>| async {
        Ok::<_, Infallible>(http::Response::new(String::new()))
    });
    let mut bare = inner;
    let mut layered = tower::ServiceBuilder::new()
        .layer(tollgate::tower::AuthLayer::required(auth))
        .service(inner);
    let bearer = format!("Bearer {token}");
    let request = || {
        http::Request::builder()
            .header("authorization", bearer.as_str())
            .body(String::new())
            .unwrap()
    };
    let first = now_or_never(layered.call(request())).unwrap();
    assert_eq!(first.status(), 200);
    group.bench_function("bare", |b| {
        b.iter(|| now_or_never(bare.call(black_box(request()))))
    });
    group.bench_function("with_auth_layer_cached", |b| {
        b.iter(|| now_or_never(layered.call(black_box(request()))))
    });
    group.finish();
}

/// DER SubjectPublicKeyInfo of a PEM public key.
fn spki_der(name: &str) -> Vec<u8> {
    let pem = String::from_utf8(key(name)).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).unwrap()
}

/// A DPoP request: the bound token is cached, the proof is fresh per
/// iteration (generated outside the measurement), so the row measures proof
/// parsing, JWK parsing, signature verification, thumbprint and the replay
/// insert on top of the bearer row's cached lookup.
fn bench_dpop(c: &mut Criterion) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    let jkt = tollgate::dpop::jwk_thumbprint(&jwk).unwrap();
    let es = cases()
        .into_iter()
        .find(|c| c.alg == Algorithm::ES256)
        .unwrap();
    let mut claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "client-123", "client_id": "client-123",
        "account_id": "acct-9", "scope": "orders:read", "iat": 1_700_000_000u64,
        "exp": 4_000_000_000u64,
    });
    let bearer_token =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &es.encoding).unwrap();
    claims["cnf"] = serde_json::json!({ "jkt": jkt });
    let bound_token =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &es.encoding).unwrap();
    let auth = Authenticator::builder()
        .issuer(IssuerConfig::new(ISSUER).audience(AUDIENCE).key(es.source))
        .dpop(
            tollgate::DpopConfig::default()
                .with_public_url("https://api.bench")
                .with_replay_capacity(1 << 20),
        )
        .build()
        .unwrap();
    let ath = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bound_token.as_bytes()).as_ref(),
    );
    let header = URL_SAFE_NO_PAD
        .encode(serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).to_string());
    let mut n = 0u64;
    let mut proof = || {
        n += 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({
            "jti": format!("bench-{n}"), "htm": "GET", "htu": "https://api.bench/orders",
            "iat": now, "ath": ath,
        });
        let msg = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = pair.sign(&rng, msg.as_bytes()).unwrap();
        format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    };
    let request = |scheme: &str, token: &str, proof: Option<String>| {
        let mut req = http::Request::builder()
            .uri("/orders")
            .header("authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        req.body(()).unwrap()
    };
    // Warm the token cache for both tokens; check both pass.
    let bearer_req = request("Bearer", &bearer_token, None);
    assert!(
        now_or_never(auth.authenticate(&bearer_req))
            .unwrap()
            .is_some()
    );
    let first = request("DPoP", &bound_token, Some(proof()));
    assert!(now_or_never(auth.authenticate(&first)).unwrap().is_some());

    let mut group = c.benchmark_group("dpop");
    group.bench_function("ES256/bearer_cached", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&bearer_req))).unwrap())
    });
    group.bench_function("ES256/dpop_cached_token_proof_verify_replay_insert", |b| {
        b.iter_batched(
            || request("DPoP", &bound_token, Some(proof())),
            |req| now_or_never(auth.authenticate(black_box(&req))).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// An opaque token answered from the warm introspection cache (RFC 7662)
/// beside a cached HS256 JWT, through the same `Authenticator`, same run.
fn bench_introspection(c: &mut Criterion) {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    let answer = serde_json::json!({
        "active": true, "client_id": "client-123", "sub": "client-123",
        "account_id": "acct-9", "scope": "orders:read orders:write customer:read",
        "exp": 4_000_000_000u64,
    });
    let router = axum::Router::new().route(
        "/introspect",
        axum::routing::post(move || {
            let answer = answer.clone();
            async move { axum::Json(answer) }
        }),
    );
    rt.spawn(async move { axum::serve(listener, router).await.unwrap() });
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(SECRET),
        )
        .introspection(tollgate::IntrospectionSettings::new(
            url,
            "bench-rs",
            "bench-rs-secret",
        ))
        .build()
        .unwrap();
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "client-123", "client_id": "client-123",
        "account_id": "acct-9", "scope": "orders:read orders:write customer:read",
        "iat": 1_700_000_000u64, "exp": 4_000_000_000u64,
    });
    let jwt = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let request = |token: &str| {
        http::Request::builder()
            .uri("/orders")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
    };
    let opaque_req = request("2YotnFZFEjr1zCsicMWpAA-opaque-access-token");
    let jwt_req = request(&jwt);
    // Warm both caches (the first opaque lookup makes the one call).
    assert!(
        rt.block_on(auth.authenticate(&opaque_req))
            .unwrap()
            .is_some()
    );
    assert!(rt.block_on(auth.authenticate(&jwt_req)).unwrap().is_some());
    assert_eq!(auth.introspection_calls(), 1);

    let mut group = c.benchmark_group("introspection");
    group.bench_function("jwt_cached", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&jwt_req))).unwrap())
    });
    group.bench_function("opaque_warm_cache", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&opaque_req))).unwrap())
    });
    group.finish();
    assert_eq!(
        auth.introspection_calls(),
        1,
        "every benched lookup was a cache hit"
    );
}

/// tollgate's cached path beside a hand-written cache (a `RwLock<HashMap>`
/// keyed by the whole token, no checks at all: no expiry, no key-set
/// generation, no revocation), same RS256 token, same run; and the cached
/// path on 1 and 2 threads at once (aggregate time per request: the ratio
/// is the scaling).
fn bench_cache(c: &mut Criterion) {
    use std::collections::HashMap;
    use std::sync::{Arc, RwLock};
    let case = cases()
        .into_iter()
        .find(|c| c.alg == Algorithm::RS256)
        .unwrap();
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "client-123", "client_id": "client-123",
        "account_id": "acct-9", "scope": "orders:read orders:write customer:read",
        "iat": 1_700_000_000u64, "exp": 4_000_000_000u64,
    });
    let token = jsonwebtoken::encode(&Header::new(case.alg), &claims, &case.encoding).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .key(case.source.clone()),
        )
        .build()
        .unwrap();
    assert!(now_or_never(auth.authenticate(&headers)).unwrap().is_some());

    // The hand-written layer's cache: what a verified token maps to.
    let mut validation = Validation::new(case.alg);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    let verified =
        jsonwebtoken::decode::<serde_json::Value>(&token, &case.decoding, &validation).unwrap();
    let map: RwLock<HashMap<String, Arc<serde_json::Value>>> =
        RwLock::new(HashMap::from([(token.clone(), Arc::new(verified.claims))]));
    let hand_written = |h: &http::HeaderMap| -> Option<Arc<serde_json::Value>> {
        let v = h.get("authorization")?.to_str().ok()?;
        let t = v.strip_prefix("Bearer ")?;
        map.read().ok()?.get(t).cloned()
    };
    assert!(hand_written(&headers).is_some());

    let mut group = c.benchmark_group("cache");
    group.bench_function("RS256/hand_written_hashmap_no_checks", |b| {
        b.iter(|| hand_written(black_box(&headers)))
    });
    group.bench_function("RS256/tollgate_cached", |b| {
        b.iter(|| now_or_never(auth.authenticate(black_box(&headers))))
    });
    group.finish();

    let mut group = c.benchmark_group("threads");
    for threads in [1u64, 2] {
        group.bench_function(format!("RS256_cached/{threads}"), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(threads);
                let start = std::time::Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| {
                            for _ in 0..per {
                                black_box(now_or_never(auth.authenticate(black_box(&headers))))
                                    .unwrap();
                            }
                        });
                    }
                });
                // Aggregate: wall time over all requests served.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * threads) as f64)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_dpop, bench_introspection, bench_cache);
criterion_main!(benches);
