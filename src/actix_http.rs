//! Translation between actix-web 4 (which speaks `http` 0.2) and the `http`
//! 1 types the framework-free handlers take and return. Shared by the
//! actix adapters of the login helper and the issuer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

/// The request line and headers as `http` 1 parts; `None` if actix let
/// through something `http` 1 refuses.
pub(crate) fn parts(req: &HttpRequest) -> Option<http::request::Parts> {
    let mut b = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        b = b.header(name.as_str(), value.as_bytes());
    }
    b.body(()).ok().map(|r| r.into_parts().0)
}

/// An `http` 1 response as an actix response, headers and body unchanged.
pub(crate) fn respond(res: http::Response<Bytes>) -> HttpResponse {
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for (name, value) in res.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(res.into_body())
}
