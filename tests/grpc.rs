//! `examples/grpc_api.rs` started as a process and called with a real tonic
//! client.

mod common;
#[path = "../examples/grpc_proto/mod.rs"]
mod grpc_proto;

use common::*;
use grpc_proto::{CreateOrderRequest, ListOrdersRequest, OrdersClient};
use jsonwebtoken::Algorithm;
use serde_json::json;
use tonic::{Code, Request};

fn start() -> ExampleServer {
    start_example(
        "grpc_api",
        &[
            ("TOLLGATE_ISSUER", ISSUER),
            ("TOLLGATE_AUDIENCE", AUDIENCE),
            ("TOLLGATE_HS256_SECRET", HMAC_SECRET),
            ("TOLLGATE_EXPIRED_STATUS", "498"),
            ("TOLLGATE_LEEWAY_SECS", "0"),
        ],
    )
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

#[tokio::test]
async fn refusals_are_grpc_statuses_and_the_context_reaches_handlers() {
    let server = start();
    let mut client = OrdersClient::connect(server.base.clone()).await.unwrap();

    // No token: UNAUTHENTICATED, with a message and the challenge.
    let status = client
        .list(Request::new(ListOrdersRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "unauthorized: credentials are required");
    assert_eq!(
        status.metadata().get("www-authenticate").unwrap(),
        "Bearer realm=\"tollgate\""
    );

    // A bad token.
    let status = client
        .list(with_token(ListOrdersRequest {}, "not.a.jwt"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().starts_with("invalid_token: "),
        "{status:?}"
    );

    // An expired token (the HTTP status would be the configured 498).
    let mut c = claims();
    c["exp"] = json!(now() - 5);
    let expired = mint(Algorithm::HS256, None, &c);
    let status = client
        .list(with_token(ListOrdersRequest {}, &expired))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Valid, with `orders:read` only: List works and sees the client id...
    let token = mint(Algorithm::HS256, None, &claims());
    let res = client
        .list(with_token(ListOrdersRequest {}, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.client_id, "client-123");
    assert_eq!(res.orders.len(), 1);

    // ...but Create needs `orders:write`: PERMISSION_DENIED.
    let create = || CreateOrderRequest { item: "tea".into() };
    let status = client
        .create(with_token(create(), &token))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().starts_with("insufficient_scope: "),
        "{status:?}"
    );

    // With `orders:write`, Create works.
    let mut c = claims();
    c["scope"] = json!("orders:write");
    let writer = mint(Algorithm::HS256, None, &c);
    let res = client
        .create(with_token(create(), &writer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.client_id, "client-123");
    assert_eq!(res.order.unwrap().item, "tea");
}
