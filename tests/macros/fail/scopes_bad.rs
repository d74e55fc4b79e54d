tollgate::scopes! {
    pub Good = "orders:read";
    pub Bad = "orders:wr*te";
}

fn main() {}
