//! Claims validation behind a valid signature: the harness signs fuzzed
//! JWT payloads with the authenticator's HMAC key, so the claim checks
//! (`iss`, `aud`, `exp`/`nbf`/`iat`, `sub`, scopes, customer-token binding,
//! attribution) see arbitrary JSON. Must never panic; what it accepts must
//! be consistent.
//!
//! Input: the access-token payload, optionally followed by a NUL byte and a
//! customer-token payload (sent in `X-Customer-Token`). The first byte of
//! each payload picks the header: bit 0 `typ: at+jwt` (else `JWT`), bit 1
//! a `kid` that names no key; the payload bytes follow.
#![no_main]

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tollgate::config::CustomerTokenConfig;
use tollgate::{
    AttributionPolicy, AttributionRefused, Authenticator, CryptoBackend, Decision, IssuerConfig,
    KeySource, Mode, Secret,
};

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";
const ISSUER: &str = "https://issuer.test";

#[derive(Debug)]
struct Attribution;

impl AttributionPolicy for Attribution {
    fn resolve(
        &self,
        _client: &str,
        requested: Option<&str>,
    ) -> Result<Option<String>, AttributionRefused> {
        match requested {
            None => Ok(Some("store-default".into())),
            Some("store-7") => Ok(Some("store-7".into())),
            Some(_) => Err(AttributionRefused),
        }
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    auth: Authenticator,
    key: hmac::Key,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let _ = tollgate::install_crypto_backend(CryptoBackend::AwsLcRs);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let issuer = IssuerConfig::new(ISSUER)
            .audience("orders-api")
            .key(KeySource::HmacSecret {
                secret: Secret::new(SECRET),
                algorithm: Some(tollgate::Algorithm::HS256),
                allow_short: false,
            });
        let auth = Authenticator::builder()
            .issuer(issuer)
            .customer_tokens(CustomerTokenConfig::default())
            .attribution("x-attribution", Arc::new(Attribution))
            .build()
            .expect("authenticator");
        let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
        Harness { runtime, auth, key }
    })
}

fn sign(key: &hmac::Key, input: &[u8]) -> String {
    let (flags, payload) = input.split_first().map_or((0, input), |(f, p)| (*f, p));
    let typ = if flags & 1 != 0 { "at+jwt" } else { "JWT" };
    let header = if flags & 2 != 0 {
        format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"nope"}}"#)
    } else {
        format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#)
    };
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let tag = hmac::sign(key, message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let (access, customer) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let access = sign(&h.key, access);
    let mut req = http::Request::new(());
    let bearer = format!("Bearer {access}");
    if let Ok(v) = http::HeaderValue::from_str(&bearer) {
        req.headers_mut().insert("authorization", v);
    }
    if let Some(customer) = customer {
        let token = sign(&h.key, customer);
        if let Ok(v) = http::HeaderValue::from_str(&token) {
            req.headers_mut().insert("x-customer-token", v);
        }
    }

    let direct = h.runtime.block_on(h.auth.verify_access_token(&access));
    match h.runtime.block_on(h.auth.decide(&req, Mode::Required)) {
        Ok(Decision::Authenticated(ctx)) => {
            assert_eq!(ctx.issuer(), ISSUER);
            // Serialising the context (as the examples' /whoami does) and
            // checking requirements must work on anything accepted.
            let _ = serde_json::to_string(&ctx).expect("context serialises");
            let _ = ctx.require_scope("orders:read");
            let _ = ctx.ensure_customer("c-1");
            if customer.is_none() {
                // Alone, the access token verifies the same way directly.
                assert!(
                    direct.is_ok(),
                    "decide accepted what verify_access_token refused"
                );
            }
        }
        Ok(other) => panic!("a request with a bearer token decided as {other:?}"),
        Err(e) => {
            let _ = e.to_response::<String>();
            // Alone and within the size limit, an access token that verifies
            // directly also passes the whole engine (the attribution policy
            // defaults every client).
            if customer.is_none() && access.len() <= 8 * 1024 {
                assert!(
                    direct.is_err(),
                    "verify_access_token accepted what decide refused: {e:?}"
                );
            }
        }
    }
});
