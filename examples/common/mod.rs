//! What `axum_api` and `actix_api` share: the environment contract, the
//! embedded demo key, and the printed curl walk-through.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::time::{SystemTime, UNIX_EPOCH};
use tollgate::{AuthConfig, Authenticator, ClaimNames, IssuerConfig, KeySource, Secret};

pub const DEFAULT_ISSUER: &str = "https://tollgate.local";
const DEFAULT_AUDIENCE: &str = "tollgate-demo";
const DEFAULT_BIND: &str = "127.0.0.1:3000";

pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn parse_env<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name}={v:?} is not valid")),
    }
}

/// A signing key generated for this run, with what the verifier needs.
pub struct DemoKey {
    encoding: EncodingKey,
    public_raw: Vec<u8>,
}

pub fn generate_demo_key() -> Result<DemoKey, String> {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
        .map_err(|_| "cannot generate an Ed25519 key".to_string())?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| "cannot load the generated key".to_string())?;
    Ok(DemoKey {
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
        public_raw: pair.public_key().as_ref().to_vec(),
    })
}

pub fn build_config(demo: Option<&DemoKey>) -> Result<AuthConfig, String> {
    let issuer = env("TOLLGATE_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into());
    let audience = env("TOLLGATE_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into());
    let mut ic = IssuerConfig::new(issuer)
        .audience(audience)
        .leeway_secs(parse_env("TOLLGATE_LEEWAY_SECS", 60u64)?);
    let sources = [
        env("TOLLGATE_JWKS_URL").is_some(),
        env("TOLLGATE_DISCOVERY").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        env("TOLLGATE_HS256_SECRET").is_some(),
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        return Err(
            "set only one of TOLLGATE_JWKS_URL, TOLLGATE_DISCOVERY=1 and TOLLGATE_HS256_SECRET"
                .into(),
        );
    }
    if let Some(url) = env("TOLLGATE_JWKS_URL") {
        ic = ic.jwks_url(url);
    } else if sources[1] {
        ic = ic.discovery();
    } else if let Some(secret) = env("TOLLGATE_HS256_SECRET") {
        if secret.len() < 32 {
            eprintln!(
                "warning: TOLLGATE_HS256_SECRET is shorter than the 32 bytes RFC 7518 requires"
            );
        }
        ic = ic.key(KeySource::HmacSecret {
            secret: Secret::new(secret),
            algorithm: Some(tollgate::Algorithm::HS256),
            allow_short: true,
        });
    } else if let Some(demo) = demo {
        ic = ic.key(KeySource::PublicKeyDer {
            der_base64: base64::engine::general_purpose::STANDARD.encode(&demo.public_raw),
            algorithm: tollgate::Algorithm::EdDSA,
            kid: Some("demo".into()),
        });
    }
    let expired_status =
        tollgate::ExpiredStatus::try_from(parse_env("TOLLGATE_EXPIRED_STATUS", 401u16)?)
            .map_err(|e| e.to_string())?;
    // `TOLLGATE_TOKEN_CACHE=off` verifies every request (to measure the
    // uncached path from outside with the same binary).
    let cache = match env("TOLLGATE_TOKEN_CACHE").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(format!(
                "TOLLGATE_TOKEN_CACHE must be on or off, not {other:?}"
            ));
        }
    };
    // `TOLLGATE_DPOP`: off, allowed (default) or required; `TOLLGATE_PUBLIC_URL`:
    // the external base URL DPoP proofs name (`htu`), default http:// + the
    // bind address.
    let dpop_policy = match env("TOLLGATE_DPOP") {
        None => tollgate::DpopPolicy::Allowed,
        Some(v) => v
            .parse::<tollgate::DpopPolicy>()
            .map_err(|e| format!("TOLLGATE_DPOP: {e}"))?,
    };
    // Without TOLLGATE_PUBLIC_URL the proof's `htu` is checked against the
    // request's own URI (RFC 9449 §4.3: `http://` + its Host + path), which
    // is the bind address when the server is called directly, whatever port
    // an ephemeral bind picked.
    let mut dpop = tollgate::DpopConfig::default()
        .with_policy(dpop_policy)
        .with_scheme("http");
    if let Some(url) = env("TOLLGATE_PUBLIC_URL") {
        dpop = dpop.with_public_url(url);
    }
    // `TOLLGATE_INTROSPECTION_URL` (+ `_CLIENT_ID`, `_CLIENT_SECRET`): opaque
    // access tokens are introspected there (RFC 7662); JWTs stay local.
    let introspection = match env("TOLLGATE_INTROSPECTION_URL") {
        None => None,
        Some(url) => Some(tollgate::IntrospectionSettings::new(
            url,
            env("TOLLGATE_INTROSPECTION_CLIENT_ID")
                .ok_or("TOLLGATE_INTROSPECTION_URL needs TOLLGATE_INTROSPECTION_CLIENT_ID")?,
            env("TOLLGATE_INTROSPECTION_CLIENT_SECRET")
                .ok_or("TOLLGATE_INTROSPECTION_URL needs TOLLGATE_INTROSPECTION_CLIENT_SECRET")?,
        )),
    };
    let mut config = AuthConfig::default();
    if let Some(i) = introspection {
        config = config.with_introspection(i);
    }
    // `TOLLGATE_ERROR_FORMAT`: the refusal body, `json` (default), `problem`
    // (RFC 9457) or `empty`; status and challenge are the same for all.
    if let Some(f) = env("TOLLGATE_ERROR_FORMAT") {
        config = config.with_error_format(
            f.parse::<tollgate::render::ErrorFormat>()
                .map_err(|e| format!("TOLLGATE_ERROR_FORMAT: {e}"))?,
        );
    }
    // `TOLLGATE_TOKEN_HEADER`: a header that carries the bearer token too
    // (bare or `Bearer …`), for example `X-Api-Key`.
    if let Some(h) = env("TOLLGATE_TOKEN_HEADER") {
        config = config.with_credentials(tollgate::CredentialSources::default().with_header(h));
    }
    Ok(config
        .with_issuer(ic)
        .with_dpop(dpop)
        .with_claims(
            ClaimNames::default()
                .with_scope(env("TOLLGATE_SCOPE_CLAIM").unwrap_or_else(|| "scope".into())),
        )
        .with_expired_status(expired_status)
        .with_token_cache(tollgate::TokenCacheSettings::default().with_enabled(cache)))
}

