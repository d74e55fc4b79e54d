//! Opaque access tokens through RFC 7662 introspection, against a real
//! introspection endpoint started in the test (issue 12, part 3): active,
//! inactive, expired, revoked, endpoint down before and after a cached
//! answer, a slow endpoint (bounded latency), and 1,000 concurrent requests
//! for one new token making one call.

mod common;

use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tollgate::revocation::MemoryRevocations;
use tollgate::{Authenticator, IntrospectionSettings, IssuerConfig};

const RS_ID: &str = "resource-server";
const RS_SECRET: &str = "resource-server-secret-0123";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Serve,
    Down,
    Slow,
}

struct Endpoint {
    answers: Mutex<HashMap<String, Value>>,
    mode: Mutex<Mode>,
    calls: AtomicU64,
}

async fn introspect(
    State(e): State<Arc<Endpoint>>,
    headers: http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    e.calls.fetch_add(1, Ordering::SeqCst);
    let mode = *e.mode.lock().unwrap();
    match mode {
        Mode::Down => return (http::StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        Mode::Slow => tokio::time::sleep(Duration::from_secs(5)).await,
        Mode::Serve => {}
    }
    // The resource server authenticates (RFC 7662 §2.1).
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{RS_ID}:{RS_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (http::StatusCode::UNAUTHORIZED, "who are you").into_response();
    }
    let token: String = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let answer = e
        .answers
        .lock()
        .unwrap()
        .get(&token)
        .cloned()
        .unwrap_or(json!({"active": false}));
    axum::Json(answer).into_response()
}

struct Setup {
    endpoint: Arc<Endpoint>,
    url: String,
    auth: Authenticator,
    app: axum::Router,
    revocations: Arc<MemoryRevocations>,
}

async fn setup(settings: impl FnOnce(IntrospectionSettings) -> IntrospectionSettings) -> Setup {
    let endpoint = Arc::new(Endpoint {
        answers: Mutex::new(HashMap::new()),
        mode: Mutex::new(Mode::Serve),
        calls: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/introspect", post(introspect))
        .with_state(endpoint.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let revocations = Arc::new(MemoryRevocations::default());
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(common::ISSUER)
                .audience(common::AUDIENCE)
                .hmac_secret(common::HMAC_SECRET),
        )
        .introspection(settings(IntrospectionSettings::new(
            url.clone(),
            RS_ID,
            RS_SECRET,
        )))
        .revocations(revocations.clone())
        .build()
        .unwrap();
    Setup {
        endpoint,
        url: url.clone(),
        app: common::app(auth.clone()),
        auth,
        revocations,
    }
}

fn active(token: &str, s: &Setup, exp_in: i64) {
    let exp = common::now() as i64 + exp_in;
    s.endpoint.answers.lock().unwrap().insert(
        token.to_owned(),
        json!({"active": true, "client_id": "app-1", "account_id": "acct-1", "sub": "app-1",
               "scope": "orders:read", "exp": exp, "jti": format!("jti-{token}"), "iss": "https://as.example"}),
    );
}

#[tokio::test]
async fn active_inactive_expired_and_revoked() {
    let s = setup(|i| i).await;
    active("opaque-good", &s, 600);
    let r = common::get_bearer(&s.app, "/whoami", "opaque-good").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["client_id"], "app-1");
    let r = common::get_bearer(&s.app, "/orders", "opaque-good").await;
    assert_eq!(r.status, 200);
    // Scopes come from the answer: no write scope.
    let r = common::send(
        &s.app,
        "POST",
        "/orders",
        &[("authorization", b"Bearer opaque-good")],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.error()),
        (403, Some("insufficient_scope"))
    );

    // Unknown to the endpoint: inactive.
    let r = common::get_bearer(&s.app, "/whoami", "opaque-unknown").await;
    assert_eq!((r.status.as_u16(), r.error()), (401, Some("invalid_token")));
    // Active but expired.
    active("opaque-expired", &s, -3600);
    let r = common::get_bearer(&s.app, "/whoami", "opaque-expired").await;
    assert_eq!((r.status.as_u16(), r.error()), (401, Some("invalid_token")));
    // Revoked here by jti: refused even though the endpoint's answer is cached.
    s.revocations
        .revoke_jti("jti-opaque-good", common::now() + 600);
    let r = common::get_bearer(&s.app, "/whoami", "opaque-good").await;
    assert_eq!((r.status.as_u16(), r.error()), (401, Some("invalid_token")));
    // A JWT is verified locally: no introspection call for it.
    let before = s.auth.introspection_calls();
    let jwt = common::mint(jsonwebtoken::Algorithm::HS256, None, &common::claims());
    let r = common::get_bearer(&s.app, "/whoami", &jwt).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.auth.introspection_calls(), before);
}

