//! The `orders.Orders` gRPC service of `grpc_api`, written by hand: the
//! prost messages and the server/client glue `tonic-build` would generate
//! from this `.proto` (so building needs no `protoc`):
//!
//! ```text
//! syntax = "proto3";
//! package orders;
//! service Orders {
//!   rpc List(ListOrdersRequest) returns (ListOrdersResponse);
//!   rpc Create(CreateOrderRequest) returns (CreateOrderResponse);
//! }
//! message Order { string id = 1; string item = 2; }
//! message ListOrdersRequest {}
//! message ListOrdersResponse { repeated Order orders = 1; string client_id = 2; }
//! message CreateOrderRequest { string item = 1; }
//! message CreateOrderResponse { Order order = 1; string client_id = 2; }
//! ```
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::body::Body;
use tonic_prost::ProstCodec;

pub const LIST: &str = "/orders.Orders/List";
pub const CREATE: &str = "/orders.Orders/Create";

#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub item: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListOrdersRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListOrdersResponse {
    #[prost(message, repeated, tag = "1")]
    pub orders: Vec<Order>,
    #[prost(string, tag = "2")]
    pub client_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateOrderRequest {
    #[prost(string, tag = "1")]
    pub item: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateOrderResponse {
    #[prost(message, optional, tag = "1")]
    pub order: Option<Order>,
    #[prost(string, tag = "2")]
    pub client_id: String,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The handlers, as `tonic-build`'s generated trait would declare them.
pub trait Orders: Send + Sync + 'static {
    fn list(
        &self,
        request: tonic::Request<ListOrdersRequest>,
    ) -> impl Future<Output = Result<tonic::Response<ListOrdersResponse>, Status>> + Send;
    fn create(
        &self,
        request: tonic::Request<CreateOrderRequest>,
    ) -> impl Future<Output = Result<tonic::Response<CreateOrderResponse>, Status>> + Send;
}

/// The server: routes `/orders.Orders/{List,Create}` to an [`Orders`].
#[derive(Debug)]
pub struct OrdersServer<T>(Arc<T>);

impl<T> OrdersServer<T> {
    pub fn new(handlers: T) -> Self {
        Self(Arc::new(handlers))
    }
}

impl<T> Clone for OrdersServer<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> tonic::server::NamedService for OrdersServer<T> {
    const NAME: &'static str = "orders.Orders";
}

impl<T: Orders> tower::Service<http::Request<Body>> for OrdersServer<T> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let handlers = self.0.clone();
        match req.uri().path() {
            LIST => Box::pin(async move {
                let svc = tower::service_fn(move |r| {
                    let handlers = handlers.clone();
                    async move { handlers.list(r).await }
                });
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(svc, req).await)
            }),
            CREATE => Box::pin(async move {
                let svc = tower::service_fn(move |r| {
                    let handlers = handlers.clone();
                    async move { handlers.create(r).await }
                });
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(svc, req).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// The client.
#[derive(Debug, Clone)]
pub struct OrdersClient(tonic::client::Grpc<tonic::transport::Channel>);

impl OrdersClient {
    pub async fn connect(url: String) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(url)?
            .connect()
            .await?;
        Ok(Self(tonic::client::Grpc::new(channel)))
    }

    async fn unary<Req, Res>(
        &mut self,
        path: &'static str,
        request: tonic::Request<Req>,
    ) -> Result<tonic::Response<Res>, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Res: prost::Message + Default + Send + Sync + 'static,
    {
        self.0
            .ready()
            .await
            .map_err(|e| Status::unknown(format!("service not ready: {e}")))?;
        let path = http::uri::PathAndQuery::from_static(path);
        self.0.unary(request, path, ProstCodec::default()).await
    }

    pub async fn list(
        &mut self,
        request: tonic::Request<ListOrdersRequest>,
    ) -> Result<tonic::Response<ListOrdersResponse>, Status> {
        self.unary(LIST, request).await
    }

    pub async fn create(
        &mut self,
        request: tonic::Request<CreateOrderRequest>,
    ) -> Result<tonic::Response<CreateOrderResponse>, Status> {
        self.unary(CREATE, request).await
    }
}
