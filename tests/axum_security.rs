//! Integration tests through an axum Router with `oneshot`: every algorithm
//! family, and the attack cases of RFC 8725 / jwt_tool, each asserting the
//! exact status and error code.

mod common;

use common::*;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn kid_for(alg: Algorithm) -> Option<&'static str> {
    Some(match alg {
        Algorithm::HS256 => return None,
        Algorithm::RS256 => "rs256",
        Algorithm::RS384 => "rs384",
        Algorithm::RS512 => "rs512",
        Algorithm::PS256 => "ps256",
        Algorithm::PS384 => "ps384",
        Algorithm::PS512 => "ps512",
        Algorithm::ES256 => "es256",
        Algorithm::ES384 => "es384",
        Algorithm::EdDSA => "eddsa",
        _ => "none-configured",
    })
}

fn assert_invalid_token(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.error(), Some("invalid_token"), "{}", r.text);
    let h = r.www_authenticate.as_deref().unwrap();
    assert!(h.starts_with("Bearer realm=\"tollgate\""), "{h}");
    assert!(h.contains("error=\"invalid_token\""), "{h}");
}

fn assert_invalid_request(r: &Reply) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error(), Some("invalid_request"), "{}", r.text);
    assert!(
        r.www_authenticate
            .as_deref()
            .unwrap()
            .contains("error=\"invalid_request\"")
    );
}

#[tokio::test]
async fn every_algorithm_family_verifies_through_axum() {
    let app = app(all_keys_auth());
    for alg in ALL {
        let token = mint(alg, kid_for(alg), &claims());
        let r = get_bearer(&app, "/whoami", &token).await;
        match alg {
            // Only HS256 is configured among the HMAC algorithms: the key
            // decides the algorithm.
            Algorithm::HS384 | Algorithm::HS512 => assert_invalid_token(&r),
            _ => {
                assert_eq!(r.status, StatusCode::OK, "{alg:?}: {}", r.text);
                assert_eq!(r.body["client_id"], "client-123");
                assert_eq!(r.body["account"], "acct-9");
                assert_eq!(r.body["subject"], "client-123");
                assert_eq!(r.body["scopes"], json!(["orders:read", "customer:read"]));
            }
        }
    }
}

#[tokio::test]
async fn token_header_cannot_choose_another_algorithm_for_a_key() {
    let app = app(all_keys_auth());
    // An RS256 key (kid rs256) asked to verify PS256 with the same RSA key.
    let token = mint(Algorithm::PS256, Some("rs256"), &claims());
    assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
    // ES256 signature presented with the ES384 kid.
    let token = mint(Algorithm::ES256, Some("es384"), &claims());
    assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
}

