//! Legacy basic credentials (tills) and attribution.

mod common;

use base64::Engine as _;
use common::*;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;
use std::sync::Arc;
use tollgate::basic::{BasicIdentity, StaticBasicCredentials};
use tollgate::{AttributionPolicy, Authenticator, IssuerConfig};

#[derive(Debug)]
struct Policy;

impl AttributionPolicy for Policy {
    fn resolve(
        &self,
        client_id: &str,
        requested: Option<&str>,
    ) -> Result<Option<String>, tollgate::AttributionRefused> {
        match (client_id, requested) {
            ("client-123", None) => Ok(Some("store-default".into())),
            ("client-123", Some(r @ ("store-default" | "store-7"))) => Ok(Some(r.to_owned())),
            _ => Err(tollgate::AttributionRefused),
        }
    }
}

fn setup() -> (axum::Router, Arc<StaticBasicCredentials>) {
    install_backend();
    let tills = Arc::new(StaticBasicCredentials::default());
    tills.add(
        "till-1",
        "till-secret",
        BasicIdentity::new("acct-9", "till-1", "orders:write orders:read")
            .with_attribution("store-3"),
    );
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .basic_credentials(tills.clone())
        .attribution("X-Attribution", Arc::new(Policy))
        .build()
        .unwrap();
    (app(auth), tills)
}

fn basic(user: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

#[tokio::test]
async fn tills_authenticate_with_basic_credentials() {
    let (app, tills) = setup();
    let h = basic("till-1", "till-secret");
    let r = send(&app, "GET", "/whoami", &[("authorization", h.as_bytes())]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["client_id"], "till-1");
    assert_eq!(r.body["attribution"], "store-3");
    assert_eq!(r.body["credentials"], json!(["basic"]));
    let r = send(&app, "POST", "/orders", &[("authorization", h.as_bytes())]).await;
    assert_eq!(r.status, StatusCode::OK);

    for bad in [
        basic("till-1", "wrong"),
        basic("nobody", "till-secret"),
        basic("till-1", ""),
    ] {
        let r = send(&app, "GET", "/whoami", &[("authorization", bad.as_bytes())]).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{bad}"
        );
    }
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[("authorization", b"Basic !!!notbase64")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Switched off for the account: 401 with a clear description.
    tills.set_enabled("acct-9", false);
    let r = send(&app, "GET", "/whoami", &[("authorization", h.as_bytes())]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body["error_description"],
        "basic credentials are switched off for this account"
    );
    tills.set_enabled("acct-9", true);
    assert_eq!(
        send(&app, "GET", "/whoami", &[("authorization", h.as_bytes())])
            .await
            .status,
        StatusCode::OK
    );

    // A till may only name its own attribution.
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", h.as_bytes()),
            ("x-attribution", b"store-9"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn attribution_header_falls_back_to_the_default_and_is_checked() {
    let (app, _) = setup();
    let token = mint(Algorithm::HS256, None, &claims());
    let bearer = format!("Bearer {token}");
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[("authorization", bearer.as_bytes())],
    )
    .await;
    assert_eq!(r.body["attribution"], "store-default");
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-attribution", b"store-7"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.body["attribution"].as_str()),
        (StatusCode::OK, Some("store-7"))
    );
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", bearer.as_bytes()),
            ("x-attribution", b"store-99"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    // The cached context never keeps another request's attribution.
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[("authorization", bearer.as_bytes())],
    )
    .await;
    assert_eq!(r.body["attribution"], "store-default");
}
