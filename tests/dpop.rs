//! DPoP (RFC 9449): sender-constrained access tokens through the axum (tower)
//! and actix adapters, the shared Redis replay cache, and the issuer's token
//! endpoint. Every refusal asserts the exact status, error code and
//! `WWW-Authenticate` challenge(s).
#![cfg(feature = "axum")]

mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::*;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use tollgate::axum::Auth;
use tollgate::dpop::{DpopConfig, DpopPolicy, PROOF_ALGORITHMS, TokenBinding, jwk_thumbprint};
use tollgate::tower::AuthLayer;
use tollgate::{AuthContext, Authenticator, IssuerConfig};
use tower::ServiceExt;

const PUBLIC: &str = "https://api.test";
const HTU: &str = "https://api.test/whoami";

// ------------------------------------------------------------------ keys

enum Signer {
    Es256(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A client's DPoP key pair with its public JWK and thumbprint.
struct ProofKey {
    signer: Signer,
    jwk: Value,
    jkt: String,
}

impl ProofKey {
    fn es256() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = kp.public_key().as_ref().to_vec();
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
        Self::with(Signer::Es256(kp), jwk)
    }

    fn ed25519() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(kp.public_key().as_ref())});
        Self::with(Signer::Ed(kp), jwk)
    }

    fn with(signer: Signer, jwk: Value) -> Self {
        let jkt = jwk_thumbprint(&jwk).unwrap();
        Self { signer, jwk, jkt }
    }

    fn alg(&self) -> &'static str {
        match self.signer {
            Signer::Es256(_) => "ES256",
            Signer::Ed(_) => "EdDSA",
        }
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let msg = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = match &self.signer {
            Signer::Es256(kp) => kp
                .sign(&SystemRandom::new(), msg.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            Signer::Ed(kp) => kp.sign(msg.as_bytes()).as_ref().to_vec(),
        };
        format!("{msg}.{}", b64(sig))
    }

    /// A proof for `htm` `htu` (and `token`), after `tweak` edits header and claims.
    fn proof_with(
        &self,
        htm: &str,
        htu: &str,
        token: Option<&str>,
        tweak: impl FnOnce(&mut Value, &mut Value),
    ) -> String {
        let mut header = json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk});
        let mut claims = json!({"jti": fresh_jti(), "htm": htm, "htu": htu, "iat": now()});
        if let Some(t) = token {
            claims["ath"] = json!(ath(t));
        }
        tweak(&mut header, &mut claims);
        self.sign(&header, &claims)
    }

    fn proof(&self, htm: &str, htu: &str, token: Option<&str>) -> String {
        self.proof_with(htm, htu, token, |_, _| {})
    }
}

fn ath(token: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}

fn fresh_jti() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut r = [0u8; 12];
    getrandom::fill(&mut r).unwrap();
    format!("{}-{}", N.fetch_add(1, Ordering::Relaxed), b64(r))
}

/// An access token bound to `key` (`cnf.jkt`).
fn bound_token(key: &ProofKey) -> String {
    let mut c = claims();
    c["cnf"] = json!({"jkt": key.jkt});
    mint(Algorithm::HS256, None, &c)
}

fn bearer_token() -> String {
    mint(Algorithm::HS256, None, &claims())
}

// --------------------------------------------------------- authenticators

fn auth_with(dpop: DpopConfig) -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .dpop(dpop)
        .build()
        .unwrap()
}

fn auth(policy: DpopPolicy) -> Authenticator {
    auth_with(
        DpopConfig::default()
            .with_policy(policy)
            .with_public_url(PUBLIC),
    )
}

fn describe(ctx: &AuthContext) -> String {
    match ctx.binding() {
        TokenBinding::Dpop { jkt } => format!("dpop {jkt}"),
        TokenBinding::Bearer => "bearer".into(),
        other => format!("{other:?}"),
    }
}

fn router(auth: Authenticator) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|Auth(ctx): Auth| async move { describe(&ctx) })
                .post(|Auth(ctx): Auth| async move { describe(&ctx) }),
        )
        .layer(AuthLayer::required(auth))
}

struct Out {
    status: StatusCode,
    challenges: Vec<String>,
    body: Value,
    text: String,
}

impl Out {
    fn error(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }
}

