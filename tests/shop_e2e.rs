//! `examples/shop.rs` (axum) and `examples/shop_actix.rs` (actix-web)
//! started as processes on ephemeral ports and walked through every flow of
//! their printed walk-through by a real HTTP client, each once with the
//! memory session store and once with Redis.
#![cfg(all(feature = "issuer", feature = "redis"))]

mod common;

use base64::Engine as _;
use serde_json::{Value, json};
use std::time::Duration;

struct Shop {
    server: common::ExampleServer,
    till_secret: String,
}

fn start(example: &str, redis: Option<&str>) -> Shop {
    let mut envs = vec![
        ("TOLLGATE_DEMO_CLIENT_ID", "e2e-backend"),
        (
            "TOLLGATE_DEMO_CLIENT_SECRET",
            "e2e-backend-secret-0123456789",
        ),
        ("TOLLGATE_DEMO_CUSTOMER_EMAIL", "ron@e2e.example"),
        ("TOLLGATE_DEMO_CUSTOMER_PASSWORD", "e2e-customer-password"),
    ];
    if let Some(url) = redis {
        envs.push(("TOLLGATE_REDIS_URL", url));
    }
    let server = common::start_example(example, &envs);
    let till_secret = server
        .stdout_lines
        .iter()
        .find_map(|l| {
            l.split_once("till: till-1 / ")
                .map(|(_, s)| s.trim().to_owned())
        })
        .expect("the walk-through names the till");
    Shop {
        server,
        till_secret,
    }
}

