//! `examples/shop.rs`'s `GET /openapi.json`, parsed as an OpenAPI 3.x
//! document and checked against the running shop: every protected operation
//! refuses tokens lacking any one of the scopes it lists (403) and accepts a
//! token with exactly those scopes, so the document lists exactly what the
//! layer enforces.
#![cfg(all(feature = "issuer", feature = "openapi"))]

mod common;

use openapiv3::{APIKeyLocation, OpenAPI, SecurityScheme};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const BACKEND: &str = "oa-backend";
const BACKEND_SECRET: &str = "oa-backend-secret-0123456789";
const ADMIN: &str = "demo-admin";
const ADMIN_SECRET: &str = "oa-admin-secret-0123456789";
/// What the shop grants its two confidential clients.
const BACKEND_SCOPES: &[&str] = &[
    "customer:read",
    "customer:write",
    "orders:read",
    "orders:write",
];
const ADMIN_SCOPES: &[&str] = &["clients:write", "keys:write"];

type Scopes = BTreeSet<String>;

fn start() -> common::ExampleServer {
    common::start_example(
        "shop",
        &[
            ("TOLLGATE_DEMO_CLIENT_ID", BACKEND),
            ("TOLLGATE_DEMO_CLIENT_SECRET", BACKEND_SECRET),
            ("TOLLGATE_DEMO_ADMIN_SECRET", ADMIN_SECRET),
        ],
    )
}

/// The client holding every scope of `needed`, with its secret and scopes.
fn client_for(needed: &Scopes) -> (&'static str, &'static str, Scopes) {
    for (id, secret, held) in [
        (BACKEND, BACKEND_SECRET, BACKEND_SCOPES),
        (ADMIN, ADMIN_SECRET, ADMIN_SCOPES),
    ] {
        let held: Scopes = held.iter().map(|s| (*s).to_owned()).collect();
        if needed.is_subset(&held) {
            return (id, secret, held);
        }
    }
    panic!("no demo client holds {needed:?}");
}

/// A client-credentials token from the document's token URL, carrying
/// exactly `scopes`.
async fn token(
    http: &reqwest::Client,
    token_url: &str,
    client: (&str, &str),
    scopes: &Scopes,
) -> String {
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.0, client.1));
    let scope = scopes.iter().cloned().collect::<Vec<_>>().join(" ");
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("scope", &scope)
        .finish();
    let res = http
        .post(token_url)
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "token for {scope:?}");
    let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    let granted: Scopes = body["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &granted, scopes,
        "the token carries exactly the asked scopes"
    );
    format!("Bearer {}", body["access_token"].as_str().unwrap())
}

/// One protected operation and the scope sets its `oauth2` entries list.
struct Protected {
    method: String,
    path: String,
    alternatives: Vec<Scopes>,
}

impl Protected {
    fn url(&self, base: &str) -> String {
        format!("{base}{}", self.path.replace("{id}", "nobody"))
    }