#[tokio::test]
async fn scopes_are_enforced_per_route() {
    let app = app(hmac_auth());
    let token = mint(Algorithm::HS256, None, &claims());
    assert_eq!(
        get_bearer(&app, "/orders", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_bearer(&app, "/customers/42", &token).await.status,
        StatusCode::OK
    );
    let h = format!("Bearer {token}");
    let r = send(&app, "POST", "/orders", &[("authorization", h.as_bytes())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), Some("insufficient_scope"));
    assert_eq!(
        r.www_authenticate.as_deref(),
        Some(
            "Bearer realm=\"tollgate\", error=\"insufficient_scope\", error_description=\"the credential lacks a required scope\", scope=\"orders:write\""
        )
    );
    let mut c = claims();
    c["scope"] = json!("orders:write");
    let token = mint(Algorithm::HS256, None, &c);
    let h = format!("Bearer {token}");
    let r = send(&app, "POST", "/orders", &[("authorization", h.as_bytes())]).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn scope_prefix_tricks_and_case() {
    let app = app(hmac_auth());
    for granted in [
        "orders:readx",
        "orders",
        "ORDERS:READ",
        "order:read",
        "orders:rea",
        "orders:read:x",
        "*:*",
        "orders:*",
    ] {
        let mut c = claims();
        c["scope"] = json!(granted);
        let token = mint(Algorithm::HS256, None, &c);
        let r = get_bearer(&app, "/orders", &token).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "granted {granted:?}");
        assert_eq!(r.error(), Some("insufficient_scope"));
    }
    // The scp array form and an unparseable entry next to a good one.
    let mut c = claims();
    c["scope"] = json!(["bad scope", "orders:read"]);
    let token = mint(Algorithm::HS256, None, &c);
    assert_eq!(
        get_bearer(&app, "/orders", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn missing_credentials_get_a_bare_challenge() {
    let app = app(hmac_auth());
    let r = send(&app, "GET", "/whoami", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.www_authenticate.as_deref(),
        Some("Bearer realm=\"tollgate\"")
    );
    // Basic / unknown schemes on a bearer-only route: 401, no error code.
    for v in ["Basic dXNlcjpwYXNz", "Digest x=1", "Token abc"] {
        let r = send(&app, "GET", "/whoami", &[("authorization", v.as_bytes())]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(
            r.www_authenticate.as_deref(),
            Some("Bearer realm=\"tollgate\""),
            "{v}"
        );
    }
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let app = app(hmac_auth());
    let token = mint(Algorithm::HS256, None, &claims());
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let h = format!("{scheme} {token}");
        let r = send(&app, "GET", "/whoami", &[("authorization", h.as_bytes())]).await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn malformed_requests_are_400() {
    let app = app(hmac_auth());
    let token = mint(Algorithm::HS256, None, &claims());
    let good = format!("Bearer {token}");
    // Duplicate Authorization, even when both are good.
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", good.as_bytes()),
            ("authorization", good.as_bytes()),
        ],
    )
    .await;
    assert_invalid_request(&r);
    for v in [
        "Bearer".as_bytes(),
        b"Bearer ",
        b"Bearer    ",
        b"Bearer a b",
        b"Bearer tok\"en",
        b"Bearer ab,cd",
        b"Bearer caf\xc3\xa9",
        b"Bearer \xff\xfe",
        b"Be@rer abc",
    ] {
        let r = send(&app, "GET", "/whoami", &[("authorization", v)]).await;
        assert_invalid_request(&r);
    }
    // Whitespace inside the token.
    let (a, b) = token.split_at(20);
    let v = format!("Bearer {a} {b}");
    assert_invalid_request(&send(&app, "GET", "/whoami", &[("authorization", v.as_bytes())]).await);
    let v = format!("Bearer {a}\t{b}");
    assert_invalid_request(&send(&app, "GET", "/whoami", &[("authorization", v.as_bytes())]).await);
}

#[tokio::test]
async fn alg_none_in_every_casing_is_refused() {
    let app = app(hmac_auth());
    let payload = b64(claims().to_string());
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        for sig in ["", "e30", "AAAA"] {
            let token = format!("{header}.{payload}.{sig}");
            assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
        }
        // Without the trailing dot too.
        let token = format!("{header}.{payload}");
        assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .public_key_pem(
                    String::from_utf8(read_key("rsa.pub.pem")).unwrap(),
                    tollgate::Algorithm::RS256,
                ),
        )
        .build()
        .unwrap();
    let app = app(auth);
    assert_eq!(
        get_bearer(&app, "/whoami", &mint(Algorithm::RS256, None, &claims()))
            .await
            .status,
        StatusCode::OK
    );
    for secret in [read_key("rsa.pub.pem"), read_key("rsa.pub.der")] {
        let key = EncodingKey::from_secret(&secret);
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = mint_with(alg, None, &claims(), &key);
            assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
        }
    }
}

#[test]
fn an_hmac_secret_is_never_built_from_a_public_key() {
    install_backend();
    let pem = String::from_utf8(read_key("rsa.pub.pem")).unwrap();
    let err = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(pem.clone()),
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
    let err = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .public_key_pem(pem, tollgate::Algorithm::HS256),
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("HMAC"), "{err}");
}

#[tokio::test]
async fn es256_all_zero_signature_is_refused() {
    let app = app(all_keys_auth());
    let token = mint(Algorithm::ES256, Some("es256"), &claims());
    let (msg, _) = token.rsplit_once('.').unwrap();
    for sig in [vec![0u8; 64], vec![0u8; 1], vec![0u8; 72]] {
        let forged = format!("{msg}.{}", b64(&sig));
        assert_invalid_token(&get_bearer(&app, "/whoami", &forged).await);
    }
    // r = s = n (the curve order) is also invalid (CVE-2022-21449 class).
    let n = hex_decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let forged = format!("{msg}.{}", b64([n.clone(), n].concat()));
    assert_invalid_token(&get_bearer(&app, "/whoami", &forged).await);
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_are_never_followed() {
    let app = app(all_keys_auth());
    // The attacker signs with their own key (our rsa2) and points at it.
    let attacker = EncodingKey::from_rsa_pem(&read_key("rsa2.pem")).unwrap();
    let attacker_jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&attacker, Algorithm::RS256).unwrap(),
    )
    .unwrap();
    for (field, value) in [
        ("jku", json!("http://127.0.0.1:1/attacker-jwks.json")),
        ("x5u", json!("http://127.0.0.1:1/attacker.pem")),
        ("jwk", attacker_jwk.clone()),
    ] {
        for kid in [None, Some("rs256"), Some("attacker")] {
            let mut header = json!({"alg": "RS256", field: value});
            if let Some(k) = kid {
                header["kid"] = json!(k);
            }
            let msg = format!("{}.{}", b64(header.to_string()), b64(claims().to_string()));
            let sig =
                jsonwebtoken::crypto::sign(msg.as_bytes(), &attacker, Algorithm::RS256).unwrap();
            let token = format!("{msg}.{sig}");
            assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
        }
    }
}

