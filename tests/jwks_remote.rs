//! Remote key sources against a real JWKS server on 127.0.0.1 that counts
//! its fetches.

mod common;

use common::*;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;
use std::time::{Duration, Instant};
use tollgate::{Authenticator, IssuerConfig, RemoteKeySettings};

fn remote_auth(url: &str, settings: RemoteKeySettings) -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(IssuerConfig::new(ISSUER).audience(AUDIENCE).jwks_url(url))
        .remote_keys(settings)
        .build()
        .unwrap()
}

fn fast_settings() -> RemoteKeySettings {
    RemoteKeySettings::default().with_fetch_timeout_ms(500)
}

#[tokio::test]
async fn keys_are_cached() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let auth = remote_auth(&server.url(), fast_settings());
    let app = app(auth.clone());
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    for _ in 0..50 {
        assert_eq!(
            get_bearer(&app, "/whoami", &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(server.fetch_count(), 1);
    assert_eq!(auth.key_fetch_count(), 1);
}

#[tokio::test]
async fn rotation_triggers_exactly_one_refetch() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let app = app(remote_auth(&server.url(), fast_settings()));
    let old = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &old).await.status,
        StatusCode::OK
    );
    assert_eq!(server.fetch_count(), 1);

    // The issuer rotates: publishes a new key next to the old one.
    server.set_jwks(jwks(&[(Algorithm::RS256, "k1"), (Algorithm::ES256, "k2")]));
    let new = mint(Algorithm::ES256, Some("k2"), &claims());
    // The request that meets the new kid is verified against the refreshed set.
    assert_eq!(
        get_bearer(&app, "/whoami", &new).await.status,
        StatusCode::OK
    );
    assert_eq!(server.fetch_count(), 2);
    for _ in 0..10 {
        assert_eq!(
            get_bearer(&app, "/whoami", &new).await.status,
            StatusCode::OK
        );
        assert_eq!(
            get_bearer(&app, "/whoami", &old).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(server.fetch_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_storm_fetches_at_most_once_per_cooldown() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let app = app(remote_auth(&server.url(), fast_settings()));
    let good = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &good).await.status,
        StatusCode::OK
    );
    assert_eq!(server.fetch_count(), 1);

    let mut tasks = Vec::new();
    for i in 0..1000 {
        let app = app.clone();
        // Each request names a different unknown kid.
        let token = mint(Algorithm::RS256, Some(&format!("unknown-{i}")), &claims());
        tasks.push(tokio::spawn(async move {
            get_bearer(&app, "/whoami", &token).await
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.error(), Some("invalid_token"));
    }
    // The initial fetch plus exactly one for the whole storm.
    assert_eq!(server.fetch_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_a_new_kid_share_one_fetch() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let app = app(remote_auth(&server.url(), fast_settings()));
    assert_eq!(
        get_bearer(
            &app,
            "/whoami",
            &mint(Algorithm::RS256, Some("k1"), &claims())
        )
        .await
        .status,
        StatusCode::OK
    );
    server.set_jwks(jwks(&[(Algorithm::RS256, "k1"), (Algorithm::EdDSA, "k2")]));
    let token = mint(Algorithm::EdDSA, Some("k2"), &claims());
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (app, token) = (app.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            get_bearer(&app, "/whoami", &token).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(server.fetch_count(), 2);
}

#[tokio::test]
async fn endpoint_down_after_first_fetch_keeps_old_keys() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let settings = fast_settings().with_refresh_cooldown_secs(0);
    let app = app(remote_auth(&server.url(), settings));
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    server.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // An unknown kid forces a refresh attempt that fails.
    let unknown = mint(Algorithm::RS256, Some("k9"), &claims());
    let r = get_bearer(&app, "/whoami", &unknown).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for _ in 0..5 {
        assert_eq!(
            get_bearer(&app, "/whoami", &token).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn garbage_or_error_responses_keep_old_keys() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let settings = fast_settings().with_refresh_cooldown_secs(0);
    let app = app(remote_auth(&server.url(), settings));
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    let unknown = mint(Algorithm::RS256, Some("k9"), &claims());
    for behaviour in [
        Behaviour::Garbage,
        Behaviour::Status(500),
        Behaviour::Status(404),
    ] {
        server.set(behaviour.clone());
        let before = server.fetch_count();
        assert_eq!(
            get_bearer(&app, "/whoami", &unknown).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            server.fetch_count(),
            before + 1,
            "{behaviour:?} was fetched"
        );
        assert_eq!(
            get_bearer(&app, "/whoami", &token).await.status,
            StatusCode::OK,
            "{behaviour:?}"
        );
    }
    // An empty set is never cached either.
    server.set(Behaviour::Serve);
    server.set_jwks(json!({"keys": []}));
    assert_eq!(
        get_bearer(&app, "/whoami", &unknown).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn hanging_endpoint_bounds_latency_by_the_fetch_timeout() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let settings = RemoteKeySettings::default()
        .with_refresh_cooldown_secs(0)
        .with_fetch_timeout_ms(300);
    let app = app(remote_auth(&server.url(), settings));
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    server.set(Behaviour::Hang);
    let unknown = mint(Algorithm::RS256, Some("k9"), &claims());
    let started = Instant::now();
    assert_eq!(
        get_bearer(&app, "/whoami", &unknown).await.status,
        StatusCode::UNAUTHORIZED
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "the fetch was attempted: {took:?}"
    );
    assert!(
        took < Duration::from_millis(2000),
        "bounded by the timeout: {took:?}"
    );
    // Known keys never wait on the hanging endpoint.
    let started = Instant::now();
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn endpoint_down_from_the_start_is_503_not_401() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = app(remote_auth(
        &format!("http://127.0.0.1:{port}/jwks"),
        fast_settings(),
    ));
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    let r = get_bearer(&app, "/whoami", &token).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.error(), Some("temporarily_unavailable"));
    assert!(r.www_authenticate.is_none());
    // A bad token is still a bad token, outage or not.
    let r = get_bearer(&app, "/whoami", "not-a-jwt").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Garbage from the start is an outage too.
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    server.set(Behaviour::Garbage);
    let app = app_for(&server.url());
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

fn app_for(url: &str) -> axum::Router {
    app(remote_auth(url, fast_settings()))
}

#[tokio::test]
async fn discovery_document_is_followed() {
    let server = JwksServer::start(jwks(&[(Algorithm::ES384, "d1")])).await;
    install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(server.base.clone())
                .audience(AUDIENCE)
                .discovery(),
        )
        .remote_keys(fast_settings())
        .build()
        .unwrap();
    auth.prefetch_keys().await.unwrap();
    let app = app(auth);
    let mut c = claims();
    c["iss"] = json!(server.base);
    let token = mint(Algorithm::ES384, Some("d1"), &c);
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        server.fetch_count(),
        1,
        "the JWKS named by jwks_uri was fetched once"
    );
}

#[tokio::test]
async fn discovery_for_another_issuer_is_refused() {
    let server = JwksServer::start(jwks(&[(Algorithm::ES384, "d1")])).await;
    install_backend();
    // The document at this URL names `server.base` as issuer, not ours.
    let issuer = format!("{}/tenant", server.base);
    let auth = Authenticator::builder()
        .issuer(IssuerConfig::new(issuer).audience(AUDIENCE).discovery())
        .remote_keys(fast_settings())
        .build()
        .unwrap();
    assert_eq!(
        auth.prefetch_keys().await.unwrap_err().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn remote_sets_never_yield_hmac_keys() {
    use base64::Engine as _;
    let secret = HMAC_SECRET.as_bytes();
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let server = JwksServer::start(json!({"keys": [
        {"kty": "oct", "k": k, "kid": "h1", "alg": "HS256"},
        jwk(Algorithm::RS256, "k1"),
    ]}))
    .await;
    let app = app(remote_auth(&server.url(), fast_settings()));
    let token = mint(Algorithm::HS256, Some("h1"), &claims());
    let r = get_bearer(&app, "/whoami", &token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), Some("invalid_token"));
    // The good key in the same set still works.
    assert_eq!(
        get_bearer(
            &app,
            "/whoami",
            &mint(Algorithm::RS256, Some("k1"), &claims())
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn etag_revalidation_and_background_refresh() {
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    *server.etag.lock().unwrap() = Some("\"v1\"".into());
    // max-age=0 is clamped up to min_ttl (1 s here): the set is due for a
    // background refresh at 0.75 s.
    *server.cache_control.lock().unwrap() = Some("max-age=0".into());
    let settings = fast_settings().with_min_ttl_secs(1);
    let app = app(remote_auth(&server.url(), settings));
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(server.fetch_count(), 1);
    tokio::time::sleep(Duration::from_millis(900)).await;
    // This request sees the set is due and starts a background refresh; it
    // does not wait for it.
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.fetch_count() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.fetch_count(), 2);
    assert_eq!(
        server
            .not_modified
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "revalidated with If-None-Match"
    );
    assert_eq!(
        get_bearer(&app, "/whoami", &token).await.status,
        StatusCode::OK
    );
}

/// Redirects are followed only within the origin of the configured URL: a
/// key document never comes from a host that was not configured.
#[tokio::test]
async fn redirects_to_another_origin_are_not_followed() {
    let keys = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let body = keys.jwks.lock().unwrap().to_string();
    let elsewhere = keys.url();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = |to: String| {
        axum::routing::get(move || {
            let to = to.clone();
            async move { (StatusCode::FOUND, [(http::header::LOCATION, to)]) }
        })
    };
    let router = axum::Router::new()
        .route("/same", redirect("/jwks.json".into()))
        .route("/cross", redirect(elsewhere))
        .route(
            "/jwks.json",
            axum::routing::get(move || {
                let body = body.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let token = mint(Algorithm::RS256, Some("k1"), &claims());

    // Same origin: followed.
    let app_same = app(remote_auth(&format!("{base}/same"), fast_settings()));
    assert_eq!(
        get_bearer(&app_same, "/whoami", &token).await.status,
        StatusCode::OK
    );
    // Another origin (another port): refused, nothing fetched there, and
    // with no keys the answer is 503, not 401 and not the other host's keys.
    let app_cross = app(remote_auth(&format!("{base}/cross"), fast_settings()));
    assert_eq!(
        get_bearer(&app_cross, "/whoami", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(keys.fetch_count(), 0, "the other origin was fetched");
    task.abort();
}