async fn call(app: &Router, method: &str, headers: &[(&str, &str)]) -> Out {
    let mut req = Request::builder().method(method).uri("/whoami");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let challenges = res
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Out {
        status,
        challenges,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn dpop_get(app: &Router, token: &str, proof: &str) -> Out {
    let scheme = format!("DPoP {token}");
    call(app, "GET", &[("authorization", &scheme), ("dpop", proof)]).await
}

fn dpop_challenge(code: &str, desc: &str) -> Vec<String> {
    vec![format!(
        "DPoP realm=\"tollgate\", algs=\"{PROOF_ALGORITHMS}\", error=\"{code}\", error_description=\"{desc}\""
    )]
}

#[track_caller]
fn assert_invalid_proof(out: &Out, desc: &str) {
    assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{}", out.text);
    assert_eq!(out.error(), Some("invalid_dpop_proof"), "{}", out.text);
    assert_eq!(out.body["error_description"], desc, "{}", out.text);
    assert_eq!(out.challenges, dpop_challenge("invalid_dpop_proof", desc));
}

#[track_caller]
fn assert_invalid_token(out: &Out, desc: &str, dpop_challenge_scheme: bool) {
    assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{}", out.text);
    assert_eq!(out.error(), Some("invalid_token"), "{}", out.text);
    let want = if dpop_challenge_scheme {
        dpop_challenge("invalid_token", desc)
    } else {
        vec![format!(
            "Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"{desc}\""
        )]
    };
    assert_eq!(out.challenges, want);
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn valid_proof_and_bound_token_pass_with_dpop_binding() {
    let app = router(auth(DpopPolicy::Allowed));
    for key in [ProofKey::es256(), ProofKey::ed25519()] {
        let token = bound_token(&key);
        let out = dpop_get(&app, &token, &key.proof("GET", HTU, Some(&token))).await;
        assert_eq!(out.status, StatusCode::OK, "{}", out.text);
        assert_eq!(out.text, format!("dpop {}", key.jkt));
        // The token is now cached; a fresh proof still passes, and the proof
        // is still checked: another key's proof is refused.
        let out = dpop_get(&app, &token, &key.proof("GET", HTU, Some(&token))).await;
        assert_eq!(out.status, StatusCode::OK, "{}", out.text);
        let other = ProofKey::es256();
        let out = dpop_get(&app, &token, &other.proof("GET", HTU, Some(&token))).await;
        assert_invalid_proof(&out, "the DPoP proof key does not match the token binding");
    }
    // POST, with its own proof.
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let scheme = format!("DPoP {token}");
    let proof = key.proof("POST", HTU, Some(&token));
    let out = call(
        &app,
        "POST",
        &[("authorization", &scheme), ("dpop", &proof)],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    // A plain bearer token still passes under `Allowed`.
    let out = call(
        &app,
        "GET",
        &[("authorization", &format!("Bearer {}", bearer_token()))],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    assert_eq!(out.text, "bearer");
}

#[tokio::test]
async fn proof_for_another_method_or_url_is_refused() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let out = dpop_get(&app, &token, &key.proof("POST", HTU, Some(&token))).await;
    assert_invalid_proof(&out, "the DPoP proof htm does not match the request method");
    for htu in [
        "https://api.test/other",
        "http://api.test/whoami",
        "https://evil.test/whoami",
        "https://api.test:8443/whoami",
    ] {
        let out = dpop_get(&app, &token, &key.proof("GET", htu, Some(&token))).await;
        assert_invalid_proof(&out, "the DPoP proof htu does not match the request URI");
    }
    // Equivalent spellings of the URI match (§4.3: normalised, no query/fragment).
    for htu in [
        "HTTPS://API.test:443/whoami",
        "https://api.test/whoami?x=1#f",
        "https://api.test/./whoami",
    ] {
        let out = dpop_get(&app, &token, &key.proof("GET", htu, Some(&token))).await;
        assert_eq!(out.status, StatusCode::OK, "{htu}: {}", out.text);
    }
}

#[tokio::test]
async fn replayed_proof_is_refused() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let proof = key.proof("GET", HTU, Some(&token));
    assert_eq!(dpop_get(&app, &token, &proof).await.status, StatusCode::OK);
    let out = dpop_get(&app, &token, &proof).await;
    assert_invalid_proof(&out, "the DPoP proof was already used");
}

#[tokio::test]
async fn iat_outside_the_window_is_refused() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    for iat in [now() - 120, now() + 120] {
        let proof = key.proof_with("GET", HTU, Some(&token), |_, c| c["iat"] = json!(iat));
        let out = dpop_get(&app, &token, &proof).await;
        assert_invalid_proof(&out, "the DPoP proof iat is outside the accepted window");
    }
    let proof = key.proof_with("GET", HTU, Some(&token), |_, c| {
        c["iat"] = json!(now() - 30)
    });
    assert_eq!(dpop_get(&app, &token, &proof).await.status, StatusCode::OK);
    // A narrower window, configured.
    let app = router(auth_with(
        DpopConfig::default()
            .with_public_url(PUBLIC)
            .with_iat_window_secs(10),
    ));
    let proof = key.proof_with("GET", HTU, Some(&token), |_, c| {
        c["iat"] = json!(now() - 30)
    });
    let out = dpop_get(&app, &token, &proof).await;
    assert_invalid_proof(&out, "the DPoP proof iat is outside the accepted window");
}

#[tokio::test]
async fn proof_by_another_key_or_for_another_token_is_refused() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let thief = ProofKey::ed25519();
    let out = dpop_get(&app, &token, &thief.proof("GET", HTU, Some(&token))).await;
    assert_invalid_proof(&out, "the DPoP proof key does not match the token binding");
    // `ath` of another token.
    let mut c = claims();
    c["cnf"] = json!({"jkt": key.jkt});
    c["jti"] = json!("another-token");
    let other = mint(Algorithm::HS256, None, &c);
    assert_ne!(other, token);
    let out = dpop_get(&app, &token, &key.proof("GET", HTU, Some(&other))).await;
    assert_invalid_proof(&out, "the DPoP proof ath does not match the access token");
    let proof = key.proof_with("GET", HTU, Some(&token), |_, c| {
        c.as_object_mut().unwrap().remove("ath");
    });
    let out = dpop_get(&app, &token, &proof).await;
    assert_invalid_proof(&out, "the DPoP proof ath does not match the access token");
}

#[tokio::test]
async fn forbidden_algorithms_and_private_keys_are_refused() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    // HS256 with the token's own signature material is never a proof.
    let claims =
        json!({"jti": fresh_jti(), "htm": "GET", "htu": HTU, "iat": now(), "ath": ath(&token)});
    let hs = {
        let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk});
        let msg = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HMAC_SECRET.as_bytes()),
            msg.as_bytes(),
        );
        format!("{msg}.{}", b64(tag.as_ref()))
    };
    let out = dpop_get(&app, &token, &hs).await;
    assert_invalid_proof(&out, "the DPoP proof algorithm is not accepted");
    let none = {
        let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk});
        format!(
            "{}.{}.AAAA",
            b64(header.to_string()),
            b64(claims.to_string())
        )
    };
    let out = dpop_get(&app, &token, &none).await;
    assert_invalid_proof(&out, "the DPoP proof algorithm is not accepted");
    // The header's alg must agree with the key.
    let proof = key.proof_with("GET", HTU, Some(&token), |h, _| h["alg"] = json!("EdDSA"));
    let out = dpop_get(&app, &token, &proof).await;
    assert_invalid_proof(&out, "the DPoP proof algorithm is not accepted");
    // Private members in the jwk.
    for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        let proof = key.proof_with("GET", HTU, Some(&token), |h, _| {
            h["jwk"][member] = json!("AAAA");
        });
        let out = dpop_get(&app, &token, &proof).await;
        assert_invalid_proof(&out, "the DPoP proof jwk contains private key material");
    }
    // Wrong typ, no jwk, a tampered signature, a bad jti.
    let proof = key.proof_with("GET", HTU, Some(&token), |h, _| h["typ"] = json!("JWT"));
    assert_invalid_proof(
        &dpop_get(&app, &token, &proof).await,
        "the DPoP proof typ is not dpop+jwt",
    );
    let proof = key.proof_with("GET", HTU, Some(&token), |h, _| {
        h.as_object_mut().unwrap().remove("jwk");
    });
    assert_invalid_proof(
        &dpop_get(&app, &token, &proof).await,
        "the DPoP proof jwk is not an acceptable public key",
    );
    let good = key.proof("GET", HTU, Some(&token));
    let (msg, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{msg}.{}", b64([7u8; 64]));
    assert_invalid_proof(
        &dpop_get(&app, &token, &forged).await,
        "the DPoP proof signature is invalid",
    );
    let proof = key.proof_with("GET", HTU, Some(&token), |_, c| {
        c["jti"] = json!("x".repeat(257))
    });
    assert_invalid_proof(
        &dpop_get(&app, &token, &proof).await,
        "the DPoP proof jti is missing or malformed",
    );
    let huge = format!("{}.{}", good, "A".repeat(9000));
    assert_invalid_proof(
        &dpop_get(&app, &token, &huge).await,
        "the DPoP proof exceeds the size limit",
    );
}