#[tokio::test]
async fn hostile_kid_values() {
    let app = app(all_keys_auth());
    let long = "k".repeat(5000);
    for kid in [
        "../../dev/null",
        "/dev/null",
        "' OR '1'='1",
        "1; DROP TABLE keys;--",
        "",
        long.as_str(),
        "rs256\u{0}",
        "RS256",
    ] {
        let token = mint(Algorithm::RS256, Some(kid), &claims());
        let r = get_bearer(&app, "/whoami", &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "kid {kid:?}");
        assert_eq!(r.error(), Some("invalid_token"), "kid {kid:?}");
    }
    // kid as a non-string.
    let header = b64(r#"{"alg":"RS256","kid":123}"#);
    let token = format!("{header}.{}.AAAA", b64(claims().to_string()));
    assert_invalid_token(&get_bearer(&app, "/whoami", &token).await);
}

#[tokio::test]
async fn time_claims() {
    let app = app(hmac_auth());
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    let r = get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), Some("invalid_token"));
    assert_eq!(r.body["error_description"], "expired");
    assert_eq!(
        r.www_authenticate.as_deref(),
        Some("Bearer realm=\"tollgate\", error=\"invalid_token\", error_description=\"expired\"")
    );
    // Expired within the 60 s leeway still passes.
    c["exp"] = json!(now() - 30);
    assert_eq!(
        get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c))
            .await
            .status,
        StatusCode::OK
    );

    let mut c = claims();
    c["nbf"] = json!(now() + 3600);
    assert_invalid_token(&get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await);

    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_invalid_token(&get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await);

    for bad in [json!("9999999999"), json!(null), json!([1]), json!(true)] {
        let mut c = claims();
        c["exp"] = bad;
        assert_invalid_token(&get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await);
    }
}

#[tokio::test]
async fn expired_status_is_configurable() {
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .expired_status(tollgate::ExpiredStatus::Status498)
        .build()
        .unwrap();
    let app = app(auth);
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    let r = get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await;
    assert_eq!(r.status.as_u16(), 498);
    assert_eq!(r.error(), Some("invalid_token"));
}

