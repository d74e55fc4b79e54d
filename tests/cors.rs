//! tower-http's `CorsLayer` outside the auth layer answers preflights
//! itself; the auth layer (pass-through off by default) never sees them.

mod common;

use common::*;
use http::StatusCode;
use tower::ServiceExt as _;

#[tokio::test]
async fn cors_layer_outside_the_auth_layer_answers_preflights() {
    let app = common::app(hmac_auth()).layer(tower_http::cors::CorsLayer::permissive());
    let preflight = http::Request::builder()
        .method("OPTIONS")
        .uri("/orders")
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.clone().oneshot(preflight).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("access-control-allow-origin"));
    assert!(res.headers().contains_key("access-control-allow-methods"));

    // A real request without credentials is still refused, with CORS headers
    // so the browser can read the 401.
    let get = http::Request::builder()
        .uri("/orders")
        .header("origin", "https://shop.example")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.oneshot(get).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().contains_key("access-control-allow-origin"));
}
