//! The platform side: key ring and rotation, JWKS/discovery, minting, the
//! client registry and the RFC 6749 client-credentials token endpoint,
//! verified by tollgate's own verifier through a real HTTP JWKS fetch.
//! The token-endpoint conformance cases run against both the axum routes
//! and the actix-web adapter (`both!`).
#![cfg(feature = "issuer")]

mod common;

use base64::Engine as _;
use http::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tollgate::issuer::{
    AccessGrant, InMemoryClients, KeyRing, Minter, NewClient, SigningAlgorithm, SigningKey,
    TokenEndpointSettings,
};
use tollgate::{Authenticator, IssuerConfig, RemoteKeySettings};

const SECRET: &str = "backend-secret-0123456789";

struct Platform {
    base: String,
    clients: Arc<InMemoryClients>,
    ring: KeyRing,
    minter: Minter,
    http: reqwest::Client,
    _task: Server,
}

/// Which adapter serves the issuer.
#[derive(Clone, Copy, Debug)]
enum Fw {
    Axum,
    #[cfg(feature = "actix")]
    Actix,
}

/// The server task, kept alive with the platform.
#[allow(dead_code)]
enum Server {
    Tokio(tokio::task::JoinHandle<()>),
    #[cfg(feature = "actix")]
    Actix(actix_web::dev::ServerHandle),
}

async fn platform(settings: TokenEndpointSettings) -> Platform {
    platform_on(Fw::Axum, settings).await
}

async fn platform_on(fw: Fw, settings: TokenEndpointSettings) -> Platform {
    common::install_backend();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).unwrap());
    let minter = Minter::new(base.clone(), "shop-api", ring.clone());
    let clients = Arc::new(InMemoryClients::default());
    clients
        .register(
            NewClient::confidential(
                "backend",
                SECRET,
                "acct-1",
                "orders:read orders:write customer:read",
            )
            .with_lifetime(Duration::from_secs(24 * 3600))
            .with_default_attribution("store-1"),
        )
        .unwrap();
    let task = match fw {
        Fw::Axum => {
            let app = tollgate::issuer::router(minter.clone(), clients.clone(), settings);
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            Server::Tokio(tokio::spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                .await
                .unwrap()
            }))
        }
        #[cfg(feature = "actix")]
        Fw::Actix => {
            let (minter, clients) = (minter.clone(), clients.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = actix_web::HttpServer::new(move || {
                        actix_web::App::new().configure(tollgate::issuer::actix::configure(
                            minter.clone(),
                            clients.clone(),
                            settings.clone(),
                        ))
                    })
                    .workers(1)
                    .listen(listener)
                    .unwrap()
                    .run();
                    tx.send(server.handle()).unwrap();
                    server.await.unwrap();
                });
            });
            Server::Actix(rx.recv().unwrap())
        }
    };
    Platform {
        base,
        clients,
        ring,
        minter,
        http: reqwest::Client::new(),
        _task: task,
    }
}

/// Runs the conformance case `$name(fw)` against each adapter.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn axum() {
                super::$name(super::Fw::Axum).await;
            }
            #[cfg(feature = "actix")]
            #[tokio::test]
            async fn actix() {
                super::$name(super::Fw::Actix).await;
            }
        }
    )*};
}

both!(
    client_credentials_with_basic_and_post,
    rfc6749_error_cases,
    failed_attempts_are_limited_per_client_and_address,
    deactivated_client_loses_new_and_old_tokens,
    rotation_keeps_old_tokens_until_the_key_is_retired,
    jwks_and_discovery_documents,
    basic_client_credentials_are_form_decoded_whole,
);

impl Platform {
    async fn token(
        &self,
        form: &str,
        basic: Option<(&str, &str)>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some((id, secret)) = basic {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            req = req.header("authorization", format!("Basic {b}"));
        }
        let res = req.send().await.unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        let headers = res.headers().clone();
        let body = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, body, headers)
    }

    fn verifier(&self) -> Authenticator {
        Authenticator::builder()
            .issuer(
                IssuerConfig::new(self.base.clone())
                    .audience("shop-api")
                    .discovery()
                    .typ("at+jwt"),
            )
            .remote_keys(
                RemoteKeySettings::default()
                    .with_refresh_cooldown_secs(0)
                    .with_fetch_timeout_ms(1000),
            )
            .client_status(self.clients.clone())
            .build()
            .unwrap()
    }
}

