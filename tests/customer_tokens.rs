//! Customer tokens beside (or instead of) the app's access token.

mod common;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use common::*;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tollgate::axum::{Auth, require_layer};
use tollgate::config::{CustomerTokenConfig, TokenMarker};
use tollgate::policy::{customer, scope};
use tollgate::tower::AuthLayer;
use tollgate::{AuthError, Authenticator, IssuerConfig};

fn auth_with(ct: CustomerTokenConfig) -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .customer_tokens(ct)
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
            "/orders",
            post(|| async { "created" }).route_layer(require_layer(scope("orders:write"))),
        )
        .route(
            "/me",
            get(|Auth(ctx): Auth| async move { ctx.customer().unwrap_or_default().to_owned() })
                .route_layer(require_layer(customer())),
        )
        .layer(AuthLayer::required(auth))
}

fn app_claims() -> Value {
    let mut c = claims();
    c["scope"] = json!("customer:read customer:write orders:read orders:write admin:read");
    c
}

fn customer_claims(customer: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": customer,
        "customer_id": customer,
        "client_id": "client-123",
        "account_id": "acct-9",
        "token_use": "customer",
        "exp": now() + 300,
    })
}

async fn pair(app: &Router, method: &str, path: &str, access: &str, customer_token: &str) -> Reply {
    let bearer = format!("Bearer {access}");
    send(
        app,
        method,
        path,
        &[
            ("authorization", bearer.as_bytes()),
            ("x-customer-token", customer_token.as_bytes()),
        ],
    )
    .await
}

