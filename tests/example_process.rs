//! `examples/axum_api.rs` started as a process and hit with a real HTTP
//! client, through its environment contract.

mod common;

use common::*;
use jsonwebtoken::Algorithm;
use serde_json::json;
use std::time::Duration;

fn start(envs: &[(&str, &str)]) -> ExampleServer {
    start_example("axum_api", envs)
}

/// Runs every `curl` line the example printed (method, URL, bearer token)
/// and expects each to succeed.
async fn assert_printed_curls_work(http: &reqwest::Client, server: &ExampleServer) {
    let curls: Vec<&String> = server
        .stdout_lines
        .iter()
        .filter(|l| l.starts_with("curl "))
        .collect();
    assert_eq!(curls.len(), 4, "{:?}", server.stdout_lines);
    for line in curls {
        let mut words = line.split_whitespace();
        let (method, url) = (words.nth(3).unwrap(), words.next().unwrap());
        let token = line
            .rsplit("Bearer ")
            .next()
            .unwrap()
            .trim_end_matches('\'');
        let res = http
            .request(method.parse().unwrap(), url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{line}: {}", res.status());
    }
}

async fn status_of(
    http: &reqwest::Client,
    method: &str,
    server: &ExampleServer,
    path: &str,
    token: &str,
) -> u16 {
    http.request(method.parse().unwrap(), format!("{}{path}", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn embedded_default_prints_working_curl_lines() {
    let server = start(&[]);
    let http = client();
    assert_printed_curls_work(&http, &server).await;
    let res = http
        .get(format!("{}/whoami", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"tollgate\""
    );
}

#[tokio::test]
async fn environment_contract_with_hs256_secret() {
    let server = start(&[
        ("TOLLGATE_ISSUER", ISSUER),
        ("TOLLGATE_AUDIENCE", AUDIENCE),
        ("TOLLGATE_HS256_SECRET", HMAC_SECRET),
        ("TOLLGATE_SCOPE_CLAIM", "scp"),
        ("TOLLGATE_EXPIRED_STATUS", "498"),
        ("TOLLGATE_LEEWAY_SECS", "0"),
    ]);
    let http = client();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["orders:read", "customer:read"]);
    let token = mint(Algorithm::HS256, None, &c);
    let get = |path: &str, token: &str| {
        http.get(format!("{}{path}", server.base))
            .bearer_auth(token)
            .send()
    };
    let res = get("/whoami", &token).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(body["account"], "acct-9");
    assert_eq!(body["client_id"], "client-123");
    assert_eq!(body["subject"], "client-123");
    assert_eq!(body["scopes"], json!(["orders:read", "customer:read"]));
    assert_eq!(get("/orders", &token).await.unwrap().status(), 200);
    assert_eq!(get("/customers/7", &token).await.unwrap().status(), 200);
    let res = http
        .post(format!("{}/orders", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    c["exp"] = json!(now() - 5);
    let expired = mint(Algorithm::HS256, None, &c);
    let res = get("/whoami", &expired).await.unwrap();
    assert_eq!(res.status().as_u16(), 498);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"expired\""
    );
}

#[tokio::test]
async fn environment_contract_with_jwks_url_and_discovery() {
    let jwks_server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    let server = start(&[
        ("TOLLGATE_ISSUER", ISSUER),
        ("TOLLGATE_AUDIENCE", AUDIENCE),
        ("TOLLGATE_JWKS_URL", &jwks_server.url()),
    ]);
    let http = client();
    let res = http
        .get(format!("{}/orders", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(server);

    let mut c = claims();
    c["iss"] = json!(jwks_server.base);
    let token = mint(Algorithm::RS256, Some("k1"), &c);
    let server = start(&[
        ("TOLLGATE_ISSUER", &jwks_server.base),
        ("TOLLGATE_AUDIENCE", AUDIENCE),
        ("TOLLGATE_DISCOVERY", "1"),
    ]);
    let res = http
        .get(format!("{}/orders", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The actix example: same routes, same environment contract, hit once with
/// a real HTTP client.
#[cfg(all(feature = "actix", feature = "macros"))]
#[tokio::test]
async fn actix_example_serves_the_same_contract() {
    let server = start_example(
        "actix_api",
        &[
            ("TOLLGATE_ISSUER", ISSUER),
            ("TOLLGATE_AUDIENCE", AUDIENCE),
            ("TOLLGATE_HS256_SECRET", HMAC_SECRET),
            ("TOLLGATE_EXPIRED_STATUS", "498"),
        ],
    );
    let http = client();
    let token = mint(Algorithm::HS256, None, &claims());
    let res = http
        .get(format!("{}/whoami", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(body["client_id"], "client-123");
    assert_eq!(body["scopes"], json!(["orders:read", "customer:read"]));
    assert_eq!(
        status_of(&http, "GET", &server, "/orders", &token).await,
        200
    );
    assert_eq!(
        status_of(&http, "POST", &server, "/orders", &token).await,
        403
    );
    assert_eq!(
        status_of(&http, "GET", &server, "/customers/9", &token).await,
        200
    );
    let res = http
        .get(format!("{}/whoami", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"tollgate\""
    );
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    let res = http
        .get(format!("{}/whoami", server.base))
        .bearer_auth(mint(Algorithm::HS256, None, &c))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 498);

    // The embedded default prints curl lines that work against actix too.
    let server = start_example("actix_api", &[]);
    assert_printed_curls_work(&http, &server).await;
}