#[tokio::test]
async fn binding_and_scheme_must_agree() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    // A DPoP-bound token sent as Bearer (with or without a proof).
    let bearer = format!("Bearer {token}");
    let out = call(&app, "GET", &[("authorization", &bearer)]).await;
    let desc = "the token is DPoP-bound; present it with the DPoP scheme and a proof";
    assert_invalid_token(&out, desc, false);
    let proof = key.proof("GET", HTU, Some(&token));
    let out = call(&app, "GET", &[("authorization", &bearer), ("dpop", &proof)]).await;
    assert_invalid_token(&out, desc, false);
    // A bearer token (no cnf) sent with the DPoP scheme and a valid proof:
    // RFC 9449 §7.2 allows accepting it; tollgate refuses (stricter).
    let plain = bearer_token();
    let out = dpop_get(&app, &plain, &key.proof("GET", HTU, Some(&plain))).await;
    assert_invalid_token(
        &out,
        "the token is not DPoP-bound; present it as a Bearer token",
        true,
    );
    // A bad token presented with DPoP gets a DPoP challenge.
    let out = dpop_get(&app, "garbage", &key.proof("GET", HTU, Some("garbage"))).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.error(), Some("invalid_token"));
    assert!(
        out.challenges[0].starts_with("DPoP realm=\"tollgate\", algs="),
        "{:?}",
        out.challenges
    );
    // A cnf the verifier does not support (RFC 7800 `kid`; mTLS
    // `x5t#S256` is checked by tests/mtls.rs).
    let mut c = claims();
    c["cnf"] = json!({"kid": "abc"});
    let unsupported = mint(Algorithm::HS256, None, &c);
    let out = call(
        &app,
        "GET",
        &[("authorization", &format!("Bearer {unsupported}"))],
    )
    .await;
    assert_invalid_token(
        &out,
        "the token's confirmation method is not supported",
        false,
    );
}

