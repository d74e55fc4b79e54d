//! Procedural macros for [tollgate](https://docs.rs/tollgate): `#[require]`
//! on handlers and `scopes! {}` for typed requirements. Use them through
//! `tollgate::require` and `tollgate::scopes`.
#![forbid(unsafe_code)]

mod expand;
mod requirement;

use proc_macro::TokenStream;

/// Requires scopes (or a customer-bound caller) before an async handler
/// runs; works on axum and actix-web handlers alike.
///
/// ```ignore
/// #[tollgate::require("orders:write")]
/// async fn create_order(auth: Auth) -> impl IntoResponse { ... }
///
/// #[tollgate::require(any("orders:read", "admin:*"))]
/// #[tollgate::require(all("orders:read", "customer:read"), customer)]
/// ```
///
/// Several arguments must all hold. Scope strings are checked at compile
/// time. The handler gains one leading extractor parameter,
/// `tollgate::Require<_>`, that performs the check.
#[proc_macro_attribute]
pub fn require(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::require(args.into(), item.into()).into()
}

/// Declares zero-sized requirement types usable as `Require<T>` extractors.
///
/// ```ignore
/// tollgate::scopes! {
///     pub OrdersWrite = "orders:write";
///     pub ReadOrAdmin = any("orders:read", "admin:*");
/// }
/// async fn create(_: Require<OrdersWrite>, auth: Auth) { ... }
/// ```
#[proc_macro]
pub fn scopes(input: TokenStream) -> TokenStream {
    expand::scopes(input.into()).into()
}
