//! Compile-time behaviour of `#[tollgate::require]` and `tollgate::scopes!`
//! on axum and actix-web handlers (trybuild).
#![cfg(all(feature = "macros", feature = "axum", feature = "actix"))]

#[test]
fn macros() {
    let t = trybuild::TestCases::new();
    t.pass("tests/macros/pass/*.rs");
    t.compile_fail("tests/macros/fail/*.rs");
}
