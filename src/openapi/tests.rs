//! Unit tests: requirements as `security` entries and route tables written
//! into documents.

use super::*;
use crate::policy::{all, any, customer, scope};
use crate::{CustomerTokenConfig, IssuerConfig};
use serde_json::{Value, json};
use utoipa::openapi::OpenApiBuilder;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::SecurityRequirement;

fn schemes() -> SecuritySchemes {
    let config = AuthConfig::default()
        .with_issuer(IssuerConfig::new("https://auth.example.com/"))
        .with_customer_tokens(CustomerTokenConfig::default());
    SecuritySchemes::from_config(&config)
        .token_url("https://auth.example.com/oauth/token")
        .sessions(&SessionSources::default().with_cookie("sid"))
        .basic()
}

fn json_of(s: &[SecurityRequirement]) -> Value {
    serde_json::to_value(s).unwrap()
}

fn oauth_only() -> SecuritySchemes {
    SecuritySchemes::default().token_url("https://a/token")
}

#[test]
fn all_is_one_entry_and_any_is_alternatives() {
    let s = oauth_only();
    let both = all([scope("orders:read"), scope("customer:read")]);
    assert_eq!(
        json_of(&s.security(&both).unwrap()),
        json!([{"oauth2": ["customer:read", "orders:read"]}])
    );
    let either = any([scope("orders:read"), scope("admin:read")]);
    assert_eq!(
        json_of(&s.security(&either).unwrap()),
        json!([{"oauth2": ["admin:read"]}, {"oauth2": ["orders:read"]}])
    );
    // all(a, any(b, c)) = (a AND b) OR (a AND c).
    let mixed = all([scope("a:r"), any([scope("b:r"), scope("c:r")])]);
    assert_eq!(
        json_of(&s.security(&mixed).unwrap()),
        json!([{"oauth2": ["a:r", "b:r"]}, {"oauth2": ["a:r", "c:r"]}])
    );
    // any(a, all(a, b)) = a.
    let absorbed = any([scope("a:r"), all([scope("a:r"), scope("b:r")])]);
    assert_eq!(
        json_of(&s.security(&absorbed).unwrap()),
        json!([{"oauth2": ["a:r"]}])
    );
    // Authenticated, no scope.
    assert_eq!(
        json_of(&s.security(&all([])).unwrap()),
        json!([{"oauth2": []}])
    );
}

#[test]
fn every_configured_scheme_is_an_alternative() {
    let s = schemes();
    assert_eq!(
        json_of(&s.security(&scope("orders:read")).unwrap()),
        json!([
            {"oauth2": ["orders:read"]},
            {"bearer": ["orders:read"]},
            {"session": ["orders:read"]},
            {"session_cookie": ["orders:read"]},
            {"basic": ["orders:read"]},
        ])
    );
    // A customer-bound caller: a customer token beside an access token,
    // or a session; never a till.
    assert_eq!(
        json_of(
            &s.security(&all([customer(), scope("orders:read")]))
                .unwrap()
        ),
        json!([
            {"customer_token": [], "oauth2": ["orders:read"]},
            {"bearer": ["orders:read"], "customer_token": []},
            {"session": ["orders:read"]},
            {"session_cookie": ["orders:read"]},
        ])
    );
}

#[test]
fn unsatisfiable_and_exploding_requirements_are_errors() {
    let s = oauth_only();
    assert_eq!(
        s.security(&any([])).err(),
        Some(OpenApiError::Unsatisfiable)
    );
    assert_eq!(
        s.security(&all([scope("a:r"), any([])])).err(),
        Some(OpenApiError::Unsatisfiable)
    );
    // 2^7 = 128 alternatives.
    let big =
        all((0..7).map(|i| any([scope(&format!("e{i}:read")), scope(&format!("e{i}:write"))])));
    assert_eq!(
        s.security(&big).err(),
        Some(OpenApiError::TooManyAlternatives)
    );
}

#[test]
fn only_configured_schemes_are_written() {
    let bare = SecuritySchemes::from_config(&AuthConfig::default());
    let mut doc = OpenApiBuilder::new().build();
    bare.apply(&mut doc, []).unwrap();
    let json = serde_json::to_value(&doc).unwrap();
    assert!(json.get("components").is_none(), "{json}");

    let mut doc = OpenApiBuilder::new().build();
    schemes()
        .scope_description("orders:read", "Read orders")
        .apply(
            &mut doc,
            [(Method::GET, "/orders/{id}", Some(&scope("orders:write")))],
        )
        .unwrap();
    let json = serde_json::to_value(&doc).unwrap();
    let s = &json["components"]["securitySchemes"];
    assert_eq!(
        s["oauth2"]["flows"]["clientCredentials"],
        json!({"tokenUrl": "https://auth.example.com/oauth/token",
               "scopes": {"orders:read": "Read orders", "orders:write": ""}})
    );
    assert_eq!(
        s["bearer"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "A JWT access token in `Authorization: Bearer`"})
    );
    assert_eq!(s["customer_token"]["in"], "header");
    assert_eq!(s["customer_token"]["name"], "x-customer-token");
    assert_eq!(s["session"]["name"], "x-session-id");
    assert_eq!(
        (&s["session_cookie"]["in"], &s["session_cookie"]["name"]),
        (&json!("cookie"), &json!("sid"))
    );
    assert_eq!(s["basic"]["scheme"], "basic");
    let op = &json["paths"]["/orders/{id}"]["get"];
    assert_eq!(op["parameters"][0]["name"], "id");
    assert_eq!(op["parameters"][0]["in"], "path");
    assert_eq!(op["parameters"][0]["required"], true);
    assert!(op["responses"]["403"].is_object());
}

#[test]
fn apply_updates_existing_operations_and_leaves_public_ones_open() {
    let s = oauth_only();
    let mut doc = OpenApiBuilder::new().build();
    let mut existing = Operation::new();
    existing.summary = Some("List orders".into());
    doc.paths
        .add_path_operation("/orders", vec![HttpMethod::Get], existing);
    s.apply(
        &mut doc,
        [
            (Method::GET, "/orders", Some(&scope("orders:read"))),
            (Method::POST, "/orders", Some(&scope("orders:write"))),
            (Method::GET, "/health", None),
        ],
    )
    .unwrap();
    let json = serde_json::to_value(&doc).unwrap();
    let orders = &json["paths"]["/orders"];
    assert_eq!(orders["get"]["summary"], "List orders");
    assert_eq!(
        orders["get"]["security"],
        json!([{"oauth2": ["orders:read"]}])
    );
    assert_eq!(
        orders["post"]["security"],
        json!([{"oauth2": ["orders:write"]}])
    );
    assert!(json["paths"]["/health"]["get"].get("security").is_none());

    // With a top-level security, a public route says so explicitly.
    let mut doc = OpenApiBuilder::new()
        .security(Some([SecurityRequirement::new(OAUTH2, ["x:read"])]))
        .build();
    s.apply(&mut doc, [(Method::GET, "/health", None)]).unwrap();
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["paths"]["/health"]["get"]["security"], json!([]));

    let err = s
        .apply(&mut doc, [(Method::CONNECT, "/x", Some(&scope("a:r")))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CONNECT /x: OpenAPI has no operation for the method CONNECT"
    );
}
