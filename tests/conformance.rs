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
        .introspection(tollgate::IntrospectionSettings::new(
            introspection_url(),
            RS_ID,
            RS_SECRET,
        ))
        .build()
        .unwrap()
}

/// The resource server's credentials at the introspection endpoint.
const RS_ID: &str = "resource-server";
const RS_SECRET: &str = "resource-server-secret-0123";

/// A real RFC 7662 endpoint for the introspection rows (as in
/// tests/introspection.rs), started once, on its own thread and runtime so
/// it serves whichever runtime the apps run on. It knows `opaque-active`
/// (`orders:read`), `opaque-customer` (bound to `cust-1`) and fails with 503
/// for `opaque-down`; every other token is inactive.
fn introspection_url() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/introspect", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let router =
                    axum::Router::new().route("/introspect", axum::routing::post(introspect));
                axum::serve(listener, router).await.unwrap();
            });
        });
        url
    })
}

async fn introspect(headers: http::HeaderMap, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    use base64::Engine as _;
    // The resource server authenticates (RFC 7662 §2.1).
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
    let active = |scope: &str| {
        json!({"active": true, "client_id": "client-123", "account_id": "acct-9",
               "sub": "client-123", "scope": scope, "exp": now() + 600, "iss": ISSUER})
    };
    let answer = match token.as_str() {
        "opaque-down" => {
            return (http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
        }
        "opaque-active" => active("orders:read"),
        "opaque-customer" => {
            let mut a = active("customer:read orders:read");
            a["customer_id"] = json!("cust-1");
            a
        }
        _ => json!({"active": false}),
    };
    axum::Json(answer).into_response()
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
        // Opaque tokens through RFC 7662 introspection (see
        // `introspection_url`): the answer becomes the same context a JWT
        // gives, and the same refusals.
        Case {
            name: "introspected: active opaque token",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer("opaque-active")],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "introspected: scope from the answer",
            method: "GET",
            path: "/orders",
            headers: vec![bearer("opaque-active")],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "introspected: active but lacks scope",
            method: "POST",
            path: "/orders",
            headers: vec![bearer("opaque-active")],
            status: 403,
            challenge: scope_err("orders:write"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "introspected: customer from the answer",
            method: "GET",
            path: "/me",
            headers: vec![bearer("opaque-customer")],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "introspected: customer's own record",
            method: "GET",
            path: "/customers/cust-1",
            headers: vec![bearer("opaque-customer")],
            status: 200,
            challenge: None,
            error: None,
        },
        Case {
            name: "introspected: another customer's record",
            method: "GET",
            path: "/customers/cust-2",
            headers: vec![bearer("opaque-customer")],
            status: 403,
            challenge: forbidden("the caller may only access its own customer"),
            error: Some("insufficient_scope"),
        },
        Case {
            name: "introspected: inactive opaque token",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer("opaque-inactive")],
            status: 401,
            challenge: invalid("the token is not active"),
            error: Some("invalid_token"),
        },
        Case {
            // Never 401 for a token that may be valid; 503 has no challenge.
            name: "introspected: endpoint down, nothing cached",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer("opaque-down")],
            status: 503,
            challenge: None,
            error: Some("temporarily_unavailable"),
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
            // Not three dot-separated parts: with introspection configured,
            // an opaque token the endpoint does not know ("alg none" below
            // still covers the "not a compact JWS" refusal).
            name: "garbage token",
            method: "GET",
            path: "/whoami",
            headers: vec![bearer("garbage")],
            status: 401,
            challenge: invalid("the token is not active"),
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

// ------------------------------------------------------- error renderers

/// The platform's own envelope, with 498 for expired tokens and a header.
#[derive(Debug)]
struct Envelope;

impl tollgate::render::ErrorRenderer for Envelope {
    fn render(&self, err: &AuthError) -> tollgate::render::RenderedError {
        tollgate::render::RenderedError::json(
            json!({"errors": [{"code": err.kind().code(), "message": err.description()}]})
                .to_string(),
        )
        .with_header(
            http::HeaderName::from_static("x-error-source"),
            http::HeaderValue::from_static("tollgate"),
        )
        // Ignored: the challenge is the engine's.
        .with_header(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic"),
        )
    }
    fn expired_status(&self) -> Option<tollgate::ExpiredStatus> {
        Some(tollgate::ExpiredStatus::Status498)
    }
}

/// Everything of a refusal a client can see, but the body's bytes.
#[derive(Debug, PartialEq)]
struct Refusal {
    status: u16,
    challenges: Vec<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    extra: Option<String>,
    body: String,
}

fn refusal(status: u16, headers: &http::HeaderMap, body: String) -> Refusal {
    let one = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    Refusal {
        status,
        challenges: headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect(),
        content_type: one("content-type"),
        cache_control: one("cache-control"),
        extra: one("x-error-source"),
        body,
    }
}

/// Each renderer through axum and actix: the same status, challenges and
/// body on both; the status line and challenge are those of the default
/// renderer (but the expired status the envelope chooses); each body has
/// its documented shape.
#[actix_web::test]
async fn every_error_renderer_answers_identically_on_both_frameworks() {
    use tollgate::render::{EmptyBody, ErrorFormat};
    let mut read_only = claims();
    read_only["scope"] = json!("orders:read");
    let mut expired = claims();
    expired["exp"] = json!(now() - 3600);
    let good = mint(Algorithm::HS256, None, &read_only);
    let requests: Vec<(&str, &str, &str, Option<String>)> = vec![
        ("missing", "GET", "/orders", None),
        ("garbage", "GET", "/orders", Some("Bearer not-a-jwt".into())),
        ("malformed", "GET", "/orders", Some("Bearer a b".into())),
        (
            "expired",
            "GET",
            "/orders",
            Some(format!("Bearer {}", mint(Algorithm::HS256, None, &expired))),
        ),
        ("scope", "POST", "/orders", Some(format!("Bearer {good}"))),
    ];
    let build = |which: &str| {
        install_backend();
        let b = Authenticator::builder().issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        );
        let b = match which {
            "json" => b,
            "problem" => b.error_format(ErrorFormat::Problem),
            "empty" => b.error_renderer(EmptyBody),
            "envelope" => b.error_renderer(Envelope),
            _ => unreachable!(),
        };
        b.session_store(Arc::new(MemoryStore::default()))
            .build()
            .unwrap()
    };
    let mut baseline: Vec<Refusal> = Vec::new();
    for which in ["json", "problem", "empty", "envelope"] {
        let auth = build(which);
        let axum = axum_app(auth.clone());
        let actix = atest::init_service(actix_app(auth)).await;
        for (i, (name, method, path, authz)) in requests.iter().enumerate() {
            let mut req = http::Request::builder().method(*method).uri(*path);
            if let Some(a) = authz {
                req = req.header("authorization", a.as_str());
            }
            let res = axum
                .clone()
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let (parts, body) = res.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let a = refusal(
                parts.status.as_u16(),
                &parts.headers,
                String::from_utf8(body.to_vec()).unwrap(),
            );
            let mut req = atest::TestRequest::default()
                .method(method.parse().unwrap())
                .uri(path);
            if let Some(v) = authz {
                req = req.append_header(("authorization", v.as_str()));
            }
            let res = atest::call_service(&actix, req.to_request()).await;
            let mut headers = http::HeaderMap::new();
            for (k, v) in res.headers() {
                headers.append(
                    http::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
                    http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
                );
            }
            let status = res.status().as_u16();
            let body = String::from_utf8(atest::read_body(res).await.to_vec()).unwrap();
            let x = refusal(status, &headers, body);
            assert_eq!(a, x, "{which}/{name}: axum and actix differ");
            assert_eq!(
                a.cache_control.as_deref(),
                Some("no-store"),
                "{which}/{name}"
            );
            if which == "json" {
                baseline.push(a);
                continue;
            }
            let base = &baseline[i];
            assert_eq!(a.challenges, base.challenges, "{which}/{name}: challenge");
            let want_status = if which == "envelope" && *name == "expired" {
                498
            } else {
                base.status
            };
            assert_eq!(a.status, want_status, "{which}/{name}: status");
            let error = serde_json::from_str::<Value>(&base.body).unwrap()["error"].clone();
            match which {
                "problem" => {
                    assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
                    let v: Value = serde_json::from_str(&a.body).unwrap();
                    assert_eq!(v["type"], "about:blank", "{which}/{name}");
                    assert_eq!(v["status"], a.status, "{which}/{name}");
                    assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()));
                    assert!(v["detail"].as_str().is_some_and(|t| !t.is_empty()));
                    assert_eq!(v["error"], error, "{which}/{name}");
                }
                "empty" => {
                    assert_eq!(a.body, "", "{which}/{name}");
                    assert_eq!(a.content_type, None, "{which}/{name}");
                }
                _ => {
                    let v: Value = serde_json::from_str(&a.body).unwrap();
                    assert_eq!(v["errors"][0]["code"], error, "{which}/{name}");
                    assert_eq!(a.extra.as_deref(), Some("tollgate"));
                    assert!(!a.challenges.iter().any(|c| c == "Basic"));
                }
            }
        }
    }
    assert_eq!(baseline.len(), requests.len());
    // The default JSON body, for the record.
    assert_eq!(
        serde_json::from_str::<Value>(&baseline[4].body).unwrap()["scope"],
        "orders:write"
    );
}
