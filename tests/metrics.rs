//! `examples/shop.rs` serves tollgate's metrics at `GET /metrics`: known
//! traffic shows up as exact counts, and the scrape carries no token, client
//! id or secret.
#![cfg(all(feature = "issuer", feature = "metrics"))]

mod common;

use std::time::Duration;

const CLIENT_ID: &str = "metrics-backend";
const CLIENT_SECRET: &str = "metrics-backend-secret-0123456789";

/// The value of the series `series` (name and labels exactly as rendered).
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[tokio::test]
async fn the_shop_counts_decisions_and_token_requests() {
    let server = common::start_example(
        "shop",
        &[
            ("TOLLGATE_DEMO_CLIENT_ID", CLIENT_ID),
            ("TOLLGATE_DEMO_CLIENT_SECRET", CLIENT_SECRET),
        ],
    );
    let b = &server.base;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // One token, and one refused token request (wrong secret).
    let (status, body) = common::client_credentials(&http, b, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = common::client_credentials(&http, b, CLIENT_ID, "wrong-secret").await;
    assert_eq!(status, 401);

    let get = |auth: Option<String>| {
        let mut req = http.get(format!("{b}/orders"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // 3 without credentials: the shop's layer is optional, so each decision
    // is anonymous and the handler answers 401.
    for _ in 0..3 {
        assert_eq!(get(None).await, 401);
    }
    // 2 with the valid token.
    for _ in 0..2 {
        assert_eq!(get(Some(format!("Bearer {token}"))).await, 200);
    }
    // 2 with a token that is not a JWT.
    for _ in 0..2 {
        assert_eq!(get(Some("Bearer not-a-jwt".into())).await, 401);
    }

    let res = http.get(format!("{b}/metrics")).send().await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "no /metrics: rebuild the shop with `--features metrics` \
         (cargo build --example shop --features issuer,redis,login,metrics,openapi)"
    );
    let scrape = res.text().await.unwrap();

    let decisions = |outcome: &str, reason: &str| {
        value(
            &scrape,
            &format!("tollgate_decisions_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(decisions("allowed", "none"), Some(2.0), "{scrape}");
    assert_eq!(decisions("anonymous", "none"), Some(3.0), "{scrape}");
    assert_eq!(decisions("refused", "invalid_token"), Some(2.0), "{scrape}");
    assert_eq!(decisions("refused", "missing"), None, "{scrape}");
    assert_eq!(
        value(&scrape, "tollgate_credentials_total{kind=\"access_token\"}"),
        Some(4.0),
        "{scrape}"
    );
    let token_endpoint = |result: &str| {
        value(
            &scrape,
            &format!(
                "tollgate_token_endpoint_total{{grant=\"client_credentials\",result=\"{result}\"}}"
            ),
        )
    };
    assert_eq!(token_endpoint("ok"), Some(1.0), "{scrape}");
    assert_eq!(token_endpoint("invalid_client"), Some(1.0), "{scrape}");
    // The second valid request was a cache hit.
    assert!(
        value(&scrape, "tollgate_token_cache_total{result=\"hit\"}").unwrap_or(0.0) >= 1.0,
        "{scrape}"
    );
    // The shop verifies its own tokens through its JWKS: one key, fetched
    // moments ago.
    assert_eq!(
        value(&scrape, "tollgate_jwks_keys{issuer_index=\"0\"}"),
        Some(1.0),
        "{scrape}"
    );
    let age = value(
        &scrape,
        "tollgate_jwks_key_set_age_seconds{issuer_index=\"0\"}",
    );
    assert_eq!(age, Some(0.0), "just fetched: {scrape}");
    let confirmed = value(
        &scrape,
        "tollgate_jwks_key_set_confirmed_seconds{issuer_index=\"0\"}",
    )
    .expect("the confirmation time is exported");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - 120.0..=now + 1.0).contains(&confirmed),
        "{confirmed} vs {now}"
    );
    assert!(scrape.contains("tollgate_verify_seconds"), "{scrape}");
    assert!(
        scrape.contains("tollgate_token_endpoint_seconds"),
        "{scrape}"
    );

    // Nothing identifying or secret.
    let signature = token.rsplit('.').next().unwrap();
    for secret in [token.as_str(), signature, CLIENT_ID, CLIENT_SECRET] {
        assert!(!scrape.contains(secret), "the scrape contains {secret:?}");
    }
}