    fn body(&self) -> Option<Value> {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH").then(|| json!({}))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_lists_exactly_the_scopes_the_layer_enforces() {
    let shop = start();
    let b = &shop.base;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // Served unauthenticated, as JSON, and a valid OpenAPI 3.x document.
    let res = http.get(format!("{b}/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let text = res.text().await.unwrap();
    let doc: OpenAPI = serde_json::from_str(&text).expect("a valid OpenAPI document");
    assert!(doc.openapi.starts_with("3."), "{}", doc.openapi);
    assert_eq!(doc.info.title, "tollgate shop");

    // One scheme per credential kind the shop accepts.
    let components = doc.components.as_ref().expect("components");
    let scheme = |name: &str| {
        components.security_schemes[name]
            .as_item()
            .unwrap_or_else(|| panic!("scheme {name}"))
            .clone()
    };
    let SecurityScheme::OAuth2 { flows, .. } = scheme("oauth2") else {
        panic!("oauth2 is an OAuth2 scheme");
    };
    let flow = flows.client_credentials.expect("a client-credentials flow");
    assert_eq!(flow.token_url, format!("{b}/oauth/token"));
    let SecurityScheme::HTTP {
        scheme: s,
        bearer_format,
        ..
    } = scheme("bearer")
    else {
        panic!("bearer is an HTTP scheme");
    };
    assert_eq!(
        (s.as_str(), bearer_format.as_deref()),
        ("bearer", Some("JWT"))
    );
    let SecurityScheme::HTTP { scheme: s, .. } = scheme("basic") else {
        panic!("basic is an HTTP scheme");
    };
    assert_eq!(s, "basic");
    for (name, location, key) in [
        ("customer_token", APIKeyLocation::Header, "x-customer-token"),
        ("session", APIKeyLocation::Header, "x-session-id"),
        ("session_cookie", APIKeyLocation::Cookie, "shop_session"),
    ] {
        let SecurityScheme::APIKey {
            location: l,
            name: n,
            ..
        } = scheme(name)
        else {
            panic!("{name} is an API key");
        };
        assert_eq!((l, n.as_str()), (location, key), "{name}");
    }

    // Protected and public operations.
    let mut protected = Vec::new();
    let mut public = Vec::new();
    for (path, item) in doc.paths.iter() {
        for (method, op) in item.as_item().expect("inline path items").iter() {
            let method = method.to_uppercase();
            let Some(security) = op.security.as_ref().filter(|s| !s.is_empty()) else {
                public.push(format!("{method} {path}"));
                continue;
            };
            let mut alternatives = Vec::new();
            for entry in security {
                if let Some(scopes) = entry.get("oauth2") {
                    let scopes: Scopes = scopes.iter().cloned().collect();
                    for s in &scopes {
                        assert!(flow.scopes.contains_key(s), "{s} is in the flow's scopes");
                    }
                    alternatives.push(scopes);
                }
                for name in entry.keys() {
                    assert!(components.security_schemes.contains_key(name), "{name}");
                }
            }
            assert!(!alternatives.is_empty(), "{method} {path}: an oauth2 entry");
            // Each scope-carrying scheme lists the same scopes.
            let bearer: Vec<Scopes> = security
                .iter()
                .filter_map(|e| e.get("bearer"))
                .map(|s| s.iter().cloned().collect())
                .collect();
            assert_eq!(bearer, alternatives, "{method} {path}");
            protected.push(Protected {
                method,
                path: path.clone(),
                alternatives,
            });
        }
    }
    public.sort();
    assert_eq!(
        public,
        ["GET /", "GET /openapi.json", "POST /customer-sessions"],
        "the public routes have no security"
    );
    let listed = |method: &str, path: &str| {
        protected
            .iter()
            .find(|p| p.method == method && p.path == path)
            .map(|p| p.alternatives.clone())
    };
    let one = |s: &str| Some(vec![Scopes::from([s.to_owned()])]);
    assert_eq!(listed("GET", "/orders"), one("orders:read"));
    assert_eq!(listed("POST", "/orders"), one("orders:write"));
    assert_eq!(listed("GET", "/customers/{id}"), one("customer:read"));
    assert_eq!(listed("POST", "/admin/keys/rotate"), one("keys:write"));
    assert_eq!(
        listed("GET", "/customer-sessions/current"),
        Some(vec![Scopes::new()]),
        "signed in, no scope"
    );
    assert_eq!(protected.len(), 10, "every table route is documented");

    // Without credentials: 401. With every scope of the client except one
    // of the listed ones: 403.
    for op in &protected {
        let url = op.url(b);
        let (s, _) = common::http_call(&http, &op.method, url.clone(), &[], op.body()).await;
        assert_eq!(s, 401, "{} {} without credentials", op.method, op.path);
        for needed in &op.alternatives {
            let (id, secret, held) = client_for(needed);
            for missing in needed {
                let mut scopes = held.clone();
                scopes.remove(missing);
                let auth = token(&http, &flow.token_url, (id, secret), &scopes).await;
                let (s, body) = common::http_call(
                    &http,
                    &op.method,
                    url.clone(),
                    &[("authorization", auth)],
                    op.body(),
                )
                .await;
                assert_eq!(
                    s, 403,
                    "{} {} without {missing}: {body}",
                    op.method, op.path
                );
            }
        }
    }

    // With exactly the listed scopes: past the layer (the handler answers,
    // e.g. 404 for the made-up id). Key rotation goes last.
    protected.sort_by_key(|p| p.path == "/admin/keys/rotate");
    for op in &protected {
        for needed in &op.alternatives {
            let (id, secret, held) = client_for(needed);
            // No scope needed (signed in): any token of the client.
            let scopes = if needed.is_empty() { &held } else { needed };
            let auth = token(&http, &flow.token_url, (id, secret), scopes).await;
            let (s, body) = common::http_call(
                &http,
                &op.method,
                op.url(b),
                &[("authorization", auth)],
                op.body(),
            )
            .await;
            assert!(
                s != 401 && s != 403 && s < 500,
                "{} {} with {needed:?}: {s} {body}",
                op.method,
                op.path
            );
        }
    }

    // The public routes really are public.
    let res = http.get(format!("{b}/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
