use axum::routing::{get, post};
use tollgate::{Auth, Require};

tollgate::scopes! {
    pub OrdersWrite = "orders:write";
    pub ReadOrAdmin = any("orders:read", "admin:*");
    CustomerOnly = customer, "customer:read";
}

#[tollgate::require("orders:write")]
async fn create(auth: Auth) -> String {
    auth.client_id().unwrap_or_default().to_owned()
}

#[tollgate::require(any("orders:read", "admin:*"))]
async fn list() -> &'static str {
    "orders"
}

#[tollgate::require(all("orders:read", "customer:read"), customer)]
async fn mine(axum::extract::Path(id): axum::extract::Path<String>, body: String) -> String {
    format!("{id}{body}")
}

async fn typed(_: Require<OrdersWrite>, _: Require<ReadOrAdmin>, _: Require<CustomerOnly>, auth: Auth) -> String {
    auth.client_id().unwrap_or_default().to_owned()
}

fn main() {
    let _app: axum::Router = axum::Router::new()
        .route("/orders", post(create).get(list))
        .route("/mine/{id}", post(mine))
        .route("/typed", get(typed));
}
