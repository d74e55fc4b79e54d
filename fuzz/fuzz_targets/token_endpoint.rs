//! The OAuth token endpoint (`POST /oauth/token`, feature `issuer`) as a
//! whole: form-body parsing, `client_secret_basic` decoding, client
//! authentication, scope narrowing and minting. The status must never be a
//! server error.
//!
//! Input: if it holds a `\n`, the bytes before the first one are the
//! `Authorization` header value (none when empty or not a valid header
//! value) and the rest is the body; otherwise the whole input is the body.
//! The content type is always `application/x-www-form-urlencoded`.
//!
#![no_main]

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tollgate::issuer::{
    InMemoryClients, KeyRing, Minter, NewClient, SigningAlgorithm, SigningKey,
    TokenEndpointSettings, router,
};
use tower::ServiceExt;

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).expect("key"));
        let minter = Minter::new("https://shop.example", "shop-api", ring);
        let clients = Arc::new(InMemoryClients::default());
        clients
            .register(
                NewClient::confidential(
                    "backend",
                    "s3cret-s3cret-s3cret",
                    "acct-1",
                    "orders:read orders:write customer:*",
                )
                .with_lifetime(Duration::from_secs(600))
                .with_default_attribution("store-1")
                .with_allowed_attributions(vec!["store-2".into()]),
            )
            .expect("register");
        let router = router(
            minter,
            clients,
            // A short window, so the real client and the (single, absent)
            // peer address keep coming out of the throttle during a run.
            TokenEndpointSettings::default().with_failure_limits(3, 1000, Duration::from_secs(1)),
        );
        Harness { runtime, router }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let (authorization, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (Some(&data[..at]), &data[at + 1..]),
        None => (None, data),
    };
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization
        .filter(|v| !v.is_empty())
        .and_then(|v| http::HeaderValue::from_bytes(v).ok())
    {
        req = req.header(header::AUTHORIZATION, value);
    }
    let req = req.body(Body::from(body.to_vec())).expect("request");
    let res = h
        .runtime
        .block_on(h.router.clone().oneshot(req))
        .expect("infallible");
    let status = res.status();
    assert!(
        matches!(
            status,
            StatusCode::OK
                | StatusCode::BAD_REQUEST
                | StatusCode::UNAUTHORIZED
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::PAYLOAD_TOO_LARGE
        ),
        "unexpected status {status}"
    );
});
