//! One table of cases, run against an axum app and an actix-web app built
//! from the same configuration. Each case states the expected status,
//! `WWW-Authenticate` and JSON `error`; both frameworks must produce exactly
//! that, so any framework difference fails the suite.
#![cfg(all(feature = "actix", feature = "axum", feature = "macros"))]

mod common;

use actix_web::test as atest;
use axum::body::Body;
use common::*;
use http_body_util::BodyExt;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use std::sync::Arc;
use tollgate::config::CustomerTokenConfig;
use tollgate::session::{MemoryStore, NewSession, SessionStore};
use tollgate::{Auth, AuthError, Authenticator, Customer, IssuerConfig, Require};
use tower::ServiceExt;

tollgate::scopes! {
    OrdersRead = "orders:read";
    OrdersWrite = "orders:write";
    CustomerRead = "customer:read";
}

fn authenticator(store: Arc<dyn SessionStore>) -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .customer_tokens(CustomerTokenConfig::default())
        .session_store(store)
        .build()
        .unwrap()
}

fn axum_app(auth: Authenticator) -> axum::Router {
    use axum::extract::Path;
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/whoami",
            get(|Auth(ctx): Auth| async move { axum::Json(ctx) }),
        )
        .route(
            "/orders",
            get(|_: Require<OrdersRead>| async { "orders" })
                .post(|_: Require<OrdersWrite>| async { "created" }),
        )
        .route(
            "/customers/{id}",
            get(
                |_: Require<CustomerRead>, auth: Auth, Path(id): Path<String>| async move {
                    auth.ensure_customer(&id)?;
                    Ok::<_, AuthError>(id)
                },
            ),
        )
        .route("/me", get(|c: Customer| async move { c.id().to_owned() }))
        .layer(tollgate::tower::AuthLayer::required(auth))
}

fn actix_app(
    auth: Authenticator,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use actix_web::{HttpResponse, web};
    actix_web::App::new()
        .wrap(tollgate::actix::AuthMiddleware::required(auth))
        .route(
            "/whoami",
            web::get().to(|Auth(ctx): Auth| async move { HttpResponse::Ok().json(&ctx) }),
        )
        .route(
            "/orders",
            web::get().to(|_: Require<OrdersRead>| async { "orders" }),
        )
        .route(
            "/orders",
            web::post().to(|_: Require<OrdersWrite>| async { "created" }),
        )
        .route(
            "/customers/{id}",
            web::get().to(
                |_: Require<CustomerRead>, auth: Auth, id: web::Path<String>| async move {
                    auth.ensure_customer(&id)?;
                    Ok::<_, AuthError>(id.into_inner())
                },
            ),
        )
        .route(
            "/me",
            web::get().to(|c: Customer| async move { c.id().to_owned() }),
        )
}

#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    www_authenticate: Option<String>,
    error: Option<String>,
    body: String,
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, Vec<u8>)>,
    status: u16,
    /// Expected `WWW-Authenticate`: exact, or `None` for absent.
    challenge: Option<String>,
    error: Option<&'static str>,
}

fn challenge(code: &str, desc: &str) -> Option<String> {
    Some(format!(
        "Bearer realm=\"tollgate\", error=\"{code}\", error_description=\"{desc}\""
    ))
}

fn bearer(t: &str) -> (&'static str, Vec<u8>) {
    ("authorization", format!("Bearer {t}").into_bytes())
}

fn customer_claims(customer: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "customer_id": customer, "client_id": "client-123",
        "account_id": "acct-9", "token_use": "customer", "exp": now() + 300})
}