#[tokio::test]
async fn issuer_and_audience() {
    let app = app(hmac_auth());
    let cases = [
        ("iss", json!("https://evil.test")),
        ("iss", json!("https://issuer.test/")),
        ("iss", json!(["https://issuer.test"])),
        ("aud", json!("other-api")),
        ("aud", json!(["a", "b"])),
        ("aud", json!([])),
        ("aud", json!("ORDERS-API")),
        ("aud", json!(42)),
    ];
    for (claim, value) in cases {
        let mut c = claims();
        c[claim] = value.clone();
        let r = get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await;
        assert_invalid_token(&r);
    }
    for claim in ["iss", "aud"] {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(claim);
        assert_invalid_token(&get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await);
    }
    let mut c = claims();
    c["aud"] = json!(["other", AUDIENCE]);
    assert_eq!(
        get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tampering_and_shapes() {
    let app = app(all_keys_auth());
    let token = mint(Algorithm::RS256, Some("rs256"), &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut c = claims();
    c["scope"] = json!("orders:write orders:read");
    let tampered = format!("{}.{}.{}", parts[0], b64(c.to_string()), parts[2]);
    assert_invalid_token(&get_bearer(&app, "/whoami", &tampered).await);

    let truncated = &token[..token.len() - 10];
    let cases = vec![
        truncated.to_string(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[2], parts[2], parts[2]
        ),
        format!("{token}="),
        format!("{token}=="),
        token.replacen('.', "+.", 1),
        token.replacen('.', "/.", 1),
        token.replacen('.', "~.", 1),
        format!(".{}.{}", parts[1], parts[2]),
        "..".to_string(),
        "a.b.c".to_string(),
        "....".to_string(),
    ];
    for t in cases {
        let r = get_bearer(&app, "/whoami", &t).await;
        assert_invalid_token(&r);
        assert!(!r.text.contains(&t), "error body must not echo the token");
    }
    // `=` inside the credential breaks RFC 6750 b64token syntax: the header
    // itself is malformed.
    for t in [
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{token}=a"),
    ] {
        assert_invalid_request(&get_bearer(&app, "/whoami", &t).await);
    }
}

#[tokio::test]
async fn jwe_shaped_token_is_refused() {
    let app = app(hmac_auth());
    let h = b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let token = format!("{h}.AAAA.AAAA.AAAA.AAAA");
    let r = get_bearer(&app, "/whoami", &token).await;
    assert_invalid_token(&r);
    assert!(r.text.contains("JWE"), "{}", r.text);
}

#[tokio::test]
async fn unknown_crit_is_refused() {
    let app = app(hmac_auth());
    let key = encoding_key(Algorithm::HS256);
    for header in [
        json!({"alg":"HS256","crit":["exp"],"exp":1}),
        json!({"alg":"HS256","crit":["http://example.com/ext"]}),
        json!({"alg":"HS256","crit":[]}),
        json!({"alg":"HS256","b64":false,"crit":["b64"]}),
    ] {
        let msg = format!("{}.{}", b64(header.to_string()), b64(claims().to_string()));
        let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &key, Algorithm::HS256).unwrap();
        assert_invalid_token(&get_bearer(&app, "/whoami", &format!("{msg}.{sig}")).await);
    }
}

#[tokio::test]
async fn size_limit_refuses_without_parsing() {
    let app = app(hmac_auth());
    let big = "a".repeat(8 * 1024 + 1);
    let r = get_bearer(&app, "/whoami", &big).await;
    assert_invalid_token(&r);
    assert!(r.text.contains("size limit"));
    // The size is checked before the syntax.
    let big = format!("{} {}", "a".repeat(9000), "b");
    assert_invalid_token(&get_bearer(&app, "/whoami", &big).await);
    // At the limit it is parsed (and fails as a token, not on size).
    let r = get_bearer(&app, "/whoami", &"a".repeat(8 * 1024)).await;
    assert_invalid_token(&r);
    assert!(!r.text.contains("size limit"));
}

#[tokio::test]
async fn typ_rule_when_configured() {
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET)
                .typ("at+jwt"),
        )
        .build()
        .unwrap();
    let app = app(auth);
    let key = encoding_key(Algorithm::HS256);
    for (typ, ok) in [
        (Some("at+jwt"), true),
        (Some("application/at+jwt"), true),
        (Some("JWT"), false),
        (None, false),
    ] {
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
        let r = get_bearer(&app, "/whoami", &token).await;
        if ok {
            assert_eq!(r.status, StatusCode::OK, "{typ:?}");
        } else {
            assert_invalid_token(&r);
        }
    }
}

#[tokio::test]
async fn optional_mode_passes_anonymous_but_not_bad_tokens() {
    use axum::routing::get;
    use tollgate::axum::Auth;
    let app = axum::Router::new()
        .route(
            "/",
            get(|auth: Option<Auth>| async move {
                auth.map_or("anonymous".to_owned(), |a| {
                    a.client_id().unwrap_or("?").to_owned()
                })
            }),
        )
        .route("/strict", get(|Auth(_): Auth| async { "ok" }))
        .layer(tollgate::tower::AuthLayer::optional(hmac_auth()));
    let r = send(&app, "GET", "/", &[]).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "anonymous"));
    let r = send(&app, "GET", "/strict", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.www_authenticate.as_deref(),
        Some("Bearer realm=\"tollgate\"")
    );
    let token = mint(Algorithm::HS256, None, &claims());
    let r = get_bearer(&app, "/", &token).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "client-123"));
    assert_invalid_token(&get_bearer(&app, "/", "garbage.token.here").await);
}

