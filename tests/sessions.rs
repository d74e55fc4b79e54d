//! Session credentials through axum, run by the same code against the
//! in-memory store and against a real Redis server on 127.0.0.1:6379.
//!
//! Without a reachable Redis the Redis half is skipped with a clear line,
//! except under `CI=true`, where a missing Redis fails.

mod common;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use common::*;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tollgate::axum::{Auth, require_layer};
use tollgate::policy::{customer, scope};
use tollgate::session::{BindAuthority, MemoryStore, NewSession, SessionStore, StoreError};
use tollgate::tower::AuthLayer;
use tollgate::{AuthError, Authenticator, IssuerConfig};

fn auth_for(store: Arc<dyn SessionStore>) -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .session_store(store)
        .session_sources(
            tollgate::config::SessionSources::default()
                .with_header("x-session-id")
                .with_cookie("sid"),
        )
        .build()
        .unwrap()
}

fn shop(auth: Authenticator) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|Auth(ctx): Auth| async move { axum::Json(ctx) }),
        )
        .route(
            "/customers/{id}",
            get(|auth: Auth, Path(id): Path<String>| async move {
                auth.ensure_customer(&id)?;
                Ok::<_, AuthError>(id)
            })
            .route_layer(require_layer(scope("customer:read"))),
        )
        .route(
            "/me",
            get(|Auth(ctx): Auth| async move { ctx.customer().unwrap_or_default().to_owned() })
                .route_layer(require_layer(customer())),
        )
        .route(
            "/onboarding",
            get(|| async { "welcome" }).route_layer(require_layer(scope("customer:write"))),
        )
        .layer(AuthLayer::required(auth))
}

async fn with_session(app: &Router, path: &str, id: &str) -> Reply {
    send(app, "GET", path, &[("x-session-id", id.as_bytes())]).await
}

const SCOPES: &str = "customer:read customer:write orders:read";