#[tokio::test]
async fn missing_or_repeated_proof_is_refused() {
    let app = router(auth(DpopPolicy::Allowed));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let scheme = format!("DPoP {token}");
    let out = call(&app, "GET", &[("authorization", &scheme)]).await;
    assert_invalid_proof(&out, "the DPoP proof is missing");
    let p1 = key.proof("GET", HTU, Some(&token));
    let p2 = key.proof("GET", HTU, Some(&token));
    let out = call(
        &app,
        "GET",
        &[("authorization", &scheme), ("dpop", &p1), ("dpop", &p2)],
    )
    .await;
    assert_invalid_proof(&out, "more than one DPoP header");
    // The scheme is case-insensitive.
    let lower = format!("dpop {token}");
    let out = call(&app, "GET", &[("authorization", &lower), ("dpop", &p1)]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
}

#[tokio::test]
async fn policies_and_missing_credentials_challenges() {
    let realm = "realm=\"tollgate\"";
    let dpop = format!("DPoP {realm}, algs=\"{PROOF_ALGORITHMS}\"");
    let bearer = format!("Bearer {realm}");
    for (policy, want) in [
        (DpopPolicy::Allowed, vec![bearer.clone(), dpop.clone()]),
        (DpopPolicy::Required, vec![dpop.clone()]),
        (DpopPolicy::Off, vec![bearer.clone()]),
    ] {
        let out = call(&router(auth(policy)), "GET", &[]).await;
        assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{policy:?}");
        assert_eq!(out.challenges, want, "{policy:?}");
    }

    // Required: a bearer token is refused, a DPoP-bound one passes.
    let app = router(auth(DpopPolicy::Required));
    let out = call(
        &app,
        "GET",
        &[("authorization", &format!("Bearer {}", bearer_token()))],
    )
    .await;
    assert_invalid_token(&out, "this resource requires a DPoP-bound token", true);
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let out = dpop_get(&app, &token, &key.proof("GET", HTU, Some(&token))).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);

    // Off: the DPoP scheme is an unsupported scheme.
    let app = router(auth(DpopPolicy::Off));
    let out = dpop_get(&app, &token, &key.proof("GET", HTU, Some(&token))).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{}", out.text);
    assert_eq!(out.challenges, vec![bearer]);
    assert_eq!(
        out.body["error_description"],
        "unsupported authorization scheme; use Bearer"
    );
}

