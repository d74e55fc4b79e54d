//! The customer-token and customer-session endpoints (`tollgate::issuer`),
//! framework-free handlers driven through both adapters: every case runs
//! against the axum routes and the actix-web services with the same
//! expectations.
#![cfg(all(feature = "issuer", feature = "actix"))]

mod common;

use actix_web::test as atest;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tollgate::config::CustomerTokenConfig;
use tollgate::issuer::{
    AccessGrant, CustomerDirectory, CustomerSessionSettings, CustomerSessions,
    CustomerTokenEndpoint, CustomerTokenSettings, DirectoryError, KeyRing, Minter,
    SigningAlgorithm, SigningKey, ThrottleRule,
};
use tollgate::revocation::{MemoryRevocations, RevocationWriter, Revocations, RevokeError};
use tollgate::{Authenticator, IssuerConfig, MemoryStore};
use tower::ServiceExt as _;

const ISSUER: &str = "https://shop.example";

/// One customer: `ron@example.org` / `correct-horse`.
#[derive(Debug)]
struct Directory;

#[async_trait::async_trait]
impl CustomerDirectory for Directory {
    async fn check_password(
        &self,
        _account: &str,
        email: &str,
        password: &str,
    ) -> Result<Option<String>, DirectoryError> {
        // A real check hashes for tens of milliseconds (Argon2id): guesses
        // sent at once are all in flight before the first one fails.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok((email == "ron@example.org" && password == "correct-horse").then(|| "cus_ron".into()))
    }

    async fn customer_exists(&self, _account: &str, id: &str) -> Result<bool, DirectoryError> {
        Ok(id == "cus_ron" || id == "cus_new")
    }
}

struct Fixture {
    verifier: Authenticator,
    minter: Minter,
    tokens: Arc<CustomerTokenEndpoint>,
    sessions: Arc<CustomerSessions>,
}

/// A real `MemoryRevocations` that also records what it was asked to
/// revoke, and until when.
#[derive(Debug, Default)]
struct Recorded {
    list: MemoryRevocations,
    revoked: std::sync::Mutex<Vec<(String, u64)>>,
}

impl Revocations for Recorded {
    fn is_revoked(&self, ctx: &tollgate::AuthContext) -> bool {
        self.list.is_revoked(ctx)
    }
}

#[async_trait::async_trait]
impl RevocationWriter for Recorded {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), RevokeError> {
        self.revoked
            .lock()
            .unwrap()
            .push((jti.to_owned(), expires_at));
        self.list.revoke_token(jti, expires_at).await
    }
    async fn revoke_customer(
        &self,
        account: &str,
        customer: &str,
        before: u64,
    ) -> Result<(), RevokeError> {
        self.list.revoke_customer(account, customer, before).await
    }
}

fn fixture() -> Fixture {
    fixture_with(Arc::new(Recorded::default()))
}

fn fixture_with(revocations: Arc<Recorded>) -> Fixture {
    common::install_backend();
    let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).unwrap());
    let minter = Minter::new(ISSUER, "shop-api", ring.clone());
    let store = Arc::new(MemoryStore::default());
    let verifier = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience("shop-api")
                .jwks(ring.jwks()),
        )
        .customer_tokens(CustomerTokenConfig::default())
        .session_store(store.clone())
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let tokens = Arc::new(CustomerTokenEndpoint::new(
        minter.clone(),
        Arc::new(Directory),
        CustomerTokenSettings::default()
            .with_failure_limits(2, 50, Duration::from_secs(60))
            .with_revocations(revocations),
    ));
    let sessions = Arc::new(CustomerSessions::new(
        CustomerSessionSettings::new(store, "acct-1")
            .with_public_client("storefront")
            .with_anonymous_limits(
                ThrottleRule::new(2, Duration::from_secs(60)),
                ThrottleRule::new(100, Duration::from_secs(60)),
            )
            .with_cookie("shop_session")
            .with_customers(Arc::new(Directory)),
    ));
    Fixture {
        verifier,
        minter,
        tokens,
        sessions,
    }
}

