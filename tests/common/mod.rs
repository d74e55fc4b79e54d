//! Test helpers: the tests' own keys, token minting, an axum app, and a real
//! JWKS server on 127.0.0.1 that counts its fetches.
#![allow(dead_code, unreachable_pub)]

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, jwk::Jwk};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate::axum::{Auth, require_layer};
use tollgate::policy::scope;
use tollgate::tower::AuthLayer;
use tollgate::{Authenticator, CryptoBackend};
use tower::ServiceExt;

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "orders-api";
pub const HMAC_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";

pub fn key_path(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn read_key(name: &str) -> Vec<u8> {
    std::fs::read(key_path(name)).unwrap()
}

pub fn install_backend() {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
}

/// The private key used to sign `alg` tokens in tests.
pub fn encoding_key(alg: Algorithm) -> EncodingKey {
    install_backend();
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(HMAC_SECRET.as_bytes())
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => EncodingKey::from_rsa_pem(&read_key("rsa.pem")).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&read_key("ec256.pem")).unwrap(),
        Algorithm::ES384 => EncodingKey::from_ec_pem(&read_key("ec384.pem")).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&read_key("ed25519.pem")).unwrap(),
        _ => unreachable!(),
    }
}

pub fn public_pem(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ec256.pub.pem",
        Algorithm::ES384 => "ec384.pub.pem",
        Algorithm::EdDSA => "ed25519.pub.pem",
        _ => "rsa.pub.pem",
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Default valid claims.
pub fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client-123",
        "client_id": "client-123",
        "account_id": "acct-9",
        "scope": "orders:read customer:read",
        "iat": now(),
        "exp": now() + 300,
    })
}

pub fn mint_with(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

pub fn mint(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    mint_with(alg, kid, claims, &encoding_key(alg))
}

/// A public JWK for `alg` with `kid` (and `use: sig`).
pub fn jwk(alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    let mut v = serde_json::to_value(jwk).unwrap();
    v["use"] = json!("sig");
    v
}

pub fn jwks(keys: &[(Algorithm, &str)]) -> Value {
    json!({ "keys": keys.iter().map(|(a, k)| jwk(*a, k)).collect::<Vec<_>>() })
}

/// A base64url (no padding) encoding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The routes of `examples/axum_api.rs`, over `auth`.
pub fn app(auth: Authenticator) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|Auth(ctx): Auth| async move { axum::Json(ctx) }),
        )
        .route(
            "/orders",
            get(|| async { "orders" })
                .route_layer(require_layer(scope("orders:read")))
                .merge(
                    post(|| async { "created" }).route_layer(require_layer(scope("orders:write"))),
                ),
        )
        .route(
            "/customers/{id}",
            get(|| async { "customer" }).route_layer(require_layer(scope("customer:read"))),
        )
        .route(
            "/optional",
            get(|auth: Option<Auth>| async move {
                match auth {
                    Some(a) => a.client_id().unwrap_or("?").to_owned(),
                    None => "anonymous".to_owned(),
                }
            }),
        )
        .layer(AuthLayer::required(auth))
}

pub fn hmac_auth() -> Authenticator {
    Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .build()
        .unwrap()
}

/// An authenticator trusting every test key family (static PEM keys with kids).
pub fn all_keys_auth() -> Authenticator {
    install_backend();
    let mut issuer = tollgate::IssuerConfig::new(ISSUER).audience(AUDIENCE);
    issuer = issuer.key(tollgate::KeySource::HmacSecret {
        secret: tollgate::Secret::new(HMAC_SECRET),
        algorithm: Some(tollgate::Algorithm::HS256),
        allow_short: false,
    });
    let keys: Vec<(Algorithm, &str)> = vec![
        (Algorithm::RS256, "rs256"),
        (Algorithm::RS384, "rs384"),
        (Algorithm::RS512, "rs512"),
        (Algorithm::PS256, "ps256"),
        (Algorithm::PS384, "ps384"),
        (Algorithm::PS512, "ps512"),
        (Algorithm::ES256, "es256"),
        (Algorithm::ES384, "es384"),
        (Algorithm::EdDSA, "eddsa"),
    ];
    for (alg, kid) in keys {
        issuer = issuer.key(tollgate::KeySource::PublicKeyPem {
            pem: String::from_utf8(read_key(public_pem(alg))).unwrap(),
            algorithm: alg,
            kid: Some(kid.into()),
        });
    }
    Authenticator::builder().issuer(issuer).build().unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub www_authenticate: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn error(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }
}

/// Sends a GET with these raw header pairs.
pub async fn send(app: &Router, method: &str, path: &str, headers: &[(&str, &[u8])]) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, http::HeaderValue::from_bytes(v).unwrap());
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let www_authenticate = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        www_authenticate,
        body,
        text,
    }
}

pub async fn get_bearer(app: &Router, path: &str, token: &str) -> Reply {
    let h = format!("Bearer {token}");
    send(app, "GET", path, &[("authorization", h.as_bytes())]).await
}

/// What the JWKS server answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    Serve,
    Status(u16),
    Garbage,
    Hang,
}

/// A real JWKS (and OIDC discovery) server on 127.0.0.1:ephemeral.
pub struct JwksServer {
    pub base: String,
    pub fetches: Arc<AtomicU64>,
    pub jwks: Arc<Mutex<Value>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    pub cache_control: Arc<Mutex<Option<String>>>,
    pub etag: Arc<Mutex<Option<String>>>,
    pub not_modified: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(jwks: Value) -> Self {
        let fetches = Arc::new(AtomicU64::new(0));
        let not_modified = Arc::new(AtomicU64::new(0));
        let jwks = Arc::new(Mutex::new(jwks));
        let behaviour = Arc::new(Mutex::new(Behaviour::Serve));
        let cache_control = Arc::new(Mutex::new(None::<String>));
        let etag = Arc::new(Mutex::new(None::<String>));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());