#[tokio::test]
async fn htu_from_the_host_header_and_scheme() {
    let app = router(auth_with(DpopConfig::default().with_scheme("http")));
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let scheme = format!("DPoP {token}");
    let proof = key.proof("GET", "http://api.test:8080/whoami", Some(&token));
    let out = call(
        &app,
        "GET",
        &[
            ("authorization", &scheme),
            ("dpop", &proof),
            ("host", "API.test:8080"),
        ],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    let proof = key.proof("GET", "https://api.test:8080/whoami", Some(&token));
    let out = call(
        &app,
        "GET",
        &[
            ("authorization", &scheme),
            ("dpop", &proof),
            ("host", "api.test:8080"),
        ],
    )
    .await;
    assert_invalid_proof(&out, "the DPoP proof htu does not match the request URI");
}

#[test]
fn rfc7638_thumbprint_example() {
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        jwk_thumbprint(&jwk).as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
}

#[test]
fn config_parses_and_validates() {
    let cfg: tollgate::AuthConfig = serde_json::from_value(json!({
        "dpop": {"policy": "required", "iat_window_secs": 30, "public_url": "https://api.example.com"}
    }))
    .unwrap();
    assert_eq!(cfg.dpop.policy, DpopPolicy::Required);
    assert_eq!(cfg.dpop.iat_window_secs, 30);
    assert!(
        serde_json::from_value::<tollgate::AuthConfig>(json!({"dpop": {"policy": "maybe"}}))
            .is_err()
    );
    assert_eq!("allowed".parse::<DpopPolicy>(), Ok(DpopPolicy::Allowed));
    assert!("Required".parse::<DpopPolicy>().is_err());
    install_backend();
    let bad = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .dpop(DpopConfig::default().with_public_url("not a url"))
        .build();
    assert!(bad.is_err());
}

#[cfg(feature = "actix")]
mod actix {
    use super::*;
    use actix_web::{HttpResponse, test as atest, web};
    use tollgate::actix::AuthMiddleware;

    fn challenge<B>(res: &actix_web::dev::ServiceResponse<B>) -> Vec<String> {
        res.headers()
            .get_all("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    async fn whoami(auth: tollgate::Auth) -> HttpResponse {
        HttpResponse::Ok().body(describe(&auth))
    }

    #[actix_web::test]
    async fn actix_checks_proofs_the_same_way() {
        let app = atest::init_service(
            actix_web::App::new()
                .wrap(AuthMiddleware::required(auth(DpopPolicy::Allowed)))
                .route("/whoami", web::get().to(whoami))
                .route("/whoami", web::post().to(whoami)),
        )
        .await;
        let key = ProofKey::es256();
        let token = bound_token(&key);
        let send = |method: &str, proof: Option<String>, scheme: &str| {
            let mut req = match method {
                "POST" => atest::TestRequest::post(),
                _ => atest::TestRequest::get(),
            }
            .uri("/whoami")
            .insert_header(("authorization", format!("{scheme} {token}")));
            if let Some(p) = proof {
                req = req.insert_header(("dpop", p));
            }
            req.to_request()
        };
        let proof = key.proof("GET", HTU, Some(&token));
        let res = atest::call_service(&app, send("GET", Some(proof.clone()), "DPoP")).await;
        assert_eq!(res.status(), 200);
        let body = atest::read_body(res).await;
        assert_eq!(body, format!("dpop {}", key.jkt).as_bytes());

        // Replayed.
        let res = atest::call_service(&app, send("GET", Some(proof), "DPoP")).await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            challenge(&res),
            dpop_challenge("invalid_dpop_proof", "the DPoP proof was already used")
        );
        // Proof for GET used on POST.
        let res = atest::call_service(
            &app,
            send("POST", Some(key.proof("GET", HTU, Some(&token))), "DPoP"),
        )
        .await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            challenge(&res),
            dpop_challenge(
                "invalid_dpop_proof",
                "the DPoP proof htm does not match the request method"
            )
        );
        // POST with its own proof.
        let res = atest::call_service(
            &app,
            send("POST", Some(key.proof("POST", HTU, Some(&token))), "DPoP"),
        )
        .await;
        assert_eq!(res.status(), 200);
        // Bound token as Bearer.
        let res = atest::call_service(&app, send("GET", None, "Bearer")).await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            challenge(&res),
            vec![
                "Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"the token is DPoP-bound; present it with the DPoP scheme and a proof\"".to_owned()
            ]
        );
        // No credentials: both challenges.
        let res =
            atest::call_service(&app, atest::TestRequest::get().uri("/whoami").to_request()).await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            challenge(&res),
            vec![
                "Bearer realm=\"tollgate\"".to_owned(),
                format!("DPoP realm=\"tollgate\", algs=\"{PROOF_ALGORITHMS}\""),
            ]
        );
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn replay_cache_is_shared_through_redis() {
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;
    let addr = SocketAddr::from(([127, 0, 0, 1], 6379));
    if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the DPoP Redis test cannot run in CI: {e}");
        }
        eprintln!("SKIPPED: the DPoP Redis test needs a Redis on 127.0.0.1:6379 ({e})");
        return;
    }
    let prefix = format!("tollgate-test-{}:", fresh_jti());
    let instance = || {
        let cache = tollgate::dpop::RedisReplayCache::new(
            "redis://127.0.0.1:6379",
            &prefix,
            Duration::from_secs(2),
        )
        .unwrap();
        install_backend();
        router(
            Authenticator::builder()
                .issuer(
                    IssuerConfig::new(ISSUER)
                        .audience(AUDIENCE)
                        .hmac_secret(HMAC_SECRET),
                )
                .dpop(DpopConfig::default().with_public_url(PUBLIC))
                .dpop_replay_cache(cache)
                .build()
                .unwrap(),
        )
    };
    let (a, b) = (instance(), instance());
    let key = ProofKey::es256();
    let token = bound_token(&key);
    let proof = key.proof("GET", HTU, Some(&token));
    let out = dpop_get(&a, &token, &proof).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    let out = dpop_get(&b, &token, &proof).await;
    assert_invalid_proof(&out, "the DPoP proof was already used");
    let out = dpop_get(&a, &token, &proof).await;
    assert_invalid_proof(&out, "the DPoP proof was already used");
    // A fresh proof passes on the other instance.
    let out = dpop_get(&b, &token, &key.proof("GET", HTU, Some(&token))).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
}

