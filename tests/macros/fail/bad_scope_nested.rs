#[tollgate::require(any("orders:read", "orders read"))]
async fn list() -> &'static str {
    "orders"
}

fn main() {}
