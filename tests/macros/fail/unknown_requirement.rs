#[tollgate::require(admin)]
async fn list() -> &'static str {
    "orders"
}

fn main() {}