#[cfg(feature = "issuer")]
mod issuer {
    use super::*;
    use std::sync::Arc;
    use tollgate::RemoteKeySettings;
    use tollgate::issuer::{
        InMemoryClients, KeyRing, Minter, NewClient, SigningAlgorithm, SigningKey,
        TokenEndpointSettings,
    };

    const SECRET: &str = "backend-secret-0123456789";

    #[tokio::test]
    async fn client_credentials_with_a_proof_mint_a_bound_token() {
        install_backend();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).unwrap());
        let minter = Minter::new(base.clone(), "shop-api", ring);
        let clients = Arc::new(InMemoryClients::default());
        clients
            .register(NewClient::confidential(
                "backend",
                SECRET,
                "acct-1",
                "orders:read",
            ))
            .unwrap();
        let app = tollgate::issuer::router(minter, clients, TokenEndpointSettings::default());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap()
        });
        let http = reqwest::Client::new();
        let token_url = format!("{base}/oauth/token");
        let post = |proof: Option<String>| {
            let mut req = http
                .post(&token_url)
                .basic_auth("backend", Some(SECRET))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials");
            if let Some(p) = proof {
                req = req.header("dpop", p);
            }
            req.send()
        };
        let key = ProofKey::es256();

        // With a valid proof: a DPoP token bound to the key.
        let res = post(Some(key.proof("POST", &token_url, None)))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(body["token_type"], "DPoP");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let payload: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(payload["cnf"]["jkt"], key.jkt);

        // Without a proof: a Bearer token, no cnf.
        let res = post(None).await.unwrap();
        let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(body["token_type"], "Bearer");

        // Invalid proofs: 400 invalid_dpop_proof.
        for (proof, desc) in [
            (
                key.proof("GET", &token_url, None),
                "the DPoP proof htm does not match the request method",
            ),
            (
                key.proof("POST", &format!("{base}/other"), None),
                "the DPoP proof htu does not match the request URI",
            ),
            (
                key.proof_with("POST", &token_url, None, |_, c| {
                    c["iat"] = json!(now() - 600)
                }),
                "the DPoP proof iat is outside the accepted window",
            ),
        ] {
            let res = post(Some(proof)).await.unwrap();
            assert_eq!(res.status(), 400);
            let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
            assert_eq!(body["error"], "invalid_dpop_proof");
            assert_eq!(body["error_description"], desc);
        }
        let proof = key.proof("POST", &token_url, None);
        assert_eq!(post(Some(proof.clone())).await.unwrap().status(), 200);
        let res = post(Some(proof)).await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error_description"], "the DPoP proof was already used");

        // The verifier accepts the token only with proofs of that key.
        let verifier = Authenticator::builder()
            .issuer(
                IssuerConfig::new(base.clone())
                    .audience("shop-api")
                    .discovery()
                    .typ("at+jwt"),
            )
            .remote_keys(
                RemoteKeySettings::default()
                    .with_refresh_cooldown_secs(0)
                    .with_fetch_timeout_ms(1000),
            )
            .dpop(DpopConfig::default().with_public_url(PUBLIC))
            .build()
            .unwrap();
        let app = router(verifier);
        let out = dpop_get(&app, &token, &key.proof("GET", HTU, Some(&token))).await;
        assert_eq!(out.status, StatusCode::OK, "{}", out.text);
        assert_eq!(out.text, format!("dpop {}", key.jkt));
        let other = ProofKey::ed25519();
        let out = dpop_get(&app, &token, &other.proof("GET", HTU, Some(&token))).await;
        assert_invalid_proof(&out, "the DPoP proof key does not match the token binding");
        let out = call(
            &app,
            "GET",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
        assert_invalid_token(
            &out,
            "the token is DPoP-bound; present it with the DPoP scheme and a proof",
            false,
        );
    }
}