async fn client_credentials_with_basic_and_post(fw: Fw) {
    let p = platform_on(fw, Default::default()).await;
    let (status, body, headers) = p
        .token("grant_type=client_credentials", Some(("backend", SECRET)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(headers["cache-control"], "no-store");
    // Lifetime capped at 60 minutes although the client asked for 24 h.
    assert_eq!(body["expires_in"], 3600);
    let ctx = p
        .verifier()
        .verify_access_token(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(ctx.client_id(), Some("backend"));
    assert_eq!(ctx.account(), Some("acct-1"));
    assert!(ctx.require_scope("orders:write").is_ok());

    let form = format!(
        "grant_type=client_credentials&client_id=backend&client_secret={SECRET}&scope=orders%3Aread+admin%3Awrite"
    );
    let (status, body, _) = p.token(&form, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["scope"], "orders:read",
        "narrowed to what the client holds"
    );
}

async fn rfc6749_error_cases(fw: Fw) {
    let p = platform_on(fw, Default::default()).await;
    type Case<'a> = (String, Option<(&'a str, &'a str)>, StatusCode, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "grant_type=client_credentials".into(),
            None,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials".into(),
            Some(("backend", "wrong-secret-xxxxxxxx")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials".into(),
            Some(("nobody", SECRET)),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_secret={SECRET}"),
            Some(("backend", SECRET)),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "grant_type=password".into(),
            Some(("backend", SECRET)),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "scope=orders%3Aread".into(),
            Some(("backend", SECRET)),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials".into(),
            Some(("backend", SECRET)),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&scope=admin%3Awrite".into(),
            Some(("backend", SECRET)),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
    ];
    for (form, basic, status, error) in cases {
        let (got, body, headers) = p.token(&form, basic).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{form} {basic:?}: {body}"
        );
        assert_eq!(headers["cache-control"], "no-store");
        if error == "invalid_client" {
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic")
            );
        }
    }
    // Not a form body.
    let res = p
        .http
        .post(format!("{}/oauth/token", p.base))
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

async fn failed_attempts_are_limited_per_client_and_address(fw: Fw) {
    let p = platform_on(
        fw,
        TokenEndpointSettings::default().with_failure_limits(3, 100, Duration::from_secs(60)),
    )
    .await;
    for _ in 0..3 {
        let (status, _, _) = p
            .token(
                "grant_type=client_credentials",
                Some(("backend", "wrong-secret-xxxxxxxx")),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // From this address, even the right secret now waits.
    let (status, body, headers) = p
        .token("grant_type=client_credentials", Some(("backend", SECRET)))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
}

/// One token request straight into the router, from `addr`.
async fn token_from(app: &axum::Router, addr: &str, id: &str, secret: &str) -> StatusCode {
    use tower::ServiceExt as _;
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let mut req = http::Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {b}"))
        .body(axum::body::Body::from("grant_type=client_credentials"))
        .unwrap();
    req.extensions_mut()
        .insert(tollgate::issuer::ClientAddr(addr.parse().unwrap()));
    let res = app.clone().oneshot(req).await.unwrap();
    StatusCode::from_u16(res.status().as_u16()).unwrap()
}

#[tokio::test]
async fn a_stranger_cannot_lock_a_client_out() {
    let p = platform(Default::default()).await;
    let app = tollgate::issuer::router(
        p.minter.clone(),
        p.clients.clone(),
        TokenEndpointSettings::default().with_failure_limits(5, 50, Duration::from_secs(60)),
    );
    // A stranger guesses the real client's secret until refused.
    let mut refused_at = None;
    for i in 0..20 {
        let s = token_from(&app, "203.0.113.9", "backend", "wrong-secret-xxxxxxxx").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(i);
            break;
        }
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(refused_at, Some(5), "guessing is slowed after the budget");
    // The real client, elsewhere, is untouched.
    assert_eq!(
        token_from(&app, "198.51.100.7", "backend", SECRET).await,
        StatusCode::OK
    );
    // Made-up client ids from one address: the per-address budget stops them.
    let mut statuses = Vec::new();
    for i in 0..60 {
        statuses.push(
            token_from(
                &app,
                "192.0.2.1",
                &format!("ghost-{i}"),
                "wrong-secret-xxxxxxxx",
            )
            .await,
        );
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        50
    );
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(
        token_from(&app, "198.51.100.7", "backend", SECRET).await,
        StatusCode::OK
    );
}

async fn deactivated_client_loses_new_and_old_tokens(fw: Fw) {
    let p = platform_on(fw, Default::default()).await;
    let (_, body, _) = p
        .token("grant_type=client_credentials", Some(("backend", SECRET)))
        .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let verifier = p.verifier();
    assert!(verifier.verify_access_token(&token).await.is_ok());
    assert!(verifier.verify_access_token(&token).await.is_ok(), "cached");
    p.clients.set_active("backend", false);
    let err = verifier.verify_access_token(&token).await.unwrap_err();
    assert_eq!(
        (err.status(), err.description()),
        (StatusCode::UNAUTHORIZED, "the client is deactivated")
    );
    let (status, body, _) = p
        .token("grant_type=client_credentials", Some(("backend", SECRET)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

async fn rotation_keeps_old_tokens_until_the_key_is_retired(fw: Fw) {
    let p = platform_on(fw, Default::default()).await;
    let verifier = p.verifier();
    let grant = AccessGrant {
        client_id: "backend",
        account: "acct-1",
        scope: "orders:read",
        lifetime: Duration::from_secs(600),
        jkt: None,
    };
    let old = p.minter.access_token(&grant).unwrap().token;
    let old_kid = p.ring.active().unwrap().kid().to_owned();
    assert!(verifier.verify_access_token(&old).await.is_ok());

    p.ring
        .rotate(SigningKey::generate(SigningAlgorithm::Es256).unwrap());
    let new = p.minter.access_token(&grant).unwrap().token;
    assert!(
        verifier.verify_access_token(&new).await.is_ok(),
        "new kid → refetch → accepted"
    );
    assert!(
        verifier.verify_access_token(&old).await.is_ok(),
        "previous key still published"
    );

    assert!(p.ring.retire(&old_kid));
    // A refresh (triggered here by a third key's token) drops the retired key.
    p.ring
        .rotate(SigningKey::generate(SigningAlgorithm::Rs256).unwrap());
    let newest = p.minter.access_token(&grant).unwrap().token;
    assert!(verifier.verify_access_token(&newest).await.is_ok());
    assert!(
        verifier.verify_access_token(&old).await.is_err(),
        "retired key no longer verifies"
    );
    assert!(verifier.verify_access_token(&new).await.is_ok());
}

async fn jwks_and_discovery_documents(fw: Fw) {
    let p = platform_on(fw, Default::default()).await;
    let res = p
        .http
        .get(format!("{}/.well-known/openid-configuration", p.base))
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["issuer"], p.base.as_str());
    assert_eq!(doc["jwks_uri"], format!("{}/.well-known/jwks.json", p.base));
    assert_eq!(doc["token_endpoint"], format!("{}/oauth/token", p.base));
    let res = p
        .http
        .get(format!("{}/.well-known/jwks.json", p.base))
        .send()
        .await
        .unwrap();
    let jwks: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["use"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("sig"), Some("EdDSA"))
    );
    assert!(key.get("d").is_none(), "no private material");
}

#[test]
fn signing_keys_load_from_pem_and_never_print_secrets() {
    common::install_backend();
    for (file, alg) in [
        ("ed25519.pem", SigningAlgorithm::Ed25519),
        ("ec256.pem", SigningAlgorithm::Es256),
        ("rsa.pem", SigningAlgorithm::Rs256),
    ] {
        let pem = String::from_utf8(common::read_key(file)).unwrap();
        let key = SigningKey::from_pem(&pem, alg, "k").unwrap();
        assert!(!format!("{key:?}").contains(&pem[40..60]));
        let ring = KeyRing::new(key);
        let minter = Minter::new("https://iss", "aud", ring.clone());
        let token = minter
            .access_token(&AccessGrant {
                client_id: "c",
                account: "a",
                scope: "x:read",
                lifetime: Duration::from_secs(60),
                jkt: None,
            })
            .unwrap()
            .token;
        // Verify with the published JWK through the inline-JWKS path.
        let auth = Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://iss")
                    .audience("aud")
                    .jwks(ring.jwks()),
            )
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(
            rt.block_on(auth.verify_access_token(&token)).is_ok(),
            "{file}"
        );
    }
}

async fn basic_client_credentials_are_form_decoded_whole(fw: Fw) {
    let p = platform_on(fw, Default::default()).await;
    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
    let (status, body, _) = p
        .token("grant_type=client_credentials", Some(("back%65nd", SECRET)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A raw `&` is not form encoding: refused, not cut short.
    let (status, body, _) = p
        .token(
            "grant_type=client_credentials",
            Some(("backend", &format!("{SECRET}&junk"))),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}
