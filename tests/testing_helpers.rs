//! `tollgate::testing` against real apps: an axum `Router` behind
//! `AuthLayer` (the routes of `examples/axum_api.rs`) and an actix-web app
//! behind `AuthMiddleware`, each fed by the helpers alone.
#![cfg(feature = "axum")]

mod common;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tollgate::MemoryStore;
use tollgate::testing::{
    TestIssuer, axum_request, tamper, with_bearer, with_customer_token, with_session,
};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: Value,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let www_authenticate = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        www_authenticate,
        body,
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn access_tokens_pass_and_their_variants_are_refused() {
    let issuer = TestIssuer::new();
    let app = common::app(issuer.authenticator());

    let token = issuer
        .access_token()
        .scopes("orders:read")
        .client("app-7")
        .account("acct-7")
        .claim("tier", "gold")
        .expires_in(Duration::from_secs(120))
        .build();
    let r = send(&app, axum_request(Method::GET, "/orders", &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&app, axum_request(Method::GET, "/whoami", &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["client_id"], "app-7");
    assert_eq!(r.body["account"], "acct-7");
    assert_eq!(r.body["issuer"], TestIssuer::ISSUER);

    // The scope is checked: orders:write is missing.
    let r = send(&app, axum_request(Method::POST, "/orders", &token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"], "insufficient_scope");

    let expired = issuer
        .access_token()
        .scopes("orders:read")
        .expired()
        .build();
    let r = send(&app, axum_request(Method::GET, "/orders", &expired)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.www_authenticate
            .unwrap()
            .contains("error_description=\"expired\"")
    );

    let tampered = issuer
        .access_token()
        .scopes("orders:read")
        .tampered()
        .build();
    let r = send(&app, axum_request(Method::GET, "/orders", &tampered)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "invalid_token");
    // `tamper` on its own does the same to any token.
    let r = send(&app, axum_request(Method::GET, "/orders", tamper(&token))).await;
    assert_eq!(r.body["error"], "invalid_token");

    // Another API's token, and another issuer's token.
    let other_aud = issuer.access_token().audience("billing-api").build();
    let r = send(&app, axum_request(Method::GET, "/whoami", &other_aud)).await;
    assert_eq!(r.body["error"], "invalid_token");
    let stranger = TestIssuer::new().access_token().build();
    let r = send(&app, axum_request(Method::GET, "/whoami", &stranger)).await;
    assert_eq!(r.body["error"], "invalid_token");

    // with_bearer on a request built by hand.
    let r = send(&app, with_bearer(get("/orders"), &token)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&app, get("/orders")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn customer_token_pairs_name_the_customer() {
    let issuer = TestIssuer::new();
    let app = common::app(issuer.authenticator());

    let pair = issuer
        .customer_token_pair("cust-1")
        .scopes("customer:read orders:read")
        .build();
    let r = send(&app, axum_request(Method::GET, "/whoami", &pair)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["customer"], "cust-1");
    assert_eq!(r.body["client_id"], TestIssuer::CLIENT);

    // The same through with_bearer + with_customer_token.
    let req = with_customer_token(with_bearer(get("/whoami"), &pair.access), &pair.customer);
    assert_eq!(send(&app, req).await.body["customer"], "cust-1");

    // A customer token is never an access token.
    let r = send(&app, axum_request(Method::GET, "/whoami", &pair.customer)).await;
    assert_eq!(r.body["error"], "invalid_token");

    for bad in [
        issuer.customer_token_pair("cust-1").expired().build(),
        issuer.customer_token_pair("cust-1").tampered().build(),
    ] {
        let r = send(&app, axum_request(Method::GET, "/whoami", &bad)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    // Bound to another app than the access token's: valid, but not for this caller.
    let foreign = issuer
        .customer_token_pair("cust-1")
        .customer_with(|t| t.client("other-app"))
        .build();
    let r = send(&app, axum_request(Method::GET, "/whoami", &foreign)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn sessions_created_by_the_helper_authenticate() {
    let issuer = TestIssuer::new();
    let store = Arc::new(MemoryStore::default());
    let auth = issuer
        .authenticator_builder()
        .session_store(store.clone())
        .build()
        .unwrap();
    let app = common::app(auth);

    let sid = issuer.session(&*store, "cust-9", "customer:read").await;
    let r = send(&app, with_session(get("/whoami"), &sid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["customer"], "cust-9");
    assert_eq!(r.body["account"], TestIssuer::ACCOUNT);
    let r = send(&app, axum_request(Method::GET, "/customers/cust-9", &sid)).await;
    assert_eq!(r.status, StatusCode::OK);

    let anonymous = issuer.session(&*store, None, "customer:read").await;
    let r = send(&app, axum_request(Method::GET, "/whoami", anonymous)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["customer"], Value::Null);
}

#[cfg(feature = "actix")]
mod actix {
    use super::*;
    use actix_web::{App, HttpResponse, test as atest, web};
    use tollgate::actix::{Auth, AuthMiddleware};
    use tollgate::testing::actix_request;

    async fn whoami(auth: Auth) -> HttpResponse {
        HttpResponse::Ok().json(&*auth)
    }

    #[actix_web::test]
    async fn the_helpers_drive_an_actix_app() {
        let issuer = TestIssuer::new();
        let store = Arc::new(MemoryStore::default());
        let auth = issuer
            .authenticator_builder()
            .session_store(store.clone())
            .build()
            .unwrap();
        let app = atest::init_service(
            App::new()
                .wrap(AuthMiddleware::required(auth))
                .route("/whoami", web::get().to(whoami)),
        )
        .await;
        let token = issuer.access_token().client("pos-1").build();
        let pair = issuer.customer_token_pair("cust-2").build();
        let sid = issuer.session(&*store, "cust-3", "customer:read").await;
        let cases: Vec<(tollgate::testing::Credential, u16, Option<&str>)> = vec![
            (token.clone().into(), 200, None),
            ((&pair).into(), 200, Some("cust-2")),
            ((&sid).into(), 200, Some("cust-3")),
            (issuer.access_token().expired().build().into(), 401, None),
            (issuer.access_token().tampered().build().into(), 401, None),
            (tollgate::testing::Credential::None, 401, None),
        ];
        for (cred, status, customer) in cases {
            let req = actix_request(atest::TestRequest::get().uri("/whoami"), cred).to_request();
            let res = atest::call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), status);
            if status == 200 {
                let body: Value = atest::read_body_json(res).await;
                assert_eq!(body["customer"].as_str(), customer, "{body}");
            }
        }
    }
}
