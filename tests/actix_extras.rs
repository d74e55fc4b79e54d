//! actix specifics beyond the conformance table: the scope guard routes by
//! scope, `#[require]` runs its check at request time on both frameworks,
//! and `Option<Auth>` is `None` only for anonymous requests.
#![cfg(all(feature = "actix", feature = "axum", feature = "macros"))]

mod common;

use actix_web::{HttpResponse, test as atest, web};
use common::*;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;
use tollgate::actix::{AuthMiddleware, ScopeGuard};
use tollgate::policy::scope;
use tollgate::{Auth, AuthError};

#[tollgate::require("orders:write")]
async fn actix_create() -> HttpResponse {
    HttpResponse::Created().finish()
}

#[tollgate::require(any("orders:write", "admin:write"), customer)]
async fn axum_mine(auth: Auth) -> String {
    auth.customer().unwrap_or_default().to_owned()
}

#[tollgate::require("orders:write")]
async fn axum_create(body: String) -> String {
    body
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

#[actix_web::test]
async fn scope_guard_routes_by_scope() {
    let app = atest::init_service(
        actix_web::App::new()
            .wrap(AuthMiddleware::required(hmac_auth()))
            .route(
                "/orders",
                web::get()
                    .guard(ScopeGuard::new(scope("orders:write")))
                    .to(|| async { "full view" }),
            )
            .route("/orders", web::get().to(|| async { "read-only view" }))
            .route("/create", web::post().to(actix_create)),
    )
    .await;
    let mut writer = claims();
    writer["scope"] = json!("orders:read orders:write");
    for (token, want) in [
        (mint(Algorithm::HS256, None, &writer), "full view"),
        (mint(Algorithm::HS256, None, &claims()), "read-only view"),
    ] {
        let req = atest::TestRequest::get()
            .uri("/orders")
            .insert_header(bearer(&token))
            .to_request();
        let body = atest::call_and_read_body(&app, req).await;
        assert_eq!(body, want);
    }
    // #[require] on an actix handler: 403 without the scope, 201 with it.
    let req = atest::TestRequest::post()
        .uri("/create")
        .insert_header(bearer(&mint(Algorithm::HS256, None, &claims())))
        .to_request();
    let res = atest::call_service(&app, req).await;
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("scope=\"orders:write\"")
    );
    let req = atest::TestRequest::post()
        .uri("/create")
        .insert_header(bearer(&mint(Algorithm::HS256, None, &writer)))
        .to_request();
    assert_eq!(atest::call_service(&app, req).await.status(), 201);
}

#[actix_web::test]
async fn optional_auth_in_actix() {
    let app = atest::init_service(
        actix_web::App::new()
            .wrap(AuthMiddleware::optional(hmac_auth()))
            .route(
                "/",
                web::get().to(|a: Option<Auth>| async move {
                    a.map_or("anonymous".to_owned(), |a| {
                        a.client_id().unwrap_or_default().to_owned()
                    })
                }),
            )
            .route(
                "/strict",
                web::get().to(|a: Auth| async move {
                    Ok::<_, AuthError>(a.client_id().unwrap_or_default().to_owned())
                }),
            ),
    )
    .await;
    let body =
        atest::call_and_read_body(&app, atest::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(body, "anonymous");
    let res =
        atest::call_service(&app, atest::TestRequest::get().uri("/strict").to_request()).await;
    assert_eq!(res.status(), 401);
    let token = mint(Algorithm::HS256, None, &claims());
    let req = atest::TestRequest::get()
        .uri("/")
        .insert_header(bearer(&token))
        .to_request();
    assert_eq!(atest::call_and_read_body(&app, req).await, "client-123");
    let req = atest::TestRequest::get()
        .uri("/")
        .insert_header(("authorization", "Bearer x.y.z"))
        .to_request();
    assert_eq!(atest::call_service(&app, req).await.status(), 401);
}

#[tokio::test]
async fn require_attribute_on_axum_handlers() {
    use axum::routing::{get, post};
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .customer_tokens(tollgate::config::CustomerTokenConfig::default())
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/mine", get(axum_mine))
        .route("/create", post(axum_create))
        .layer(tollgate::tower::AuthLayer::required(auth));
    let mut writer = claims();
    writer["scope"] = json!("orders:read orders:write");
    let w = mint(Algorithm::HS256, None, &writer);
    let r = mint(Algorithm::HS256, None, &claims());
    let h = |t: &str| format!("Bearer {t}");
    let res = send(
        &app,
        "POST",
        "/create",
        &[("authorization", h(&r).as_bytes())],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = send(
        &app,
        "POST",
        "/create",
        &[("authorization", h(&w).as_bytes())],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    // Scope but no customer: 403; with a customer token: 200.
    let res = send(&app, "GET", "/mine", &[("authorization", h(&w).as_bytes())]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let ct = mint(
        Algorithm::HS256,
        None,
        &json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 60, "customer_id": "c-1",
            "client_id": "client-123", "account_id": "acct-9", "token_use": "customer"}),
    );
    let res = send(
        &app,
        "GET",
        "/mine",
        &[
            ("authorization", h(&w).as_bytes()),
            ("x-customer-token", ct.as_bytes()),
        ],
    )
    .await;
    assert_eq!((res.status, res.text.as_str()), (StatusCode::OK, "c-1"));
    // No credentials at all: 401 from the layer.
    assert_eq!(
        send(&app, "GET", "/mine", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}