#[tokio::test]
async fn valid_pair_puts_the_customer_in_context() {
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let access = mint(Algorithm::HS256, None, &app_claims());
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    let r = pair(&app, "GET", "/whoami", &access, &ct).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["customer"], "cust-1");
    assert_eq!(r.body["client_id"], "client-123");
    assert_eq!(
        r.body["credentials"],
        json!(["access_token", "customer_token"])
    );
    // Effective scopes: the app's, intersected with the customer grant.
    let mut scopes: Vec<String> = serde_json::from_value(r.body["scopes"].clone()).unwrap();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "customer:read",
            "customer:write",
            "orders:read",
            "orders:write"
        ]
    );
    assert_eq!(
        pair(&app, "GET", "/customers/cust-1", &access, &ct)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(pair(&app, "GET", "/me", &access, &ct).await.text, "cust-1");
    // `Bearer <token>` in the customer header is accepted too.
    let r = pair(&app, "GET", "/me", &access, &format!("Bearer {ct}")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn another_customers_record_is_403() {
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let access = mint(Algorithm::HS256, None, &app_claims());
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    let r = pair(&app, "GET", "/customers/cust-2", &access, &ct).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), Some("insufficient_scope"));
    // App-level callers keep their normal reach.
    assert_eq!(
        get_bearer(&app, "/customers/cust-2", &access).await.status,
        StatusCode::OK
    );
    // And a customer-only route refuses them.
    assert_eq!(
        get_bearer(&app, "/me", &access).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn token_for_another_app_or_account_is_403() {
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let access = mint(Algorithm::HS256, None, &app_claims());
    for (claim, value) in [
        ("client_id", json!("other-app")),
        ("account_id", json!("other-acct")),
        ("client_id", Value::Null),
    ] {
        let mut c = customer_claims("cust-1");
        if value.is_null() {
            c.as_object_mut().unwrap().remove(claim);
        } else {
            c[claim] = value;
        }
        let ct = mint(Algorithm::HS256, None, &c);
        let r = pair(&app, "GET", "/whoami", &access, &ct).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{claim}");
        assert_eq!(r.error(), Some("insufficient_scope"));
    }
}

#[tokio::test]
async fn type_confusion_is_refused_both_ways() {
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let access = mint(Algorithm::HS256, None, &app_claims());
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    // A customer token as the bearer.
    let r = get_bearer(&app, "/whoami", &ct).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    // An access token in the customer header.
    let r = pair(&app, "GET", "/whoami", &access, &access).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    // A customer-marked token without a customer id.
    let mut c = customer_claims("x");
    c.as_object_mut().unwrap().remove("customer_id");
    let r = pair(
        &app,
        "GET",
        "/whoami",
        &access,
        &mint(Algorithm::HS256, None, &c),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

#[tokio::test]
async fn typ_marker_distinguishes_tokens_from_one_issuer() {
    let app = shop(auth_with(
        CustomerTokenConfig::default()
            .with_marker(TokenMarker::Typ {
                typ: "customer+jwt".into(),
            })
            .with_header("X-Moltin-Customer-Token"),
    ));
    let key = encoding_key(Algorithm::HS256);
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.typ = Some("customer+jwt".into());
    let mut c = customer_claims("cust-7");
    c.as_object_mut().unwrap().remove("token_use");
    let ct = jsonwebtoken::encode(&header, &c, &key).unwrap();
    let access = mint(Algorithm::HS256, None, &app_claims());
    let bearer = format!("Bearer {access}");
    let r = send(
        &app,
        "GET",
        "/me",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-moltin-customer-token", ct.as_bytes()),
        ],
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "cust-7"));
    // The customer+jwt token as a bearer is refused.
    let r = get_bearer(&app, "/whoami", &ct).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn customer_token_alone_needs_the_setting() {
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let r = send(&app, "GET", "/me", &[("x-customer-token", ct.as_bytes())]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let app = shop(auth_with(
        CustomerTokenConfig::default().with_allow_alone(true),
    ));
    let r = send(&app, "GET", "/me", &[("x-customer-token", ct.as_bytes())]).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "cust-1"));
    let r = send(
        &app,
        "GET",
        "/customers/cust-2",
        &[("x-customer-token", ct.as_bytes())],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn scopes_are_the_intersection_with_the_grant() {
    let app = shop(auth_with(
        CustomerTokenConfig::default().with_grant("customer:read orders:read"),
    ));
    let access = mint(Algorithm::HS256, None, &app_claims());
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    // The app holds orders:write; the customer grant lacks it.
    assert_eq!(
        get_bearer(&app, "/whoami", &access).await.status,
        StatusCode::OK
    );
    let bearer = format!("Bearer {access}");
    let r = send(
        &app,
        "POST",
        "/orders",
        &[("authorization", bearer.as_bytes())],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = pair(&app, "POST", "/orders", &access, &ct).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), Some("insufficient_scope"));
}

#[tokio::test]
async fn expired_customer_token_with_valid_app_token_is_401() {
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let access = mint(Algorithm::HS256, None, &app_claims());
    let mut c = customer_claims("cust-1");
    c["exp"] = json!(now() - 3600);
    let r = pair(
        &app,
        "GET",
        "/whoami",
        &access,
        &mint(Algorithm::HS256, None, &c),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    // A good app token never rescues a bad customer token.
    let r = pair(&app, "GET", "/whoami", &access, "garbage").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {access}");
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-customer-token", b"a"),
            ("x-customer-token", b"b"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn separate_customer_issuer() {
    install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .customer_tokens(
            CustomerTokenConfig::default().with_issuers([IssuerConfig::new(
                "https://customers.test",
            )
            .audience("storefront")
            .public_key_pem(
                String::from_utf8(read_key("ed25519.pub.pem")).unwrap(),
                tollgate::Algorithm::EdDSA,
            )]),
        )
        .build()
        .unwrap();
    let app = shop(auth);
    let access = mint(Algorithm::HS256, None, &app_claims());
    let mut c = customer_claims("cust-1");
    c["iss"] = json!("https://customers.test");
    c["aud"] = json!("storefront");
    let ct = mint(Algorithm::EdDSA, None, &c);
    assert_eq!(
        pair(&app, "GET", "/me", &access, &ct).await.status,
        StatusCode::OK
    );
    // A customer token from the access-token issuer is not from the customer issuer.
    let ct = mint(Algorithm::HS256, None, &customer_claims("cust-1"));
    assert_eq!(
        pair(&app, "GET", "/me", &access, &ct).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Binding needs both tokens to *name* the same app and account: two
/// tokens that name neither (`None == None`) are not bound to each other.
#[tokio::test]
async fn binding_requires_both_sides_to_name_app_and_account() {
    let app = shop(auth_with(CustomerTokenConfig::default()));
    let mut access = app_claims();
    let mut ct = customer_claims("cus-1");
    for c in [&mut access, &mut ct] {
        let m = c.as_object_mut().unwrap();
        m.remove("client_id");
        m.remove("account_id");
    }
    let r = pair(
        &app,
        "GET",
        "/whoami",
        &mint(Algorithm::HS256, None, &access),
        &mint(Algorithm::HS256, None, &ct),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Only one side naming them is not enough either.
    let r = pair(
        &app,
        "GET",
        "/whoami",
        &mint(Algorithm::HS256, None, &app_claims()),
        &mint(Algorithm::HS256, None, &ct),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // A numeric customer id is refused, not read as text.
    let mut numeric = customer_claims("cus-1");
    numeric["customer_id"] = json!(12345);
    let r = pair(
        &app,
        "GET",
        "/whoami",
        &mint(Algorithm::HS256, None, &app_claims()),
        &mint(Algorithm::HS256, None, &numeric),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}
