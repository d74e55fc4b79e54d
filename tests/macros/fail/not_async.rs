#[tollgate::require("orders:read")]
fn list() -> &'static str {
    "orders"
}

fn main() {}
