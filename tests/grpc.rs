//! `examples/grpc_api.rs` started as a process and called with a real tonic
//! client. Its `GrpcMethodScopesLayer` table: `List` needs `orders:read`,
//! `Create` `orders:write`, every other method is denied.

mod common;
#[path = "../examples/grpc_proto/mod.rs"]
mod grpc_proto;

use common::*;
use grpc_proto::{CreateOrderRequest, ListOrdersRequest, ListOrdersResponse, OrdersClient};
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

    // ...but Create needs `orders:write`: PERMISSION_DENIED, from the
    // method table (before the handler), with the missing scope.
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
    assert!(
        status
            .metadata()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("scope=\"orders:write\""),
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

/// Calls `path` (any method, listed or not) with an empty message.
async fn call(base: &str, path: &'static str, token: Option<&str>) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(base.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let req = match token {
        Some(t) => with_token(ListOrdersRequest {}, t),
        None => Request::new(ListOrdersRequest {}),
    };
    let res: Result<tonic::Response<ListOrdersResponse>, _> = grpc
        .unary(
            req,
            http::uri::PathAndQuery::from_static(path),
            tonic_prost::ProstCodec::default(),
        )
        .await;
    match res {
        Ok(_) => tonic::Status::ok(""),
        Err(status) => status,
    }
}

/// Deny by default: a method the table does not list is PERMISSION_DENIED
/// (7) for every authenticated caller, whatever its scopes, even when no
/// such method exists (the layer runs before tonic routes the call, so it
/// answers 7, not 12 `UNIMPLEMENTED`); without a token it is still 16.
#[tokio::test]
async fn each_method_has_its_scope_and_unlisted_methods_are_denied() {
    let server = start();
    let mut c = claims();
    c["scope"] = json!("orders:read orders:write");
    let both = mint(Algorithm::HS256, None, &c);
    let mut c = claims();
    c["scope"] = json!("orders:write");
    let writer = mint(Algorithm::HS256, None, &c);

    // Listed methods with the right scope pass.
    assert_eq!(
        call(&server.base, grpc_proto::LIST, Some(&both))
            .await
            .code(),
        Code::Ok
    );
    // `orders:write` alone does not list.
    let status = call(&server.base, grpc_proto::LIST, Some(&writer)).await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    for path in [
        "/orders.Orders/Delete",
        "/orders.Orders/list",
        "/billing.Invoices/List",
    ] {
        let status = call(&server.base, path, Some(&both)).await;
        assert_eq!(status.code(), Code::PermissionDenied, "{path}: {status:?}");
        assert_eq!(
            status.message(),
            "insufficient_scope: this method is not open to any caller",
            "{path}"
        );
        let status = call(&server.base, path, None).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{path}: {status:?}");
    }
}
