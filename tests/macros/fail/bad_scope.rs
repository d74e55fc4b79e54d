#[tollgate::require("orders::write")]
async fn create() -> &'static str {
    "created"
}

fn main() {}
