//! A tonic gRPC service, `orders.Orders` (`List`, `Create`), guarded by
//! tollgate's tower [`AuthLayer`] and a [`GrpcMethodScopesLayer`] table:
//! `List` needs `orders:read`, `Create` `orders:write`, and any other method
//! is refused (deny by default).
//!
//! Refusals are gRPC statuses (HTTP 200, trailers-only): no, bad or expired
//! token → 16 `UNAUTHENTICATED`; a scope the method needs is missing, or the
//! method is not in the table → 7 `PERMISSION_DENIED` (see
//! `tollgate::tower::grpc`). Handlers only read the caller's `AuthContext`
//! from the request extensions.
//!
//! Environment: the same contract as `axum_api` (`TOLLGATE_BIND`,
//! `TOLLGATE_ISSUER`, `TOLLGATE_AUDIENCE`, one of `TOLLGATE_JWKS_URL`,
//! `TOLLGATE_DISCOVERY=1`, `TOLLGATE_HS256_SECRET`, …; with none of the key
//! sources it signs demo tokens with an embedded key and prints one).
//!
//! It prints `listening on http://ADDR` once it accepts connections.

mod common;
mod grpc_proto;

use grpc_proto::{
    CreateOrderRequest, CreateOrderResponse, ListOrdersRequest, ListOrdersResponse, Order, Orders,
    OrdersServer,
};
use std::process::ExitCode;
use tollgate::AuthContext;
use tollgate::policy::scope;
use tollgate::tower::{AuthLayer, GrpcMethodScopesLayer};
use tonic::{Request, Response, Status};

struct OrdersApi;

/// The caller's context. The layers have already checked the method's
/// scopes.
fn context<T>(request: &Request<T>) -> Result<AuthContext, Status> {
    // `AuthLayer::required` admits only authenticated calls, so the context
    // is there unless the layer is missing.
    request
        .extensions()
        .get::<AuthContext>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("credentials are required"))
}

/// The scope each method needs; methods not listed are refused.
fn method_scopes() -> Result<GrpcMethodScopesLayer, String> {
    GrpcMethodScopesLayer::new()
        .method(grpc_proto::LIST, scope("orders:read"))
        .and_then(|m| m.method(grpc_proto::CREATE, scope("orders:write")))
        .map_err(|e| e.to_string())
}

impl Orders for OrdersApi {
    async fn list(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let ctx = context(&request)?;
        Ok(Response::new(ListOrdersResponse {
            orders: vec![Order {
                id: "1".into(),
                item: "coffee".into(),
            }],
            client_id: ctx.client_id().unwrap_or_default().to_owned(),
        }))
    }

    async fn create(
        &self,
        request: Request<CreateOrderRequest>,
    ) -> Result<Response<CreateOrderResponse>, Status> {
        let ctx = context(&request)?;
        let item = request.into_inner().item;
        Ok(Response::new(CreateOrderResponse {
            order: Some(Order {
                id: "2".into(),
                item,
            }),
            client_id: ctx.client_id().unwrap_or_default().to_owned(),
        }))
    }
}

async fn run() -> Result<(), String> {
    let setup = common::setup().await?;
    let method_scopes = method_scopes()?;
    let listener = tokio::net::TcpListener::bind(&setup.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", setup.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if let Some(key) = &setup.demo {
        let token = common::mint_demo_token(key, &setup.config, "orders:read orders:write")?;
        println!("demo token (orders:read orders:write), valid for 1 hour: {token}");
    }
    println!("listening on http://{addr}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    tonic::transport::Server::builder()
        .layer(AuthLayer::required(setup.auth))
        .layer(method_scopes)
        // The layers' refusals need a response body that is `From<String>`;
        // tonic's is not, axum's is (and wraps tonic's as it is).
        .layer(tower::util::MapResponseLayer::new(
            |res: http::Response<tonic::body::Body>| res.map(axum::body::Body::new),
        ))
        .add_service(OrdersServer::new(OrdersApi))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