impl Fixture {
    fn app_token(&self) -> String {
        let grant = AccessGrant {
            client_id: "backend",
            account: "acct-1",
            scope: "customer:read customer:write orders:read",
            lifetime: Duration::from_secs(600),
            jkt: None,
        };
        format!("Bearer {}", self.minter.access_token(&grant).unwrap().token)
    }
}

#[derive(Clone, Copy, Debug)]
enum Fw {
    Axum,
    Actix,
}

/// A response: status, `Set-Cookie`/`Retry-After` if any, JSON body (or null).
#[derive(Debug)]
struct Answer {
    status: u16,
    cookie: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn call(
    f: &Fixture,
    fw: Fw,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    match fw {
        Fw::Axum => {
            let app = tollgate::issuer::customer_token_routes(f.tokens.clone())
                .merge(tollgate::issuer::customer_sessions_router(
                    f.sessions.clone(),
                ))
                .layer(tollgate::tower::AuthLayer::optional(f.verifier.clone()));
            let mut req = http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json");
            for (n, v) in headers {
                req = req.header(*n, *v);
            }
            let mut req = req.body(axum::body::Body::from(body)).unwrap();
            req.extensions_mut()
                .insert(tollgate::issuer::ClientAddr("203.0.113.9".parse().unwrap()));
            let res = app.oneshot(req).await.unwrap();
            let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            let (cookie, retry_after) = (header("set-cookie"), header("retry-after"));
            let status = res.status().as_u16();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            Answer {
                status,
                cookie,
                retry_after,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            }
        }
        Fw::Actix => {
            let app = atest::init_service(
                actix_web::App::new().service(
                    actix_web::web::scope("")
                        .wrap(tollgate::actix::AuthMiddleware::optional(
                            f.verifier.clone(),
                        ))
                        .configure(tollgate::issuer::actix::customer_tokens(f.tokens.clone()))
                        .configure(tollgate::issuer::actix::customer_sessions(
                            f.sessions.clone(),
                        )),
                ),
            )
            .await;
            let mut req = atest::TestRequest::default()
                .method(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap())
                .uri(path)
                .peer_addr("203.0.113.9:4000".parse().unwrap())
                .insert_header(("content-type", "application/json"));
            for (n, v) in headers {
                req = req.insert_header((*n, *v));
            }
            let res = atest::call_service(&app, req.set_payload(body).to_request()).await;
            let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            let (cookie, retry_after) = (header("set-cookie"), header("retry-after"));
            let status = res.status().as_u16();
            let bytes = atest::read_body(res).await;
            Answer {
                status,
                cookie,
                retry_after,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            }
        }
    }
}

const BOTH: [Fw; 2] = [Fw::Axum, Fw::Actix];

/// Logout revokes the customer token until the customer token's own
/// `exp`, not the pair's: with an access token that expires first, a
/// revocation lasting only as long would lapse while the customer token
/// still works with the app's next access token.
#[actix_web::test]
async fn logout_revokes_the_customer_token_until_its_own_expiry() {
    for fw in BOTH {
        let recorded = Arc::new(Recorded::default());
        let f = fixture_with(recorded.clone());
        // The app's token lives 600 s, the customer token 3,600 s.
        let app = f.app_token();
        let auth = [("authorization", app.as_str())];
        let login = json!({"data": {"email": "ron@example.org", "password": "correct-horse"}});
        let a = call(&f, fw, "POST", "/customers/tokens", &auth, Some(login)).await;
        assert_eq!(a.status, 200, "{fw:?} {a:?}");
        let ct = a.body["data"]["token"].as_str().unwrap().to_owned();
        let (jti, expires) = (
            a.body["data"]["id"].as_str().unwrap().to_owned(),
            a.body["data"]["expires"].as_u64().unwrap(),
        );
        let as_ron = [("authorization", app.as_str()), ("x-customer-token", &ct)];
        let a = call(&f, fw, "DELETE", "/customers/tokens/current", &as_ron, None).await;
        assert_eq!(a.status, 204, "{fw:?} {a:?}");
        assert_eq!(
            *recorded.revoked.lock().unwrap(),
            [(jti, expires)],
            "{fw:?}: revoked until the customer token's exp"
        );
    }
}

#[actix_web::test]
async fn customer_login_logout_and_failure_budget() {
    for fw in BOTH {
        let f = fixture();
        let app = f.app_token();
        let auth = [("authorization", app.as_str())];
        // Without the app's token: 401; a customer's own token cannot log in.
        let a = call(&f, fw, "POST", "/customers/tokens", &[], Some(json!({}))).await;
        assert_eq!(a.status, 401, "{fw:?} {a:?}");
        let login = json!({"data": {"email": "ron@example.org", "password": "correct-horse"}});
        let a = call(
            &f,
            fw,
            "POST",
            "/customers/tokens",
            &auth,
            Some(login.clone()),
        )
        .await;
        assert_eq!(a.status, 200, "{fw:?} {a:?}");
        assert_eq!(a.body["data"]["customer_id"], "cus_ron");
        let ct = a.body["data"]["token"].as_str().unwrap().to_owned();
        let as_ron = [("authorization", app.as_str()), ("x-customer-token", &ct)];
        let a = call(&f, fw, "DELETE", "/customers/tokens/current", &as_ron, None).await;
        assert_eq!(a.status, 204, "{fw:?} {a:?}");
        let a = call(&f, fw, "DELETE", "/customers/tokens/current", &as_ron, None).await;
        assert_eq!(a.status, 401, "{fw:?}: revoked");
        // Malformed body, then two wrong passwords use up the budget of
        // this (email, address): even the right password now waits.
        let a = call(&f, fw, "POST", "/customers/tokens", &auth, Some(json!([1]))).await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (400, Some("invalid_request"))
        );
        let wrong = json!({"email": "ron@example.org", "password": "nope"});
        for _ in 0..2 {
            let a = call(
                &f,
                fw,
                "POST",
                "/customers/tokens",
                &auth,
                Some(wrong.clone()),
            )
            .await;
            assert_eq!(
                (a.status, a.body["error"].as_str()),
                (401, Some("invalid_grant")),
                "{fw:?}"
            );
        }
        let a = call(&f, fw, "POST", "/customers/tokens", &auth, Some(login)).await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (429, Some("slow_down")),
            "{fw:?}"
        );
        assert!(a.retry_after.is_some());
        // Too large a body: 413.
        let big = json!({"email": "x".repeat(9000), "password": "y"});
        let a = call(&f, fw, "POST", "/customers/tokens", &auth, Some(big)).await;
        assert_eq!(a.status, 413, "{fw:?}");
    }
}

