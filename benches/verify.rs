//! Full `Authenticator` path (headers in → AuthContext out) beside raw
//! `jsonwebtoken::decode` with the same key and claims, in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tollgate::{Authenticator, CryptoBackend, IssuerConfig, KeySource, Secret};

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
                algorithm: "RS256".into(),
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
                algorithm: "ES256".into(),
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
                algorithm: "EdDSA".into(),
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

        let auth = Authenticator::builder()
            .issuer(
                IssuerConfig::new(ISSUER)
                    .audience(AUDIENCE)
                    .key(case.source),
            )
            .build()
            .unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        assert!(now_or_never(auth.authenticate(&headers)).unwrap().is_some());
        group.bench_function(format!("{}/tollgate_authenticate", case.name), |b| {
            b.iter(|| now_or_never(auth.authenticate(black_box(&headers))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