/// The examples' environment contract: `TOLLGATE_DPOP` and, without
/// `TOLLGATE_PUBLIC_URL`, `htu` checked against the URL the client called
/// (the ephemeral bind address here), on axum and actix alike.
#[tokio::test]
async fn the_example_servers_check_proofs_against_their_own_url() {
    let http = reqwest::Client::new();
    let envs = |policy: &'static str| {
        vec![
            ("TOLLGATE_ISSUER", ISSUER),
            ("TOLLGATE_AUDIENCE", AUDIENCE),
            ("TOLLGATE_HS256_SECRET", HMAC_SECRET),
            ("TOLLGATE_DPOP", policy),
        ]
    };
    let mut examples = vec!["axum_api"];
    if cfg!(all(feature = "actix", feature = "macros")) {
        examples.push("actix_api");
    }
    for example in examples {
        let server = start_example(example, &envs("allowed"));
        let key = ProofKey::es256();
        let token = bound_token(&key);
        let url = format!("{}/orders", server.base);
        let send = |proof: String| {
            http.get(&url)
                .header("authorization", format!("DPoP {token}"))
                .header("dpop", proof)
                .send()
        };
        let ok = send(key.proof("GET", &url, Some(&token))).await.unwrap();
        assert_eq!(ok.status(), 200, "{example}");
        let wrong = send(key.proof("GET", "http://elsewhere.test/orders", Some(&token)))
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{example}");
        let body: Value = serde_json::from_slice(&wrong.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof", "{example}");
        // The bound token as a bearer token: refused.
        let bearer = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(bearer.status(), 401, "{example}");
        drop(server);

        let server = start_example(example, &envs("required"));
        let url = format!("{}/orders", server.base);
        let plain = http
            .get(&url)
            .bearer_auth(bearer_token())
            .send()
            .await
            .unwrap();
        assert_eq!(
            plain.status(),
            401,
            "{example}: required refuses bearer tokens"
        );
    }
}
