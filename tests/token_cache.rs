//! The verified-token cache: what it stores, what it refuses to store, and
//! that every hit is re-checked against the clock and the key set.

mod common;

use common::*;
use futures_util::FutureExt as _;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tollgate::session::{MemoryStore, SessionId, SessionStore, StoreError};
use tollgate::{Authenticator, IssuerConfig, RemoteKeySettings, TokenCacheSettings};

#[tokio::test]
async fn valid_tokens_are_cached_failures_never() {
    let auth = hmac_auth();
    let app = app(auth.clone());
    let token = mint(Algorithm::HS256, None, &claims());
    for _ in 0..5 {
        assert_eq!(
            get_bearer(&app, "/whoami", &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(auth.cached_tokens(), 1);
    // A tampered signature is a different token: not served from the cache.
    let (msg, sig) = token.rsplit_once('.').unwrap();
    let flipped = format!(
        "{msg}.{}{}",
        &sig[..sig.len() - 2],
        if sig.ends_with("AA") { "AB" } else { "AA" }
    );
    assert_eq!(
        get_bearer(&app, "/whoami", &flipped).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut c = claims();
    c["aud"] = json!("other");
    assert_eq!(
        get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let mut c = claims();
    c["nbf"] = json!(now() + 3600);
    assert_eq!(
        get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(auth.cached_tokens(), 1, "failures are never cached");
}

#[tokio::test]
async fn expiry_is_rechecked_on_every_hit() {
    install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET)
                .leeway_secs(0),
        )
        .build()
        .unwrap();
    let app = app(auth.clone());
    let mut c = claims();
    c["exp"] = json!(now() + 2);
    let token = mint(Algorithm::HS256, None, &c);
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(auth.cached_tokens(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = get_bearer(&app, "/whoami", &token).await;
    assert_eq!(
        (r.status, r.body["error_description"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("expired"))
    );
}

#[tokio::test]
async fn oversized_tokens_are_verified_but_not_stored_and_the_cache_can_be_off() {
    let auth = hmac_auth();
    let app = app(auth.clone());
    let mut c = claims();
    c["padding"] = json!("x".repeat(5000));
    let big = mint(Algorithm::HS256, None, &c);
    assert!(big.len() > 4096);
    assert_eq!(
        get_bearer(&app, "/whoami", &big).await.status,
        StatusCode::OK
    );
    assert_eq!(auth.cached_tokens(), 0);

    install_backend();
    let off = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .token_cache(TokenCacheSettings::default().with_enabled(false))
        .build()
        .unwrap();
    let app = common::app(off.clone());
    let token = mint(Algorithm::HS256, None, &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(off.cached_tokens(), 0);
}

#[tokio::test]
async fn the_cache_is_bounded() {
    install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .token_cache(
            TokenCacheSettings::default()
                .with_max_entries(50)
                .with_max_bytes(50 * 1024),
        )
        .build()
        .unwrap();
    for i in 0..500 {
        let mut c = claims();
        c["jti"] = json!(format!("t{i}"));
        let token = mint(Algorithm::HS256, None, &c);
        auth.verify_access_token(&token).await.unwrap();
    }
    assert!(auth.cached_tokens() <= 50, "{}", auth.cached_tokens());
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_evicts_what_it_verified() {
    let server =
        JwksServer::start(jwks(&[(Algorithm::RS256, "k1"), (Algorithm::ES256, "k2")])).await;
    install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .jwks_url(server.url()),
        )
        .remote_keys(RemoteKeySettings::default().with_fetch_timeout_ms(500))
        .build()
        .unwrap();
    let app = app(auth.clone());
    let old = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &old).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_bearer(&app, "/whoami", &old).await.status,
        StatusCode::OK
    );
    // The issuer retires k1 and publishes k3; a k3 token triggers the refresh.
    server.set_jwks(jwks(&[(Algorithm::ES256, "k2"), (Algorithm::EdDSA, "k3")]));
    let new = mint(Algorithm::EdDSA, Some("k3"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &new).await.status,
        StatusCode::OK
    );
    // The cached k1 token is re-verified against the new set, and fails.
    assert_eq!(
        get_bearer(&app, "/whoami", &old).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Counts `load` calls reaching the real store.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryStore,
    loads: AtomicU64,
}

#[async_trait::async_trait]
impl SessionStore for CountingStore {
    async fn insert(&self, r: &tollgate::session::SessionRecord) -> Result<(), StoreError> {
        self.inner.insert(r).await
    }
    async fn load(
        &self,
        id: &SessionId,
    ) -> Result<Option<tollgate::session::SessionRecord>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id).await
    }
    async fn compare_and_swap(
        &self,
        v: u64,
        r: &tollgate::session::SessionRecord,
    ) -> Result<bool, StoreError> {
        self.inner.compare_and_swap(v, r).await
    }
    async fn remove(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.inner.remove(id).await
    }
    async fn remove_customer(&self, a: &str, c: &str) -> Result<u64, StoreError> {
        self.inner.remove_customer(a, c).await
    }
}

#[tokio::test]
async fn unknown_session_ids_do_not_hammer_the_store() {
    let store = Arc::new(CountingStore::default());
    install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .session_store(store.clone())
        .build()
        .unwrap();
    let app = app(auth);
    let unknown = SessionId::generate().unwrap();
    for _ in 0..20 {
        let r = send(
            &app,
            "GET",
            "/whoami",
            &[("x-session-id", unknown.as_str().as_bytes())],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        store.loads.load(Ordering::SeqCst),
        1,
        "one lookup, then the negative cache answers"
    );
    // Malformed IDs never reach the store at all.
    for _ in 0..5 {
        send(&app, "GET", "/whoami", &[("x-session-id", b"sess_garbage")]).await;
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), 1);
    // Known sessions are always looked up (revocation stays immediate).
    let s = store
        .create(tollgate::session::NewSession::for_customer("a", "c", ""))
        .await
        .unwrap();
    for _ in 0..3 {
        let r = send(
            &app,
            "GET",
            "/whoami",
            &[("x-session-id", s.id.as_str().as_bytes())],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), 4);
}

/// The synchronous path reads tokens with their syntax check deferred, and
/// answers a cached token without it. Every answer must still be the one
/// the token syntax gives (RFC 6750 `b64token`, checked before anything
/// else looks at a token), for well-formed, malformed, oversized and
/// doubled credentials, with the access and customer tokens both warm in
/// the cache, and the same without a cache.
#[tokio::test]
async fn cached_tokens_answer_as_checked_ones_whatever_surrounds_them() {
    install_backend();
    let build = |cache: bool| {
        Authenticator::builder()
            .issuer(
                IssuerConfig::new(ISSUER)
                    .audience(AUDIENCE)
                    .hmac_secret(HMAC_SECRET),
            )
            .customer_tokens(tollgate::config::CustomerTokenConfig::default())
            .credentials(
                tollgate::credentials::CredentialSources::default()
                    .with_cookie("at")
                    .with_max_token_bytes(2048),
            )
            .token_cache(TokenCacheSettings::default().with_enabled(cache))
            .build()
            .unwrap()
    };
    let (cached, uncached) = (build(true), build(false));
    let access = mint(Algorithm::HS256, None, &claims());
    let mut c = claims();
    c["customer_id"] = json!("cust-1");
    c["token_use"] = json!("customer");
    let customer = mint(Algorithm::HS256, None, &c);
    let answer = |auth: &Authenticator, headers: &[(&'static str, Vec<u8>)]| {
        let mut h = http::HeaderMap::new();
        for (name, value) in headers {
            h.append(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        // Nothing here awaits: every answer is ready at once.
        let decided = auth.decide(&h, tollgate::Mode::Required).now_or_never();
        match decided.expect("answered without awaiting") {
            Ok(tollgate::Decision::Authenticated(ctx)) => {
                Ok(ctx.customer().map(str::to_owned).unwrap_or_default())
            }
            Ok(_) => Err((0, "not authenticated")),
            Err(e) => Err((e.status().as_u16(), e.description())),
        }
    };
    let bearer = |t: &str| format!("Bearer {t}").into_bytes();
    // Warm the cache with both tokens.
    let pair = vec![
        ("authorization", bearer(&access)),
        ("x-customer-token", customer.clone().into_bytes()),
    ];
    assert!(answer(&cached, &pair).is_ok());
    assert_eq!(cached.cached_tokens(), 2);
    let a = access.as_str();
    let ok = |customer: &str| Ok(customer.to_owned());
    let malformed = || Err((400, "a credential header is malformed"));
    let with_customer =
        |value: Vec<u8>| vec![("authorization", bearer(a)), ("x-customer-token", value)];
    type Headers = Vec<(&'static str, Vec<u8>)>;
    type Answer = Result<String, (u16, &'static str)>;
    let cases: Vec<(Headers, Answer)> = vec![
        (vec![("authorization", bearer(a))], ok("")),
        (pair.clone(), ok("cust-1")),
        (
            vec![("authorization", format!("bearer \t {a} \t").into_bytes())],
            ok(""),
        ),
        (
            vec![("authorization", format!("DPoP {a}").into_bytes())],
            Err((401, "the DPoP proof is missing")),
        ),
        (
            vec![("authorization", bearer(&format!("{a}!")))],
            malformed(),
        ),
        (
            vec![("authorization", bearer(&format!("{a} {a}")))],
            malformed(),
        ),
        (
            vec![("authorization", bearer(&format!("{a},")))],
            malformed(),
        ),
        (
            vec![("authorization", [&bearer(a)[..], b"\xff"].concat())],
            malformed(),
        ),
        // `=` may end a b64token: well-formed, then not base64url.
        (
            vec![("authorization", bearer(&format!("{a}=")))],
            Err((401, "the token is not valid base64url")),
        ),
        (
            vec![("authorization", bearer(&a.repeat(8)))],
            Err((401, "the token exceeds the size limit")),
        ),
        (
            vec![("authorization", bearer(a)), ("authorization", bearer(a))],
            Err((400, "more than one Authorization header")),
        ),
        (
            vec![
                ("authorization", bearer(a)),
                ("cookie", format!("at={a}").into_bytes()),
            ],
            Err((400, "a credential was sent by more than one method")),
        ),
        (
            vec![
                ("authorization", bearer(&format!("{a}!"))),
                ("cookie", format!("at={a}").into_bytes()),
            ],
            malformed(),
        ),
        (vec![("cookie", format!("at={a}").into_bytes())], ok("")),
        (
            vec![("cookie", format!("at={a}!").into_bytes())],
            malformed(),
        ),
        (
            with_customer(format!("{customer}!").into_bytes()),
            malformed(),
        ),
        (with_customer(bearer(&customer)), ok("cust-1")),
        (
            with_customer(format!("Basic {customer}").into_bytes()),
            malformed(),
        ),
        (
            with_customer(Vec::new()),
            Err((400, "the credential is empty")),
        ),
        (
            vec![
                ("authorization", bearer(&format!("{a}!"))),
                ("x-customer-token", customer.clone().into_bytes()),
            ],
            malformed(),
        ),
        (
            vec![
                ("authorization", bearer(&customer)),
                ("x-customer-token", a.as_bytes().to_vec()),
            ],
            Err((401, "a customer token cannot be used as an access token")),
        ),
        (
            vec![("x-customer-token", customer.clone().into_bytes())],
            Err((
                401,
                "a customer token needs the app's access token beside it",
            )),
        ),
        (
            vec![("authorization", b"Basic abc".to_vec())],
            Err((401, "unsupported authorization scheme; use Bearer")),
        ),
    ];
    for (i, (case, want)) in cases.iter().enumerate() {
        assert_eq!(&answer(&uncached, case), want, "case {i}, no cache");
        assert_eq!(&answer(&cached, case), want, "case {i}");
        // And again, now that whatever verified is cached.
        assert_eq!(&answer(&cached, case), want, "case {i}, second time");
    }
}