async fn walk(shop: &Shop) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let b = &shop.server.base;

    // 1. client credentials → token → API call.
    let basic = base64::engine::general_purpose::STANDARD
        .encode("e2e-backend:e2e-backend-secret-0123456789");
    let res = http
        .post(format!("{b}/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tok: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    let app = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let auth = |extra: &[(&'static str, String)]| {
        let mut h = vec![("authorization", app.clone())];
        h.extend_from_slice(extra);
        h
    };
    let (s, _) = common::http_call(&http, "GET", format!("{b}/orders"), &auth(&[]), None).await;
    assert_eq!(s, 200);

    // 2. customer login → customer token → own orders only.
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{b}/customers/tokens"),
        &auth(&[]),
        Some(json!({"data": {"type": "token", "email": "ron@e2e.example", "password": "e2e-customer-password"}})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let ron = body["data"]["customer_id"].as_str().unwrap().to_owned();
    let ct = body["data"]["token"].as_str().unwrap().to_owned();
    assert!(body["data"]["expires"].as_u64().is_some());
    let (s, _) = common::http_call(
        &http,
        "POST",
        format!("{b}/customers/tokens"),
        &auth(&[]),
        Some(json!({"email": "ron@e2e.example", "password": "wrong"})),
    )
    .await;
    assert_eq!(s, 401);
    // The app writes one order for Ron and one for nobody, attributed to store-2.
    let (s, order) = common::http_call(
        &http,
        "POST",
        format!("{b}/orders"),
        &auth(&[("x-attribution", "store-2".into())]),
        Some(json!({"customer_id": ron, "items": ["mug"]})),
    )
    .await;
    assert_eq!(
        (s, order["data"]["attribution"].as_str()),
        (201, Some("store-2"))
    );
    let (s, _) = common::http_call(
        &http,
        "POST",
        format!("{b}/orders"),
        &auth(&[("x-attribution", "store-9".into())]),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 403, "an attribution the client may not use");
    let (s, _) = common::http_call(
        &http,
        "POST",
        format!("{b}/orders"),
        &auth(&[]),
        Some(json!({"customer_id": "someone-else"})),
    )
    .await;
    assert_eq!(s, 201);
    let as_ron = auth(&[("x-customer-token", ct.clone())]);
    let (s, body) = common::http_call(&http, "GET", format!("{b}/orders"), &as_ron, None).await;
    assert_eq!(s, 200);
    let orders = body["data"].as_array().unwrap();
    assert!(
        !orders.is_empty() && orders.iter().all(|o| o["customer_id"] == ron.as_str()),
        "{body}"
    );
    assert_eq!(
        common::http_call(&http, "GET", format!("{b}/customers/{ron}"), &as_ron, None)
            .await
            .0,
        200
    );
    assert_eq!(
        common::http_call(
            &http,
            "GET",
            format!("{b}/customers/someone-else"),
            &as_ron,
            None
        )
        .await
        .0,
        403
    );

    // 3. frontend session → onboarding → bound session.
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{b}/customer-sessions"),
        &[],
        Some(json!({"client_id": "demo-storefront"})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let sid = body["data"]["id"].as_str().unwrap().to_owned();
    assert!(body["data"]["customer_id"].is_null());
    let (s, _) = common::http_call(
        &http,
        "POST",
        format!("{b}/customer-sessions"),
        &[],
        Some(json!({"client_id": "unknown"})),
    )
    .await;
    assert_eq!(s, 401);
    let session = vec![("x-session-id", sid.clone())];
    // The anonymous session cannot take over an existing customer.
    let (s, _) = common::http_call(
        &http,
        "PATCH",
        format!("{b}/customer-sessions/{sid}"),
        &session,
        Some(json!({"customer_id": ron})),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        common::http_call(&http, "GET", format!("{b}/orders"), &session, None)
            .await
            .0,
        403
    );
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{b}/customers"),
        &session,
        Some(json!({"name": "Leslie", "email": "leslie@e2e.example", "password": "waffles-and-friends"})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let leslie = body["data"]["id"].as_str().unwrap().to_owned();
    let (s, body) = common::http_call(
        &http,
        "PATCH",
        format!("{b}/customer-sessions/{sid}"),
        &session,
        Some(json!({"customer_id": leslie})),
    )
    .await;
    assert_eq!(
        (s, body["data"]["customer_id"].as_str()),
        (200, Some(leslie.as_str())),
        "{body}"
    );
    let (s, _) = common::http_call(
        &http,
        "PATCH",
        format!("{b}/customer-sessions/{sid}"),
        &session,
        Some(json!({"customer_id": leslie})),
    )
    .await;
    assert_eq!(s, 409, "bound exactly once");
    let (s, body) = common::http_call(
        &http,
        "GET",
        format!("{b}/customer-sessions/current"),
        &session,
        None,
    )
    .await;
    assert_eq!(
        (s, body["data"]["customer_id"].as_str()),
        (200, Some(leslie.as_str()))
    );
    let (s, body) = common::http_call(&http, "GET", format!("{b}/orders"), &session, None).await;
    assert_eq!(
        (s, body["data"].as_array().map(Vec::len)),
        (200, Some(0)),
        "Leslie has no orders"
    );
    assert_eq!(
        common::http_call(
            &http,
            "GET",
            format!("{b}/customers/{leslie}"),
            &session,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        common::http_call(&http, "GET", format!("{b}/customers/{ron}"), &session, None)
            .await
            .0,
        403
    );

    // Backend session for an existing customer.
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{b}/customer-sessions"),
        &auth(&[]),
        Some(json!({"customer_id": ron})),
    )
    .await;
    assert_eq!(
        (s, body["data"]["customer_id"].as_str()),
        (201, Some(ron.as_str()))
    );

    // 4. The legacy till, with basic credentials; 5. insufficient scope.
    let till =
        base64::engine::general_purpose::STANDARD.encode(format!("till-1:{}", shop.till_secret));
    let till = vec![("authorization", format!("Basic {till}"))];
    let (s, body) = common::http_call(
        &http,
        "POST",
        format!("{b}/orders"),
        &till,
        Some(json!({"items": ["pen"]})),
    )
    .await;
    assert_eq!(
        (s, body["data"]["attribution"].as_str()),
        (201, Some("store-1/till-1")),
        "{body}"
    );
    let (s, body) =
        common::http_call(&http, "GET", format!("{b}/customers/{ron}"), &till, None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let wrong = base64::engine::general_purpose::STANDARD.encode("till-1:wrong");
    assert_eq!(
        common::http_call(
            &http,
            "GET",
            format!("{b}/orders"),
            &[("authorization", format!("Basic {wrong}"))],
            None
        )
        .await
        .0,
        401
    );
    // A malformed session id and no credentials at all.
    assert_eq!(
        common::http_call(
            &http,
            "GET",
            format!("{b}/orders"),
            &[("x-session-id", "sess_x".into())],
            None
        )
        .await
        .0,
        401
    );
    assert_eq!(
        common::http_call(&http, "GET", format!("{b}/orders"), &[], None)
            .await
            .0,
        401
    );
    // Discovery and JWKS.
    let (s, doc) = common::http_call(
        &http,
        "GET",
        format!("{b}/.well-known/openid-configuration"),
        &[],
        None,
    )
    .await;
    assert_eq!(
        (s, doc["token_endpoint"].as_str()),
        (200, Some(format!("{b}/oauth/token").as_str()))
    );
}

async fn walk_with_redis(example: &str) {
    if !common::redis_up() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but no Redis on 127.0.0.1:6379"
        );
        eprintln!("SKIPPED: the Redis shop walk-through needs a Redis on 127.0.0.1:6379");
        return;
    }
    walk(&start(example, Some("redis://127.0.0.1:6379"))).await;
}

#[tokio::test]
async fn shop_walkthrough_with_memory_sessions() {
    walk(&start("shop", None)).await;
}

#[tokio::test]
async fn shop_walkthrough_with_redis_sessions() {
    walk_with_redis("shop").await;
}

/// The same walk against the actix-web shop.
#[cfg(feature = "actix")]
#[tokio::test]
async fn shop_actix_walkthrough_with_memory_sessions() {
    walk(&start("shop_actix", None)).await;
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn shop_actix_walkthrough_with_redis_sessions() {
    walk_with_redis("shop_actix").await;
}