#[tokio::test]
async fn revoked_at_the_endpoint_is_seen_once_the_cache_lapses() {
    let s = setup(|i| i.with_max_cache_secs(1)).await;
    active("opaque-r", &s, 600);
    assert_eq!(
        common::get_bearer(&s.app, "/whoami", "opaque-r")
            .await
            .status,
        200
    );
    s.endpoint.answers.lock().unwrap().remove("opaque-r");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = common::get_bearer(&s.app, "/whoami", "opaque-r").await;
    assert_eq!((r.status.as_u16(), r.error()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn an_endpoint_that_is_down_gives_503_unless_cached() {
    let s = setup(|i| i).await;
    active("opaque-cached", &s, 600);
    active("opaque-new", &s, 600);
    assert_eq!(
        common::get_bearer(&s.app, "/whoami", "opaque-cached")
            .await
            .status,
        200
    );
    *s.endpoint.mode.lock().unwrap() = Mode::Down;
    // Cached before the outage: still served.
    assert_eq!(
        common::get_bearer(&s.app, "/whoami", "opaque-cached")
            .await
            .status,
        200
    );
    // Never seen: 503, never 401 for a token that may be valid.
    let r = common::get_bearer(&s.app, "/whoami", "opaque-new").await;
    assert_eq!(r.status, 503, "{}", r.text);
    // Back up: the same token passes.
    *s.endpoint.mode.lock().unwrap() = Mode::Serve;
    assert_eq!(
        common::get_bearer(&s.app, "/whoami", "opaque-new")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_slow_endpoint_delays_a_request_only_by_the_timeout() {
    let s = setup(|i| i.with_timeout_ms(300)).await;
    active("opaque-slow", &s, 600);
    *s.endpoint.mode.lock().unwrap() = Mode::Slow;
    let t = Instant::now();
    let r = common::get_bearer(&s.app, "/whoami", "opaque-slow").await;
    let took = t.elapsed();
    assert_eq!(r.status, 503);
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_new_token_make_one_call() {
    let s = setup(|i| i).await;
    active("opaque-storm", &s, 600);
    let app = Arc::new(s.app.clone());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                common::get_bearer(&app, "/whoami", "opaque-storm")
                    .await
                    .status
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(s.endpoint.calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.auth.introspection_calls(), 1);
    // Made-up tokens: each costs one call, then the negative cache answers.
    for _ in 0..20 {
        let r = common::get_bearer(&app, "/whoami", "opaque-made-up").await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(s.endpoint.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn introspection_settings_are_checked_at_build() {
    for bad in [
        IntrospectionSettings::new("http://as.example/introspect", RS_ID, RS_SECRET),
        IntrospectionSettings::new("not a url", RS_ID, RS_SECRET),
        IntrospectionSettings::new("https://as.example/introspect", "", RS_SECRET),
    ] {
        let err = Authenticator::builder()
            .issuer(
                IssuerConfig::new(common::ISSUER)
                    .audience(common::AUDIENCE)
                    .hmac_secret(common::HMAC_SECRET),
            )
            .introspection(bad)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("introspection"), "{err}");
        assert!(!err.to_string().contains(RS_SECRET));
    }
}

/// The examples' environment contract: `TOLLGATE_INTROSPECTION_URL` with
/// its client id and secret, on axum and actix alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_servers_introspect_opaque_tokens() {
    let s = setup(|i| i).await;
    active("opaque-example", &s, 600);
    let http = reqwest::Client::new();
    let mut examples = vec!["axum_api"];
    if cfg!(all(feature = "actix", feature = "macros")) {
        examples.push("actix_api");
    }
    for example in examples {
        let server = common::start_example(
            example,
            &[
                ("TOLLGATE_ISSUER", common::ISSUER),
                ("TOLLGATE_AUDIENCE", common::AUDIENCE),
                ("TOLLGATE_HS256_SECRET", common::HMAC_SECRET),
                ("TOLLGATE_INTROSPECTION_URL", s.url.as_str()),
                ("TOLLGATE_INTROSPECTION_CLIENT_ID", RS_ID),
                ("TOLLGATE_INTROSPECTION_CLIENT_SECRET", RS_SECRET),
            ],
        );
        let get = |token: &'static str| {
            http.get(format!("{}/orders", server.base))
                .bearer_auth(token)
                .send()
        };
        assert_eq!(
            get("opaque-example").await.unwrap().status(),
            200,
            "{example}"
        );
        assert_eq!(
            get("opaque-nobody").await.unwrap().status(),
            401,
            "{example}"
        );
    }
}
