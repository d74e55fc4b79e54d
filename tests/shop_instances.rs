//! Two `examples/shop` processes on one Redis behave as one platform:
//! shared signing keys, sessions, revocations, client deactivation and
//! failure throttles (issue 10 items 12 and 13).
#![cfg(all(feature = "issuer", feature = "redis"))]

mod common;

use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "instances-backend-secret-0123456789";
const ADMIN_SECRET: &str = "instances-admin-secret-0123456789";
const EMAIL: &str = "ann@instances.example";
const PASSWORD: &str = "instances-customer-password";

/// Polls `check` until it is true or `limit` passes; returns the time taken.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test]
async fn two_shops_on_one_redis_act_as_one() {
    if !common::redis_up() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but no Redis on 127.0.0.1:6379"
        );
        eprintln!("SKIPPED: the two-instance test needs a Redis on 127.0.0.1:6379");
        return;
    }
    // A client id of its own per run: deactivations and throttles persist
    // in the shared Redis.
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    let client = format!("inst-{}", common::b64(r));
    let envs = [
        ("TOLLGATE_REDIS_URL", "redis://127.0.0.1:6379"),
        ("TOLLGATE_ISSUER", "http://shop.instances.test"),
        ("TOLLGATE_DEMO_CLIENT_ID", client.as_str()),
        ("TOLLGATE_DEMO_CLIENT_SECRET", SECRET),
        ("TOLLGATE_DEMO_ADMIN_SECRET", ADMIN_SECRET),
        ("TOLLGATE_DEMO_CUSTOMER_EMAIL", EMAIL),
        ("TOLLGATE_DEMO_CUSTOMER_PASSWORD", PASSWORD),
    ];
    let a = common::start_example("shop", &envs);
    let b = common::start_example("shop", &envs);
    let (a, b) = (a.base.clone(), b.base.clone());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // 1. A token minted by A verifies at B (one shared key set).
    let (s, body) = common::client_credentials(&http, &a, &client, SECRET).await;
    assert_eq!(s, 200, "{body}");
    let at = body["access_token"].as_str().unwrap().to_owned();
    let bearer = |t: &str| ("authorization", format!("Bearer {t}"));
    let (s, body) =
        common::http_call(&http, "GET", format!("{b}/orders"), &[bearer(&at)], None).await;
    assert_eq!(s, 200, "A's token at B: {body}");

    // 2. A customer token from A, logged out at A, is refused at B.
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{a}/customers/tokens"),
        &[bearer(&at)],
        Some(json!({"email": EMAIL, "password": PASSWORD})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let ct = body["data"]["token"].as_str().unwrap().to_owned();
    let pair = |ct: &str| vec![bearer(&at), ("x-customer-token", ct.to_owned())];
    let (s, _) = common::http_call(&http, "GET", format!("{b}/orders"), &pair(&ct), None).await;
    assert_eq!(s, 200);
    let (s, body) = common::http_call(
        &http,
        "DELETE",
        format!("{a}/customers/tokens/current"),
        &pair(&ct),
        None,
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let (s, _) = common::http_call(&http, "GET", format!("{a}/orders"), &pair(&ct), None).await;
    assert_eq!(s, 401, "revoked at A, refused at A at once");
    let delay = within(Duration::from_secs(3), || async {
        common::http_call(&http, "GET", format!("{b}/orders"), &pair(&ct), None)
            .await
            .0
            == 401
    })
    .await;
    assert!(delay.is_some(), "a token revoked at A still works at B");
    eprintln!("revocation A -> B took {:?}", delay.unwrap());

    // 3. A session created at A works at B; revoked at A, refused at B.
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{a}/customer-sessions"),
        &[bearer(&at)],
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let sid = body["data"]["id"].as_str().unwrap().to_owned();
    let (s, _) = common::http_call(
        &http,
        "GET",
        format!("{b}/customer-sessions/current"),
        &[("x-session-id", sid.clone())],
        None,
    )
    .await;
    assert_eq!(s, 200, "A's session at B");
    // Revoke it in the shared store (as A's logout would): B must refuse it.
    let store =
        tollgate::session::RedisStore::new(tollgate::session::RedisSettings::default()).unwrap();
    let id = tollgate::session::SessionId::parse(&sid).unwrap();
    assert!(
        tollgate::session::SessionStore::revoke(&store, &id)
            .await
            .unwrap()
    );
    let (s, _) = common::http_call(
        &http,
        "GET",
        format!("{b}/customer-sessions/current"),
        &[("x-session-id", sid)],
        None,
    )
    .await;
    assert_eq!(s, 401, "a revoked session still works at B");

    // 4. Failures at both instances count against one budget (10 per
    //    client and address): 5 at A and 5 at B, then even the right
    //    secret waits, at either instance.
    let ghost = format!("{client}-ghost");
    for base in [&a, &b] {
        for _ in 0..5 {
            let (s, _) =
                common::client_credentials(&http, base, &ghost, "wrong-secret-0123456789").await;
            assert_eq!(s, 401);
        }
    }
    let (s, body) = common::client_credentials(&http, &a, &ghost, "wrong-secret-0123456789").await;
    assert_eq!(s, 429, "A did not see B's failures: {body}");
    let (s, _) = common::client_credentials(&http, &b, &ghost, "wrong-secret-0123456789").await;
    assert_eq!(s, 429);
    // ...while the real client, which never failed, is untouched.
    let (s, _) = common::client_credentials(&http, &b, &client, SECRET).await;
    assert_eq!(s, 200);

    // 5. Deactivation at A is effective at B, cached tokens included.
    let (s, body) = common::client_credentials(&http, &a, "demo-admin", ADMIN_SECRET).await;
    assert_eq!(s, 200, "{body}");
    let admin = body["access_token"].as_str().unwrap().to_owned();
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{a}/admin/clients/{client}/active"),
        &[bearer(&admin)],
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = common::http_call(&http, "GET", format!("{a}/orders"), &[bearer(&at)], None).await;
    assert_eq!(s, 401, "deactivated at A, refused at A at once");
    let delay = within(Duration::from_secs(3), || async {
        common::http_call(&http, "GET", format!("{b}/orders"), &[bearer(&at)], None)
            .await
            .0
            == 401
    })
    .await;
    assert!(
        delay.is_some(),
        "a client deactivated at A still works at B"
    );
    eprintln!("deactivation A -> B took {:?}", delay.unwrap());
    let (s, body) = common::client_credentials(&http, &b, &client, SECRET).await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
}