/// The whole session behaviour, against any store.
async fn suite(store: Arc<dyn SessionStore>) {
    let auth = auth_for(store.clone());
    let app = shop(auth.clone());

    // create → use → 200, with account and customer in context.
    let s = store
        .create(NewSession::for_customer("acct-9", "cust-1", SCOPES))
        .await
        .unwrap();
    let r = with_session(&app, "/whoami", s.id.as_str()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["account"], "acct-9");
    assert_eq!(r.body["customer"], "cust-1");
    assert_eq!(r.body["credentials"], json!(["session"]));
    assert_eq!(
        with_session(&app, "/customers/cust-1", s.id.as_str())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        with_session(&app, "/customers/cust-2", s.id.as_str())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The cookie works as well; both at once is malformed.
    let cookie = format!("sid={}", s.id.as_str());
    assert_eq!(
        send(&app, "GET", "/me", &[("cookie", cookie.as_bytes())])
            .await
            .status,
        StatusCode::OK
    );
    let r = send(
        &app,
        "GET",
        "/me",
        &[
            ("cookie", cookie.as_bytes()),
            ("x-session-id", s.id.as_str().as_bytes()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Unknown (well-formed) and malformed ids → 401 invalid_token.
    let unknown = tollgate::session::SessionId::generate().unwrap();
    for id in [
        unknown.as_str(),
        "sess_short",
        "nope",
        "sess_../../../etc/passwd",
    ] {
        let r = with_session(&app, "/whoami", id).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{id}"
        );
    }

    // Absolute expiry.
    let short = store
        .create(
            NewSession::for_customer("acct-9", "cust-1", SCOPES)
                .with_ttl(Duration::from_millis(600)),
        )
        .await
        .unwrap();
    assert_eq!(
        with_session(&app, "/whoami", short.id.as_str())
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        with_session(&app, "/whoami", short.id.as_str())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Idle expiry slides with use.
    let idle = store
        .create(
            NewSession::for_customer("acct-9", "cust-1", SCOPES)
                .with_idle_ttl(Duration::from_millis(700)),
        )
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            with_session(&app, "/whoami", idle.id.as_str()).await.status,
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        with_session(&app, "/whoami", idle.id.as_str()).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Revoke one.
    assert!(store.revoke(&s.id).await.unwrap());
    assert_eq!(
        with_session(&app, "/whoami", s.id.as_str()).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Revoke every session of a customer, and only that customer's.
    let a = store
        .create(NewSession::for_customer("acct-9", "cust-5", SCOPES))
        .await
        .unwrap();
    let b = store
        .create(NewSession::for_customer("acct-9", "cust-5", SCOPES))
        .await
        .unwrap();
    let other = store
        .create(NewSession::for_customer("acct-9", "cust-6", SCOPES))
        .await
        .unwrap();
    assert_eq!(store.revoke_customer("acct-9", "cust-5").await.unwrap(), 2);
    for id in [&a.id, &b.id] {
        assert_eq!(
            with_session(&app, "/whoami", id.as_str()).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        with_session(&app, "/whoami", other.id.as_str())
            .await
            .status,
        StatusCode::OK
    );

    // Anonymous onboarding session: reaches only what its scopes allow, no
    // customer-only route.
    let anon = store
        .create(NewSession::anonymous("acct-9", "customer:write"))
        .await
        .unwrap();
    assert_eq!(
        with_session(&app, "/onboarding", anon.id.as_str())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        with_session(&app, "/me", anon.id.as_str()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        with_session(&app, "/customers/cust-1", anon.id.as_str())
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // It cannot take over an existing customer by naming its id.
    let err = store
        .bind_customer(&anon.id, "cust-1", BindAuthority::CreatedThroughSession)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotAllowed);
    // A customer created through this session can be bound, exactly once.
    store
        .record_created_customer(&anon.id, "cust-new")
        .await
        .unwrap();
    let bound = store
        .bind_customer(&anon.id, "cust-new", BindAuthority::CreatedThroughSession)
        .await
        .unwrap();
    assert_eq!(bound.customer.as_deref(), Some("cust-new"));
    let r = with_session(&app, "/me", anon.id.as_str()).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "cust-new"));
    store
        .record_created_customer(&anon.id, "cust-other")
        .await
        .unwrap();
    let err = store
        .bind_customer(&anon.id, "cust-other", BindAuthority::CreatedThroughSession)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::AlreadyBound);

    // The app's backend credential may bind an existing customer, for its
    // own account only.
    let backend = auth
        .verify_access_token(&mint(Algorithm::HS256, None, &claims()))
        .await
        .unwrap();
    let anon2 = store
        .create(NewSession::anonymous("acct-9", SCOPES))
        .await
        .unwrap();
    store
        .bind_customer(&anon2.id, "cust-1", BindAuthority::Backend(&backend))
        .await
        .unwrap();
    let mut other_acct = claims();
    other_acct["account_id"] = json!("acct-other");
    let foreign = auth
        .verify_access_token(&mint(Algorithm::HS256, None, &other_acct))
        .await
        .unwrap();
    let anon3 = store
        .create(NewSession::anonymous("acct-9", SCOPES))
        .await
        .unwrap();
    let err = store
        .bind_customer(&anon3.id, "cust-1", BindAuthority::Backend(&foreign))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotAllowed);

    // Session beside an access token: accounts must agree; scopes intersect.
    let s = store
        .create(NewSession::for_customer(
            "acct-9",
            "cust-1",
            "customer:read",
        ))
        .await
        .unwrap();
    let token = mint(Algorithm::HS256, None, &claims());
    let bearer = format!("Bearer {token}");
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-session-id", s.id.as_str().as_bytes()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["customer"], "cust-1");
    assert_eq!(r.body["scopes"], json!(["customer:read"]));
    let foreign_s = store
        .create(NewSession::for_customer("acct-x", "cust-1", SCOPES))
        .await
        .unwrap();
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-session-id", foreign_s.id.as_str().as_bytes()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A bad session is not rescued by a good token.
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-session-id", unknown.as_str().as_bytes()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_with_the_memory_store() {
    suite(Arc::new(MemoryStore::default())).await;
}

#[test]
fn memory_store_is_bounded() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = MemoryStore::new(3);
        for _ in 0..3 {
            store.create(NewSession::anonymous("a", "")).await.unwrap();
        }
        assert_eq!(
            store
                .create(NewSession::anonymous("a", ""))
                .await
                .unwrap_err(),
            StoreError::Full
        );
        // Expired entries are purged to make room.
        let store = MemoryStore::new(2);
        for _ in 0..2 {
            store
                .create(NewSession::anonymous("a", "").with_ttl(Duration::from_millis(10)))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.create(NewSession::anonymous("a", "")).await.unwrap();
        assert_eq!(store.len(), 1);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_under_concurrency() {
    let store = Arc::new(MemoryStore::default());
    let anon = store
        .create(NewSession::anonymous("acct", SCOPES))
        .await
        .unwrap();
    store.record_created_customer(&anon.id, "c").await.unwrap();
    // Many concurrent binders: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (store, id) = (store.clone(), anon.id.clone());
        tasks.push(tokio::spawn(async move {
            store
                .bind_customer(&id, "c", BindAuthority::CreatedThroughSession)
                .await
                .is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[cfg(feature = "redis")]
mod redis_backed {
    use super::*;
    use tollgate::session::{RedisSettings, RedisStore};

    fn redis_available() -> bool {
        let up = std::net::TcpStream::connect_timeout(
            &"127.0.0.1:6379".parse().unwrap(),
            Duration::from_millis(300),
        )
        .is_ok();
        if !up {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but no Redis answers on 127.0.0.1:6379");
            }
            eprintln!(
                "SKIPPED: Redis session tests need a Redis on 127.0.0.1:6379 (none answered)"
            );
        }
        up
    }

    fn store(prefix: &str) -> RedisStore {
        RedisStore::new(RedisSettings::default().with_key_prefix(prefix)).unwrap()
    }

    fn unique_prefix() -> String {
        format!(
            "tollgate-test:{}:",
            tollgate::session::SessionId::generate().unwrap().as_str()
        )
    }

    #[tokio::test]
    async fn sessions_with_the_redis_store() {
        if !redis_available() {
            return;
        }
        suite(Arc::new(store(&unique_prefix()))).await;
    }

    #[tokio::test]
    async fn two_authenticators_share_creations_and_revocations() {
        if !redis_available() {
            return;
        }
        let prefix = unique_prefix();
        let (a, b): (Arc<dyn SessionStore>, Arc<dyn SessionStore>) =
            (Arc::new(store(&prefix)), Arc::new(store(&prefix)));
        let (app_a, app_b) = (shop(auth_for(a.clone())), shop(auth_for(b.clone())));
        let s = a
            .create(NewSession::for_customer("acct-9", "cust-1", SCOPES))
            .await
            .unwrap();
        assert_eq!(
            with_session(&app_b, "/whoami", s.id.as_str()).await.status,
            StatusCode::OK
        );
        assert!(b.revoke(&s.id).await.unwrap());
        assert_eq!(
            with_session(&app_a, "/whoami", s.id.as_str()).await.status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn unreachable_redis_is_503_never_401() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store =
            RedisStore::new(RedisSettings::new(format!("redis://127.0.0.1:{port}"))).unwrap();
        let app = shop(auth_for(Arc::new(store)));
        let id = tollgate::session::SessionId::generate().unwrap();
        let started = std::time::Instant::now();
        let r = with_session(&app, "/whoami", id.as_str()).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
        assert_eq!(r.error(), Some("temporarily_unavailable"));
        assert!(started.elapsed() < Duration::from_secs(2));
        // A malformed id never reaches the store: still 401.
        assert_eq!(
            with_session(&app, "/whoami", "sess_bad").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}