#[tokio::test]
async fn cors_preflight_is_refused_unless_enabled_and_credential_free() {
    let preflight: &[(&str, &[u8])] = &[
        ("access-control-request-method", b"POST"),
        ("origin", b"https://shop.example"),
    ];
    // Off by default: a preflight is a request like any other.
    let app_default = app(hmac_auth());
    let r = send(&app_default, "OPTIONS", "/orders", preflight).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let lenient = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .allow_cors_preflight(true)
        .build()
        .unwrap();
    // The engine lets it through as a preflight, carrying no AuthContext.
    let mut req = http::Request::builder().method("OPTIONS").uri("/orders");
    for (k, v) in preflight {
        req = req.header(*k, *v);
    }
    let req = req.body(()).unwrap();
    let decision = lenient
        .decide(&req, tollgate::Mode::Required)
        .await
        .unwrap();
    assert!(matches!(decision, tollgate::Decision::Preflight));
    let lenient = common::app(lenient);
    let r = send(&lenient, "OPTIONS", "/orders", preflight).await;
    assert_ne!(r.status, StatusCode::UNAUTHORIZED);
    // A plain OPTIONS is not a preflight.
    let r = send(&lenient, "OPTIONS", "/orders", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A "preflight" that carries a credential is authenticated as usual:
    // garbage is refused, not waved through.
    let r = send(
        &lenient,
        "OPTIONS",
        "/orders",
        &[
            ("access-control-request-method", b"POST"),
            ("authorization", b"Bearer not.a.jwt"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.www_authenticate
            .as_deref()
            .is_some_and(|w| w.contains("invalid_token"))
    );
}

#[tokio::test]
async fn cookie_and_query_sources_are_off_unless_configured() {
    let token = mint(Algorithm::HS256, None, &claims());
    let app_default = app(hmac_auth());
    let cookie = format!("at={token}");
    let r = send(
        &app_default,
        "GET",
        "/whoami",
        &[("cookie", cookie.as_bytes())],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.www_authenticate.as_deref(),
        Some("Bearer realm=\"tollgate\"")
    );
    let r = send(
        &app_default,
        "GET",
        &format!("/whoami?access_token={token}"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .credentials(
            tollgate::credentials::CredentialSources::default()
                .with_cookie("at")
                .with_query_parameter("access_token"),
        )
        .build()
        .unwrap();
    let app = app(auth);
    let cookie = format!("theme=dark; at={token}");
    assert_eq!(
        send(&app, "GET", "/whoami", &[("cookie", cookie.as_bytes())])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            "GET",
            &format!("/whoami?x=1&access_token={token}"),
            &[]
        )
        .await
        .status,
        StatusCode::OK
    );
    // Two methods at once: RFC 6750 §2 forbids it.
    let h = format!("Bearer {token}");
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", h.as_bytes()),
            ("cookie", cookie.as_bytes()),
        ],
    )
    .await;
    assert_invalid_request(&r);
    // A good header cannot rescue a bad cookie.
    let r = send(
        &app,
        "GET",
        "/whoami",
        &[
            ("authorization", h.as_bytes()),
            ("cookie", b"at=bad.token.x"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn several_issuers_each_with_own_rules() {
    let other_iss = "https://other.test";
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .issuer(
            tollgate::IssuerConfig::new(other_iss)
                .audience("other-aud")
                .public_key_pem(
                    String::from_utf8(read_key("ed25519.pub.pem")).unwrap(),
                    tollgate::Algorithm::EdDSA,
                ),
        )
        .build()
        .unwrap();
    let app = app(auth);
    let mut c = claims();
    c["iss"] = json!(other_iss);
    c["aud"] = json!("other-aud");
    assert_eq!(
        get_bearer(&app, "/whoami", &mint(Algorithm::EdDSA, None, &c))
            .await
            .status,
        StatusCode::OK
    );
    // Issuer B's claims signed with issuer A's key: refused.
    assert_invalid_token(&get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await);
    // Issuer A's token with issuer B's audience: refused.
    let mut c = claims();
    c["aud"] = json!("other-aud");
    assert_invalid_token(&get_bearer(&app, "/whoami", &mint(Algorithm::HS256, None, &c)).await);
}

#[tokio::test]
async fn typed_claims_without_reverifying() {
    #[derive(serde::Deserialize)]
    struct Mine {
        account_id: String,
        tier: u8,
    }
    let auth = hmac_auth();
    let mut c = claims();
    c["tier"] = json!(3);
    let ctx = auth
        .verify_access_token(&mint(Algorithm::HS256, None, &c))
        .await
        .unwrap();
    let mine: Mine = ctx.claims().unwrap();
    assert_eq!((mine.account_id.as_str(), mine.tier), ("acct-9", 3));
    assert!(ctx.require_scope("orders:read").is_ok());
    assert_eq!(ctx.require_scope("orders:write").unwrap_err().status(), 403);
    let dbg = format!("{ctx:?}");
    assert!(!dbg.contains("tier"), "claims stay out of Debug");
}

#[test]
fn configuration_errors_are_clear() {
    install_backend();
    let base = || tollgate::IssuerConfig::new(ISSUER).audience(AUDIENCE);
    let cases: Vec<(tollgate::AuthenticatorBuilder, &str)> = vec![
        (tollgate::Authenticator::builder(), "no issuer"),
        (
            tollgate::Authenticator::builder().issuer(base()),
            "no key source",
        ),
        (
            tollgate::Authenticator::builder()
                .issuer(tollgate::IssuerConfig::new(ISSUER).hmac_secret(HMAC_SECRET)),
            "audience",
        ),
        (
            tollgate::Authenticator::builder().issuer(base().hmac_secret("short")),
            "at least 32 bytes",
        ),
        (
            tollgate::Authenticator::builder().issuer(base().jwks_url("ftp://x")),
            "http(s)",
        ),
    ];
    for (builder, needle) in cases {
        let err = builder.build().unwrap_err().to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    }
    // Algorithms are typed: an unknown name is refused when the file is read.
    let err = serde_json::from_value::<tollgate::IssuerConfig>(json!({
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "keys": [{ "type": "hmac_secret", "secret": HMAC_SECRET }],
        "algorithms": ["RS257"],
    }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("RS257"), "{err}");
    let err = serde_json::from_value::<tollgate::KeySource>(json!({
        "type": "public_key_pem", "pem": "x", "algorithm": "rs256",
    }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("rs256"), "{err}");
}

#[test]
fn config_deserializes_from_json() {
    install_backend();
    let cfg: tollgate::AuthConfig = serde_json::from_value(json!({
        "realm": "shop",
        "issuers": [{
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "keys": [{"type": "hmac_secret", "secret": HMAC_SECRET}],
            "leeway_secs": 5
        }],
        "scopes": {"separator": "_", "write_implies_read": true},
        "claims": {"scope": "permissions"},
        "expired_status": 498
    }))
    .unwrap();
    assert!(
        !format!("{cfg:?}").contains(HMAC_SECRET),
        "secrets are redacted in Debug"
    );
    tollgate::Authenticator::from_config(cfg).unwrap();
    let bad: Result<tollgate::AuthConfig, _> =
        serde_json::from_value(json!({"issuers": [], "typo": 1}));
    assert!(bad.is_err());
}

/// RFC 7519 §4.1: registered claims of the wrong type are refused, never
/// coerced (a numeric `sub` used to be read as the string of its digits).
#[tokio::test]
async fn registered_claims_of_the_wrong_type_are_refused() {
    let app = app(hmac_auth());
    for (claim, value) in [
        ("sub", json!(12345)),
        ("sub", json!({"id": "admin"})),
        ("sub", json!(["a", "b"])),
        ("iss", json!([ISSUER])),
        ("exp", json!("9999999999")),
        ("nbf", json!(true)),
        ("iat", json!([1])),
        ("aud", json!([AUDIENCE, 1])),
        ("aud", json!({"aud": AUDIENCE})),
        ("client_id", json!(42)),
        ("account_id", json!(["acct-9"])),
        ("scope", json!(7)),
        ("scope", json!(["orders:read", 7])),
    ] {
        let mut c = claims();
        c[claim] = value.clone();
        let token = mint(Algorithm::HS256, None, &c);
        let r = get_bearer(&app, "/whoami", &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{claim} = {value}");
        assert!(
            r.www_authenticate
                .as_deref()
                .is_some_and(|w| w.contains("invalid_token")),
            "{claim} = {value}: {:?}",
            r.www_authenticate
        );
    }
}
