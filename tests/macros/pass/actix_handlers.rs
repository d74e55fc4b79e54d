use actix_web::{HttpResponse, web};
use tollgate::{Auth, Require};

tollgate::scopes! {
    pub OrdersWrite = "orders:write";
}

#[tollgate::require("orders:write")]
async fn create(auth: Auth) -> HttpResponse {
    HttpResponse::Created().body(auth.client_id().unwrap_or_default().to_owned())
}

#[tollgate::require(any("orders:read", "admin:*"), customer)]
async fn list(path: web::Path<String>, body: String) -> HttpResponse {
    HttpResponse::Ok().body(format!("{path}{body}"))
}

async fn typed(_: Require<OrdersWrite>, auth: Auth) -> HttpResponse {
    HttpResponse::Ok().json(&*auth)
}

fn main() {
    let _app = actix_web::App::new()
        .route("/orders", web::post().to(create))
        .route("/orders/{id}", web::get().to(list))
        .route("/typed", web::get().to(typed));
}