/// Wrong passwords sent at once get no more guesses than the budget (each
/// spends an attempt before its check), and right ones give theirs back.
#[actix_web::test]
async fn concurrent_guesses_and_the_failure_budget() {
    for fw in BOTH {
        let f = fixture();
        let app = f.app_token();
        let auth = [("authorization", app.as_str())];
        let login = json!({"data": {"email": "ron@example.org", "password": "correct-horse"}});
        for _ in 0..4 {
            let a = call(
                &f,
                fw,
                "POST",
                "/customers/tokens",
                &auth,
                Some(login.clone()),
            )
            .await;
            assert_eq!(a.status, 200, "{fw:?}: own logins use no budget: {a:?}");
        }
        let guesses = (0..16).map(|i| {
            let (f, auth) = (&f, &auth);
            async move {
                let wrong = json!({"email": "ron@example.org", "password": format!("guess-{i}")});
                call(f, fw, "POST", "/customers/tokens", auth, Some(wrong))
                    .await
                    .status
            }
        });
        let statuses = futures_util::future::join_all(guesses).await;
        let checked = statuses.iter().filter(|s| **s == 401).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((checked, limited), (2, 14), "{fw:?}: {statuses:?}");
    }
}

#[actix_web::test]
async fn customer_sessions_onboard_bind_and_revoke() {
    for fw in BOTH {
        let f = fixture();
        let app = f.app_token();
        let backend = [("authorization", app.as_str())];
        // Anonymous: only a known public client, two per address.
        let a = call(
            &f,
            fw,
            "POST",
            "/customer-sessions",
            &[],
            Some(json!({"client_id": "unknown"})),
        )
        .await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (401, Some("invalid_client")),
            "{fw:?}"
        );
        let anonymous = Some(json!({"client_id": "storefront"}));
        let a = call(&f, fw, "POST", "/customer-sessions", &[], anonymous.clone()).await;
        assert_eq!(a.status, 201, "{fw:?} {a:?}");
        assert!(a.body["data"]["customer_id"].is_null());
        assert_eq!(a.body["data"]["scopes"], "customer:write");
        assert!(a.cookie.unwrap().starts_with("shop_session=sess_"));
        let sid = a.body["data"]["id"].as_str().unwrap().to_owned();
        let a = call(&f, fw, "POST", "/customer-sessions", &[], anonymous.clone()).await;
        assert_eq!(a.status, 201, "{fw:?}");
        let a = call(&f, fw, "POST", "/customer-sessions", &[], anonymous).await;
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (429, Some("slow_down")),
            "{fw:?}"
        );
        assert!(a.retry_after.is_some());

        // The session reads itself; it may not take over an existing
        // customer; the backend may bind one, exactly once.
        let session = [("x-session-id", sid.as_str())];
        let a = call(&f, fw, "GET", "/customer-sessions/current", &session, None).await;
        assert_eq!(
            (a.status, a.body["data"]["id"].as_str()),
            (200, Some(sid.as_str()))
        );
        let path = format!("/customer-sessions/{sid}");
        let ron = Some(json!({"customer_id": "cus_ron"}));
        let a = call(&f, fw, "PATCH", &path, &session, ron.clone()).await;
        assert_eq!(a.status, 403, "{fw:?} {a:?}");
        let a = call(&f, fw, "PATCH", &path, &backend, ron.clone()).await;
        assert_eq!(
            (a.status, a.body["data"]["customer_id"].as_str()),
            (200, Some("cus_ron")),
            "{fw:?} {a:?}"
        );
        assert_eq!(
            a.body["data"]["scopes"],
            "customer:read customer:write orders:read orders:write"
        );
        let a = call(&f, fw, "PATCH", &path, &backend, ron).await;
        assert_eq!(a.status, 409, "{fw:?}");
        let a = call(&f, fw, "PATCH", &path, &backend, Some(json!({}))).await;
        assert_eq!(a.status, 400, "{fw:?}");
        let a = call(&f, fw, "PATCH", &path, &[], Some(json!({}))).await;
        assert_eq!(a.status, 401, "{fw:?}: signed out");

        // Backend sessions: for a known customer only.
        let a = call(
            &f,
            fw,
            "POST",
            "/customer-sessions",
            &backend,
            Some(json!({"customer_id": "cus_nobody"})),
        )
        .await;
        assert_eq!(a.status, 404, "{fw:?}");
        let a = call(
            &f,
            fw,
            "POST",
            "/customer-sessions",
            &backend,
            Some(json!({"customer_id": "cus_ron"})),
        )
        .await;
        assert_eq!(
            (a.status, a.body["data"]["customer_id"].as_str()),
            (201, Some("cus_ron")),
            "{fw:?}"
        );

        // Revoked: gone, cookie cleared, the id no longer authenticates.
        let a = call(
            &f,
            fw,
            "DELETE",
            "/customer-sessions/current",
            &session,
            None,
        )
        .await;
        assert_eq!(a.status, 204, "{fw:?} {a:?}");
        assert!(a.cookie.unwrap().contains("Max-Age=0"));
        let a = call(&f, fw, "GET", "/customer-sessions/current", &session, None).await;
        assert_eq!(a.status, 401, "{fw:?}");
    }
}