        let (f, j, b, cc, et, nm) = (
            fetches.clone(),
            jwks.clone(),
            behaviour.clone(),
            cache_control.clone(),
            etag.clone(),
            not_modified.clone(),
        );
        let jwks_route = get(move |headers: http::HeaderMap| {
            let (f, j, b, cc, et, nm) = (
                f.clone(),
                j.clone(),
                b.clone(),
                cc.clone(),
                et.clone(),
                nm.clone(),
            );
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let behaviour = b.lock().unwrap().clone();
                let mut res = http::Response::builder();
                if let Some(cc) = cc.lock().unwrap().clone() {
                    res = res.header("cache-control", cc);
                }
                let etag = et.lock().unwrap().clone();
                if let Some(e) = &etag {
                    res = res.header("etag", e.as_str());
                }
                match behaviour {
                    Behaviour::Serve => {
                        if let (Some(e), Some(inm)) = (&etag, headers.get("if-none-match"))
                            && inm.as_bytes() == e.as_bytes()
                        {
                            nm.fetch_add(1, Ordering::SeqCst);
                            return res.status(304).body(Body::empty()).unwrap();
                        }
                        let body = j.lock().unwrap().to_string();
                        res.header("content-type", "application/json")
                            .body(Body::from(body))
                            .unwrap()
                    }
                    Behaviour::Status(s) => res.status(s).body(Body::from("oops")).unwrap(),
                    Behaviour::Garbage => res.body(Body::from("<html>not json</html>")).unwrap(),
                    Behaviour::Hang => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        res.body(Body::empty()).unwrap()
                    }
                }
            }
        });
        let base_for_doc = base.clone();
        let app = Router::new().route("/jwks", jwks_route).route(
            "/.well-known/openid-configuration",
            get(move || {
                let base = base_for_doc.clone();
                async move {
                    axum::Json(json!({
                        "issuer": base,
                        "jwks_uri": format!("{base}/jwks"),
                        "token_endpoint": format!("{base}/token"),
                    }))
                }
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            fetches,
            jwks,
            behaviour,
            cache_control,
            etag,
            not_modified,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/jwks", self.base)
    }

    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().unwrap() = b;
    }

    pub fn set_jwks(&self, v: Value) {
        *self.jwks.lock().unwrap() = v;
    }

    /// Stops accepting connections: the port refuses from now on.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

use std::io::BufRead as _;

/// An example binary running as a child process; killed on drop.
pub struct ExampleServer {
    child: std::process::Child,
    pub base: String,
    pub stdout_lines: Vec<String>,
}

impl ExampleServer {
    /// The process's resident memory in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn example_path(name: &str) -> std::path::PathBuf {
    // target/<profile>/deps/<test-binary> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples").join(name)
}

/// Starts `examples/<name>` on an ephemeral port with `envs` (the
/// `TOLLGATE_*` variables not given are removed) and waits for its
/// `listening on` line.
pub fn start_example(name: &str, envs: &[(&str, &str)]) -> ExampleServer {
    let path = example_path(name);
    if !path.exists() {
        // `cargo test --test example_process` alone does not build examples.
        let features = match name {
            "actix_api" => "actix,macros",
            "grpc_api" => "tower,aws_lc_rs",
            "shop" | "partner_app" => "issuer,redis,login,metrics,openapi",
            "shop_actix" => "issuer,actix,redis,login,metrics,openapi",
            _ => "",
        };
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--example", name, "--features", features])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building example {name}");
    }
    let mut cmd = std::process::Command::new(path);
    cmd.env("TOLLGATE_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    for var in [
        "TOLLGATE_ISSUER",
        "TOLLGATE_AUDIENCE",
        "TOLLGATE_JWKS_URL",
        "TOLLGATE_DISCOVERY",
        "TOLLGATE_HS256_SECRET",
        "TOLLGATE_SCOPE_CLAIM",
        "TOLLGATE_EXPIRED_STATUS",
        "TOLLGATE_LEEWAY_SECS",
        "TOLLGATE_REDIS_URL",
        "TOLLGATE_DEMO_CLIENT_ID",
        "TOLLGATE_DEMO_CLIENT_SECRET",
        "TOLLGATE_DEMO_CUSTOMER_EMAIL",
        "TOLLGATE_DEMO_CUSTOMER_PASSWORD",
        "TOLLGATE_DEMO_PUBLIC_CLIENT_ID",
        "TOLLGATE_DEMO_REDIRECT_URIS",
        "TOLLGATE_DEMO_ADMIN_SECRET",
        "TOLLGATE_PARTNER_URL",
        "PARTNER_BIND",
        "PARTNER_SHOP_URL",
        "PARTNER_CLIENT_ID",
        "PARTNER_CLIENT_SECRET",
        "PARTNER_REDIRECT_URI",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the example is built by `cargo test`");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let base = loop {
        let line = lines
            .next()
            .expect("example exited before listening")
            .unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.to_owned();
        }
        seen.push(line);
    };
    ExampleServer {
        child,
        base,
        stdout_lines: seen,
    }
}

/// Whether a Redis answers on 127.0.0.1:6379.
pub fn redis_up() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        std::time::Duration::from_millis(300),
    )
    .is_ok()
}

/// One HTTP call to a running example: status and JSON body (`Null` when
/// the body is not JSON).
pub async fn http_call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    headers: &[(&str, String)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

/// A client-credentials token request (`client_secret_basic`) to `base`.
pub async fn client_credentials(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> (u16, Value) {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let res = http
        .post(format!("{base}/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}