pub fn mint_demo_token(key: &DemoKey, cfg: &AuthConfig, scopes: &str) -> Result<String, String> {
    mint_demo_token_with(key, cfg, scopes, serde_json::json!({}))
}

/// [`mint_demo_token`] with `extra` claims (an object) added, e.g. a `cnf`.
pub fn mint_demo_token_with(
    key: &DemoKey,
    cfg: &AuthConfig,
    scopes: &str,
    extra: serde_json::Value,
) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let issuer = cfg.issuers.first().ok_or("no issuer")?;
    let claims = serde_json::json!({
        "iss": issuer.issuer,
        "aud": issuer.audiences.first(),
        "sub": "demo-app",
        "client_id": "demo-app",
        "account_id": "demo-account",
        cfg.claims.scope.clone(): scopes,
        "iat": now,
        "exp": now + 3600,
    });
    let mut claims = claims;
    if let (Some(all), serde_json::Value::Object(extra)) = (claims.as_object_mut(), extra) {
        all.extend(extra);
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("demo".into());
    jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|e| e.to_string())
}

/// Everything a demo server needs from the environment.
pub struct Setup {
    pub bind: String,
    pub config: AuthConfig,
    pub demo: Option<DemoKey>,
    pub auth: Authenticator,
}

/// Reads the environment contract and builds the authenticator.
pub async fn setup() -> Result<Setup, String> {
    setup_with(|c| c).await
}

/// [`setup`], with the configuration adjusted by `adjust` before the
/// authenticator is built.
pub async fn setup_with(adjust: impl FnOnce(AuthConfig) -> AuthConfig) -> Result<Setup, String> {
    let bind = env("TOLLGATE_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
    let embedded = [
        "TOLLGATE_JWKS_URL",
        "TOLLGATE_DISCOVERY",
        "TOLLGATE_HS256_SECRET",
    ]
    .iter()
    .all(|v| env(v).is_none());
    tollgate::install_crypto_backend(tollgate::CryptoBackend::AwsLcRs)
        .map_err(|e| e.to_string())?;
    let demo = if embedded {
        Some(generate_demo_key()?)
    } else {
        None
    };
    let config = adjust(build_config(demo.as_ref())?);
    let auth = Authenticator::from_config(config.clone()).map_err(|e| e.to_string())?;
    if !embedded && let Err(e) = auth.prefetch_keys().await {
        eprintln!("warning: {e}; requests answer 503 until the keys can be fetched");
    }
    Ok(Setup {
        bind,
        config,
        demo,
        auth,
    })
}

/// Prints the curl walk-through (embedded mode) and the `listening on` line.
pub fn announce(setup: &Setup, addr: std::net::SocketAddr) -> Result<(), String> {
    if let Some(key) = &setup.demo {
        println!(
            "embedded demo issuer {DEFAULT_ISSUER}, audience {DEFAULT_AUDIENCE}; tokens valid for 1 hour:"
        );
        let routes = [
            ("GET", "/whoami", "orders:read orders:write customer:read"),
            ("GET", "/orders", "orders:read"),
            ("POST", "/orders", "orders:write"),
            ("GET", "/customers/42", "customer:read"),
        ];
        for (method, path, scopes) in routes {
            let token = mint_demo_token(key, &setup.config, scopes)?;
            println!("curl -i -X {method} http://{addr}{path} -H 'Authorization: Bearer {token}'");
        }
    }
    println!("listening on http://{addr}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    Ok(())
}
