//! The whole verification engine: an `Authenticator` with static HMAC and
//! EdDSA keys, customer tokens, an (empty) in-memory session store, a basic
//! verifier without tills and an attribution header, fed fuzzed request
//! headers. It must never panic, and with no credential it could know,
//! every request is refused or anonymous.
//!
//! Input: lines separated by `\n`. A line's first byte picks what it is:
//! `A` Authorization, `C` X-Customer-Token, `S` X-Session-Id, `K` Cookie,
//! `X` X-Attribution, `O` makes the request an `OPTIONS` preflight (with
//! `Access-Control-Request-Method`), `T` a token given straight to
//! `verify_access_token`; any other line is an Authorization value as a
//! whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tollgate::basic::StaticBasicCredentials;
use tollgate::config::{CustomerTokenConfig, SessionSources};
use tollgate::session::MemoryStore;
use tollgate::{
    AttributionPolicy, AttributionRefused, Authenticator, CryptoBackend, Decision, IssuerConfig,
    KeySource, Mode, Secret,
};

const ED25519_PUB: &str = include_str!("../../tests/keys/ed25519.pub.pem");

#[derive(Debug)]
struct AnyAttribution;

impl AttributionPolicy for AnyAttribution {
    fn resolve(
        &self,
        _client: &str,
        requested: Option<&str>,
    ) -> Result<Option<String>, AttributionRefused> {
        Ok(requested.map(str::to_owned))
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    auth: Authenticator,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let _ = tollgate::install_crypto_backend(CryptoBackend::AwsLcRs);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let issuer = IssuerConfig::new("https://issuer.test")
            .audience("orders-api")
            .key(KeySource::HmacSecret {
                secret: Secret::new("test-secret-that-is-at-least-32-bytes-long!"),
                algorithm: Some(tollgate::Algorithm::HS256),
                allow_short: false,
            })
            .key(KeySource::PublicKeyPem {
                pem: ED25519_PUB.into(),
                algorithm: tollgate::Algorithm::EdDSA,
                kid: Some("ed".into()),
            });
        let auth = Authenticator::builder()
            .issuer(issuer)
            .customer_tokens(CustomerTokenConfig::default())
            .session_store(Arc::new(MemoryStore::default()))
            .session_sources(SessionSources::default().with_cookie("sid"))
            .basic_credentials(Arc::new(StaticBasicCredentials::default()))
            .attribution("x-attribution", Arc::new(AnyAttribution))
            .build()
            .expect("authenticator");
        Harness { runtime, auth }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let mut req = http::Request::new(());
    let mut direct: Vec<String> = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let (name, value) = match line.split_first() {
            Some((b'A', v)) => ("authorization", v),
            Some((b'C', v)) => ("x-customer-token", v),
            Some((b'S', v)) => ("x-session-id", v),
            Some((b'K', v)) => ("cookie", v),
            Some((b'X', v)) => ("x-attribution", v),
            Some((b'O', v)) => {
                *req.method_mut() = http::Method::OPTIONS;
                ("access-control-request-method", v)
            }
            Some((b'T', v)) => {
                direct.push(String::from_utf8_lossy(v).into_owned());
                continue;
            }
            _ => ("authorization", line),
        };
        if let Ok(v) = http::HeaderValue::from_bytes(value) {
            req.headers_mut().append(name, v);
        }
    }

    for mode in [Mode::Optional, Mode::Required] {
        match h.runtime.block_on(h.auth.decide(&req, mode)) {
            Ok(Decision::Authenticated(ctx)) => {
                panic!("authenticated without a known credential: {ctx:?}")
            }
            Ok(_) => {}
            Err(e) => {
                // Rendering the error must not fail either.
                let _ = e.www_authenticate();
                let _ = e.body();
                let _ = e.to_response::<String>();
            }
        }
    }
    match h.runtime.block_on(h.auth.authenticate(&req)) {
        Ok(None) | Err(_) => {}
        Ok(Some(ctx)) => panic!("authenticated without a known credential: {ctx:?}"),
    }
    for token in &direct {
        assert!(
            h.runtime
                .block_on(h.auth.verify_access_token(token))
                .is_err()
        );
    }
});
