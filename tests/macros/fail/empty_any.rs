#[tollgate::require(any())]
async fn list() -> &'static str {
    "orders"
}

fn main() {}
