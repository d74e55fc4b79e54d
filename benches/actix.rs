//! actix-web with tollgate's middleware versus the same app with
//! `actix-web-httpauth` + `jsonwebtoken` doing RS256 verification by hand,
//! in the same run (in-process `call_service`, no network).

use actix_web::dev::ServiceRequest;
use actix_web::{App, HttpMessage, HttpResponse, test, web};
use actix_web_httpauth::extractors::bearer::BearerAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use std::sync::OnceLock;
use tollgate::actix::AuthMiddleware;
use tollgate::{Auth, Authenticator, CryptoBackend, IssuerConfig};

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "bench-api";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

static DECODING: OnceLock<(DecodingKey, Validation)> = OnceLock::new();

/// The hand-written validator a user would write with actix-web-httpauth.
async fn validator(
    req: ServiceRequest,
    credentials: BearerAuth,
) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    let (key, validation) = DECODING.get().unwrap();
    match jsonwebtoken::decode::<serde_json::Value>(credentials.token(), key, validation) {
        Ok(data) => {
            req.extensions_mut().insert(data.claims);
            Ok(req)
        }
        Err(_) => Err((actix_web::error::ErrorUnauthorized("invalid token"), req)),
    }
}

fn bench(c: &mut Criterion) {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    let _ = DECODING.set((
        DecodingKey::from_rsa_pem(&key("rsa.pub.pem")).unwrap(),
        validation,
    ));
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "exp": 4_000_000_000u64,
            "client_id": "app", "account_id": "acct", "scope": "orders:read"}),
        &EncodingKey::from_rsa_pem(&key("rsa.pem")).unwrap(),
    )
    .unwrap();
    let auth = Authenticator::builder()
        .issuer(IssuerConfig::new(ISSUER).audience(AUDIENCE).public_key_pem(
            String::from_utf8(key("rsa.pub.pem")).unwrap(),
            tollgate::Algorithm::RS256,
        ))
        .build()
        .unwrap();

    let rt = actix_web::rt::System::new();
    let tollgate_app = rt.block_on(test::init_service(
        App::new().wrap(AuthMiddleware::required(auth)).route(
            "/",
            web::get().to(|a: Auth| async move {
                HttpResponse::Ok().body(a.client_id().unwrap_or_default().to_owned())
            }),
        ),
    ));
    let httpauth_app = rt.block_on(test::init_service(
        App::new()
            .wrap(HttpAuthentication::bearer(validator))
            .route(
                "/",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    let ext = req.extensions();
                    let client = ext
                        .get::<serde_json::Value>()
                        .and_then(|c| c["client_id"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    HttpResponse::Ok().body(client)
                }),
            ),
    ));
    let bearer = format!("Bearer {token}");
    let request = || {
        test::TestRequest::get()
            .uri("/")
            .insert_header(("authorization", bearer.as_str()))
            .to_request()
    };
    for app_status in [
        rt.block_on(test::call_service(&tollgate_app, request()))
            .status(),
        rt.block_on(test::call_service(&httpauth_app, request()))
            .status(),
    ] {
        assert_eq!(app_status, 200);
    }

    let mut group = c.benchmark_group("actix_rs256");
    group.bench_function("actix-web-httpauth+jsonwebtoken", |b| {
        b.iter(|| rt.block_on(test::call_service(&httpauth_app, request())))
    });
    group.bench_function("tollgate", |b| {
        b.iter(|| rt.block_on(test::call_service(&tollgate_app, request())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