async fn cases(store: &Arc<dyn SessionStore>) -> Vec<Case> {
    let mut all_scopes = claims();
    all_scopes["scope"] = json!("orders:read orders:write customer:read customer:write");
    let good = mint(Algorithm::HS256, None, &all_scopes);
    let read_only = mint(Algorithm::HS256, None, &claims());
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    let expired = mint(Algorithm::HS256, None, &c);
    let mut c = claims();
    c["aud"] = json!("someone-else");
    let wrong_aud = mint(Algorithm::HS256, None, &c);
    let (msg, _) = good.rsplit_once('.').unwrap();
    let bad_sig = format!("{msg}.{}", b64([7u8; 32]));
    let none_alg = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(claims().to_string())
    );
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    let mut other_app = customer_claims("cust-1");
    other_app["client_id"] = json!("other-app");
    let ct_other_app = mint(Algorithm::HS256, None, &other_app);
    let session = store
        .create(NewSession::for_customer(
            "acct-9",
            "cust-1",
            "customer:read orders:read",
        ))
        .await
        .unwrap();
    let anon = store
        .create(NewSession::anonymous("acct-9", "customer:read"))
        .await
        .unwrap();
    let unknown_session = tollgate::session::SessionId::generate().unwrap();

    let invalid = |desc: &str| challenge("invalid_token", desc);
    let scope_err = |scope: &str| {
        Some(format!(
            "Bearer realm=\"tollgate\", error=\"insufficient_scope\", error_description=\"the credential lacks a required scope\", scope=\"{scope}\""
        ))
    };
    let forbidden = |desc: &str| challenge("insufficient_scope", desc);
    let bare = Some("Bearer realm=\"tollgate\"".to_string());
    let h = |k: &'static str, v: &str| (k, v.as_bytes().to_vec());

    // DPoP (RFC 9449): binding and scheme must agree, and a DPoP-scheme
    // token needs its proof. The proof itself is covered in tests/dpop.rs.
    let mut c = claims();
    c["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let dpop_bound = mint(Algorithm::HS256, None, &c);
    let algs = tollgate::dpop::PROOF_ALGORITHMS;
    let dpop_challenge = |code: &str, desc: &str| {
        Some(format!(
            "DPoP realm=\"tollgate\", algs=\"{algs}\", error=\"{code}\", error_description=\"{desc}\""
        ))
    };

    vec![
        Case {
            name: "dpop-bound token sent as bearer",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&dpop_bound)],
            status: 401,
            challenge: challenge(
                "invalid_token",
                "the token is DPoP-bound; present it with the DPoP scheme and a proof",
            ),
            error: Some("invalid_token"),
        },
        Case {
            name: "dpop scheme without a proof",
            method: "GET",
            path: "/whoami",
            headers: vec![h("authorization", &format!("DPoP {dpop_bound}"))],
            status: 401,
            challenge: dpop_challenge("invalid_dpop_proof", "the DPoP proof is missing"),
            error: Some("invalid_dpop_proof"),
        },
        Case {
            name: "dpop proof that is not a JWT",
            method: "GET",
            path: "/whoami",
            headers: vec![
                h("host", "api.test"),
                h("authorization", &format!("DPoP {dpop_bound}")),
                h("dpop", "not-a-proof"),
            ],
            status: 401,
            challenge: dpop_challenge(
                "invalid_dpop_proof",
                "the DPoP proof is not a well-formed JWS",
            ),
            error: Some("invalid_dpop_proof"),
        },
        Case {
            name: "missing",
            method: "GET",
            path: "/whoami",
            headers: vec![],
            status: 401,
            challenge: bare.clone(),
            error: Some("unauthorized"),
        },
        Case {
            name: "basic scheme",
            method: "GET",
            path: "/whoami",
            headers: vec![h("authorization", "Basic dXNlcjpwYXNz")],
            status: 401,
            challenge: bare.clone(),
            error: Some("unauthorized"),
        },
        Case {
            name: "valid",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&good)],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "lowercase bearer",
            method: "GET",
            path: "/orders",
            headers: vec![h("authorization", &format!("bearer {good}"))],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "duplicate authorization",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&good), bearer(&good)],
            status: 400,
            challenge: challenge("invalid_request", "more than one Authorization header"),
            error: Some("invalid_request"),
        },
        Case {
            name: "empty bearer",
            method: "GET",
            path: "/whoami",
            headers: vec![h("authorization", "Bearer ")],
            status: 400,
            challenge: challenge("invalid_request", "the credential is empty"),
            error: Some("invalid_request"),
        },
        Case {
            name: "malformed bearer",
            method: "GET",
            path: "/whoami",
            headers: vec![h("authorization", "Bearer a b")],
            status: 400,
            challenge: challenge("invalid_request", "a credential header is malformed"),
            error: Some("invalid_request"),
        },
        Case {
            name: "garbage token",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer("garbage")],
            status: 401,
            challenge: invalid("the token is not a compact JWS (three dot-separated parts)"),
            error: Some("invalid_token"),
        },
        Case {
            name: "bad signature",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&bad_sig)],
            status: 401,
            challenge: invalid("the token signature is invalid"),
            error: Some("invalid_token"),
        },
        Case {
            name: "alg none",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&none_alg)],
            status: 401,
            challenge: invalid("the token is not a compact JWS (three dot-separated parts)"),
            error: Some("invalid_token"),
        },
        Case {
            name: "expired",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&expired)],
            status: 401,
            challenge: invalid("expired"),
            error: Some("invalid_token"),
        },
        Case {
            name: "wrong audience",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&wrong_aud)],
            status: 401,
            challenge: invalid("the token audience is not accepted"),
            error: Some("invalid_token"),
        },
        Case {
            name: "oversized",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&"a".repeat(9000))],
            status: 401,
            challenge: invalid("the token exceeds the size limit"),
            error: Some("invalid_token"),
        },
        Case {
            name: "scope ok",
            method: "GET",
            path: "/orders",
            headers: vec![bearer(&read_only)],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "insufficient scope",
            method: "POST",
            path: "/orders",
            headers: vec![bearer(&read_only)],
            status: 403,
            challenge: scope_err("orders:write"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "customer pair",
            method: "GET",
            path: "/me",
            headers: vec![bearer(&good), h("x-customer-token", &ct)],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "customer own record",
            method: "GET",
            path: "/customers/cust-1",
            headers: vec![bearer(&good), h("x-customer-token", &ct)],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "customer other record",
            method: "GET",
            path: "/customers/cust-2",
            headers: vec![bearer(&good), h("x-customer-token", &ct)],
            status: 403,
            challenge: forbidden("the caller may only access its own customer"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "customer token of another app",
            method: "GET",
            path: "/me",
            headers: vec![bearer(&good), h("x-customer-token", &ct_other_app)],
            status: 403,
            challenge: forbidden("the customer token belongs to another app or account"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "customer token as bearer",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer(&ct)],
            status: 401,
            challenge: invalid("a customer token cannot be used as an access token"),
            error: Some("invalid_token"),
        },
        Case {
            name: "access token as customer token",
            method: "GET",
            path: "/me",
            headers: vec![bearer(&good), h("x-customer-token", &good)],
            status: 401,
            challenge: invalid("the token is not a customer token"),
            error: Some("invalid_token"),
        },
        Case {
            name: "customer token alone",
            method: "GET",
            path: "/me",
            headers: vec![h("x-customer-token", &ct)],
            status: 401,
            challenge: bare.clone(),
            error: Some("unauthorized"),
        },
        Case {
            name: "app caller on customer route",
            method: "GET",
            path: "/me",
            headers: vec![bearer(&good)],
            status: 403,
            challenge: forbidden("a customer-bound credential is required"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "session",
            method: "GET",
            path: "/me",
            headers: vec![h("x-session-id", session.id.as_str())],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "session lacks scope",
            method: "POST",
            path: "/orders",
            headers: vec![h("x-session-id", session.id.as_str())],
            status: 403,
            challenge: scope_err("orders:write"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "unknown session",
            method: "GET",
            path: "/me",
            headers: vec![h("x-session-id", unknown_session.as_str())],
            status: 401,
            challenge: invalid("unknown or expired session"),
            error: Some("invalid_token"),
        },
        Case {
            name: "malformed session",
            method: "GET",
            path: "/me",
            headers: vec![h("x-session-id", "sess_nope")],
            status: 401,
            challenge: invalid("the session id is malformed"),
            error: Some("invalid_token"),
        },
        Case {
            name: "anonymous session on customer route",
            method: "GET",
            path: "/me",
            headers: vec![h("x-session-id", anon.id.as_str())],
            status: 403,
            challenge: forbidden("a customer-bound credential is required"),
            error: Some("insufficient_scope"),
        },
        Case {
            // Off by default: a preflight gets no free pass through the layer.
            name: "cors preflight (pass-through off by default)",
            method: "OPTIONS",
            path: "/orders",
            headers: vec![
                h("access-control-request-method", "POST"),
                h("origin", "https://shop.example"),
            ],
            status: 401,
            challenge: bare.clone(),
            error: Some("unauthorized"),
        },
    ]
}

async fn via_axum(app: &axum::Router, case: &Case) -> Outcome {
    let mut req = http::Request::builder().method(case.method).uri(case.path);
    for (k, v) in &case.headers {
        req = req.header(*k, http::HeaderValue::from_bytes(v).unwrap());
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let www = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    outcome(status, www, body)
}

fn outcome(status: u16, www_authenticate: Option<String>, body: String) -> Outcome {
    let error = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned));
    Outcome {
        status,
        www_authenticate,
        error,
        body,
    }
}

#[actix_web::test]
async fn axum_and_actix_answer_every_case_identically() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let auth = authenticator(store.clone());
    let axum = axum_app(auth.clone());
    let actix = atest::init_service(actix_app(auth)).await;
    let cases = cases(&store).await;
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    for case in &cases {
        let a = via_axum(&axum, case).await;
        let mut req = atest::TestRequest::default()
            .method(case.method.parse().unwrap())
            .uri(case.path);
        for (k, v) in &case.headers {
            req = req.append_header((
                *k,
                actix_web::http::header::HeaderValue::from_bytes(v).unwrap(),
            ));
        }
        let res = atest::call_service(&actix, req.to_request()).await;
        let status = res.status().as_u16();
        let www = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8(atest::read_body(res).await.to_vec()).unwrap();
        let x = outcome(status, www, body);

        for (fw, o) in [("axum", &a), ("actix", &x)] {
            if o.status != case.status
                || o.www_authenticate != case.challenge
                || o.error.as_deref() != case.error
            {
                failures.push(format!(
                    "{} [{fw}]: got {} {:?} {:?}, want {} {:?} {:?}",
                    case.name,
                    o.status,
                    o.www_authenticate,
                    o.error,
                    case.status,
                    case.challenge,
                    case.error
                ));
            }
        }
        if a.status != 200 && a.body != x.body {
            failures.push(format!(
                "{}: error bodies differ: axum {} / actix {}",
                case.name, a.body, x.body
            ));
        }
        if a.status == 200 && case.path == "/me" && a.body != x.body {
            failures.push(format!(
                "{}: customer differs: {} / {}",
                case.name, a.body, x.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
