//! The authorization-code flow of the embedded issuer over real HTTP (no
//! browser): authorize, the login and consent forms, the code exchange
//! with PKCE, refresh-token rotation and reuse detection, RFC 7009
//! revocation, and the errors of each step (issue 11). Every case asserts
//! the exact status and `error` code.
#![cfg(feature = "issuer")]

mod common;

use async_trait::async_trait;
use axum::routing::get;
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tollgate::issuer::{
    CodeFlow, CodeFlowSettings, CustomerDirectory, DirectoryError, InMemoryClients, KeyRing,
    Minter, NewClient, SigningAlgorithm, SigningKey, TokenEndpointSettings,
};
use tollgate::revocation::MemoryRevocations;
use tollgate::{Auth, Authenticator, IssuerConfig};

const SECRET: &str = "confidential-client-secret-0123";
const EMAIL: &str = "ann@example.test";
const PASSWORD: &str = "right-password";

#[derive(Debug)]
struct Directory;

#[async_trait]
impl CustomerDirectory for Directory {
    async fn check_password(
        &self,
        account: &str,
        email: &str,
        password: &str,
    ) -> Result<Option<String>, DirectoryError> {
        // A real check hashes for tens of milliseconds (Argon2id): guesses
        // sent at once are all in flight before the first one fails.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(
            (account == "acct" && email == EMAIL && password == PASSWORD)
                .then(|| "cust-ann".to_owned()),
        )
    }
}

struct Platform {
    base: String,
    http: reqwest::Client,
    redirect: String,
    _task: Server,
}

/// The running server; stopped when the platform is dropped.
enum Server {
    Tokio(tokio::task::JoinHandle<()>),
    #[cfg(feature = "actix")]
    Actix(actix_web::dev::ServerHandle),
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Self::Tokio(t) => t.abort(),
            #[cfg(feature = "actix")]
            Self::Actix(h) => {
                // The stop command is sent when `stop` is called; its future
                // only waits for completion.
                drop(h.stop(false));
            }
        }
    }
}

/// Which adapter serves the issuer and the API: every case runs on both.
#[derive(Clone, Copy, Debug)]
enum Fw {
    Axum,
    #[cfg(feature = "actix")]
    Actix,
}

const BOTH: &[Fw] = &[
    Fw::Axum,
    #[cfg(feature = "actix")]
    Fw::Actix,
];

async fn platform(fw: Fw, settings: CodeFlowSettings) -> Platform {
    platform_with(fw, settings, None).await
}

fn whoami_body(ctx: &tollgate::AuthContext) -> Value {
    serde_json::json!({
        "customer": ctx.customer(),
        "client": ctx.client_id(),
        "account": ctx.account(),
        "scoped": ctx.is_customer_scoped(),
        "own": ctx.ensure_customer("cust-ann").is_ok(),
        "other": ctx.ensure_customer("cust-bob").is_ok(),
        "scopes": ctx.scopes().iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>(),
    })
}

/// A platform: issuer routes with the code flow, and `/whoami` guarded by
/// an authenticator that trusts the issuer and its revocations.
async fn platform_with(fw: Fw, settings: CodeFlowSettings, stores: Option<CodeFlow>) -> Platform {
    common::install_backend();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = "http://127.0.0.1:9/callback".to_owned();
    let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).unwrap());
    let minter = Minter::new(base.clone(), "shop-api", ring);
    let clients = Arc::new(InMemoryClients::default());
    clients
        .register(
            NewClient::public("web", "acct", "orders:read orders:write customer:read")
                .with_redirect_uris(vec![redirect.clone()]),
        )
        .unwrap();
    clients
        .register(
            NewClient::confidential("srv", SECRET, "acct", "orders:read customer:read")
                .with_redirect_uris(vec![redirect.clone()]),
        )
        .unwrap();
    clients
        .register(NewClient::confidential(
            "resource-server",
            SECRET,
            "acct",
            "tokens:read",
        ))
        .unwrap();
    let revocations = Arc::new(MemoryRevocations::default());
    let flow = stores
        .unwrap_or_else(|| CodeFlow::in_memory(Arc::new(Directory)))
        .with_revocations(revocations.clone())
        .with_settings(settings);
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(base.clone())
                .audience("shop-api")
                .jwks_url(format!("{base}/.well-known/jwks.json")),
        )
        .revocations(revocations)
        .build()
        .unwrap();
    let settings = TokenEndpointSettings::default()
        .with_code_flow(flow)
        .with_introspection(auth.clone());
    let clients: Arc<dyn tollgate::issuer::ClientRegistry> = clients;
    let task = match fw {
        Fw::Axum => {
            let api = axum::Router::new()
                .route(
                    "/whoami",
                    get(|Auth(ctx): Auth| async move { axum::Json(whoami_body(&ctx)) }),
                )
                .layer(tollgate::tower::AuthLayer::required(auth));
            let app = tollgate::issuer::router(minter, clients, settings).merge(api);
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let task = tokio::spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                .await
                .unwrap()
            });
            Server::Tokio(task)
        }
        #[cfg(feature = "actix")]
        Fw::Actix => {
            use actix_web::{App, HttpResponse, HttpServer, web};
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .configure(tollgate::issuer::actix::configure(
                                minter.clone(),
                                clients.clone(),
                                settings.clone(),
                            ))
                            .service(
                                web::resource("/whoami")
                                    .wrap(tollgate::actix::AuthMiddleware::required(auth.clone()))
                                    .route(web::get().to(|Auth(ctx): Auth| async move {
                                        HttpResponse::Ok().json(whoami_body(&ctx))
                                    })),
                            )
                    })
                    .workers(1)
                    .listen(listener)
                    .unwrap()
                    .run();
                    tx.send(server.handle()).unwrap();
                    server.await.unwrap();
                });
            });
            Server::Actix(rx.recv().unwrap())
        }
    };
    Platform {
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        redirect,
        _task: task,
    }
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap();
    let verifier = common::b64(b);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, common::b64(digest.as_ref()))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The hidden and named inputs of an HTML form (the pages escape `&<>"'`).
fn inputs(html: &str) -> HashMap<String, String> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let mut out = HashMap::new();
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|i| {
                let rest = &tag[i + key.len()..];
                unescape(&rest[..rest.find('"').unwrap_or(rest.len())])
            })
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.insert(n, v);
        }
    }
    out
}

fn form(fields: &HashMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn query_of(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

struct Page {
    status: u16,
    location: Option<String>,
    cookie: Option<String>,
    body: String,
}

async fn fetch(req: reqwest::RequestBuilder) -> Page {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .next();
    let body = res.text().await.unwrap();
    Page {
        status,
        location,
        cookie,
        body,
    }
}

fn authorize_query(p: &Platform, client: &str, challenge: Option<&str>, extra: &str) -> String {
    let mut q = format!(
        "response_type=code&client_id={client}&redirect_uri={}&state=st-123",
        enc(&p.redirect)
    );
    if let Some(c) = challenge {
        q.push_str(&format!("&code_challenge={c}&code_challenge_method=S256"));
    }
    q.push_str(extra);
    q
}

/// Runs authorize → login → consent; returns the final redirect.
async fn login(p: &Platform, query: &str, password: &str, decision: &str) -> Page {
    let page = fetch(p.http.get(format!("{}/oauth/authorize?{query}", p.base))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page.cookie.clone().expect("a CSRF cookie");
    let mut fields = inputs(&page.body);
    fields.insert("email".into(), EMAIL.into());
    fields.insert("password".into(), password.into());
    let consent = fetch(
        p.http
            .post(format!("{}/oauth/authorize/login", p.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&fields)),
    )
    .await;
    if consent.status != 200 {
        return consent;
    }
    let mut fields = inputs(&consent.body);
    fields.insert("decision".into(), decision.into());
    fetch(
        p.http
            .post(format!("{}/oauth/authorize/consent", p.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&fields)),
    )
    .await
}

/// A code for `client` (with PKCE when `challenge` is given).
async fn code(p: &Platform, client: &str, challenge: Option<&str>, extra: &str) -> String {
    let done = login(
        p,
        &authorize_query(p, client, challenge, extra),
        PASSWORD,
        "allow",
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let q = query_of(done.location.as_deref().unwrap());
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], p.base);
    q["code"].clone()
}

async fn token(p: &Platform, body: String, basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = p
        .http
        .post(format!("{}/oauth/token", p.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

async fn exchange(p: &Platform, code: &str, verifier: Option<&str>, client: &str) -> (u16, Value) {
    let mut body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}",
        enc(code),
        enc(&p.redirect)
    );
    if let Some(v) = verifier {
        body.push_str(&format!("&code_verifier={v}"));
    }
    if client == "srv" {
        token(p, body, Some(("srv", SECRET))).await
    } else {
        token(p, format!("{body}&client_id={client}"), None).await
    }
}

async fn refresh(p: &Platform, refresh_token: &str, client: &str) -> (u16, Value) {
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        enc(refresh_token)
    );
    if client == "srv" {
        token(p, body, Some(("srv", SECRET))).await
    } else {
        token(p, format!("{body}&client_id={client}"), None).await
    }
}

async fn whoami(p: &Platform, access: &str) -> (u16, Value) {
    let res = p
        .http
        .get(format!("{}/whoami", p.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn public_client_logs_a_customer_in_and_refreshes() {
    for fw in BOTH {
        public_client_logs_a_customer_in_and_refreshes_on(*fw).await;
    }
}

async fn public_client_logs_a_customer_in_and_refreshes_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let (verifier, challenge) = pkce();
    let code = code(
        &p,
        "web",
        Some(&challenge),
        "&scope=openid%20orders:read%20admin:write&nonce=n-42",
    )
    .await;
    assert!(code.len() >= 43, "codes carry at least 256 bits");
    let (status, body) = exchange(&p, &code, Some(&verifier), "web").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid orders:read");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let at = claims(&access);
    assert_eq!(at["sub"], "cust-ann");
    assert_eq!(at["client_id"], "web");
    assert_eq!(at["scope"], "orders:read");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-42");
    assert_eq!(id["aud"], "web");
    assert_eq!(id["sub"], "cust-ann");

    // The verifier accepts it on its own; the context names the customer.
    let (status, me) = whoami(&p, &access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["customer"], "cust-ann");
    assert_eq!(me["client"], "web");
    assert_eq!(me["account"], "acct");
    assert_eq!(me["scoped"], true);
    assert_eq!(me["own"], true);
    assert_eq!(
        me["other"], false,
        "ensure_customer holds it to its customer"
    );
    // An ID token is not an access token (its audience is the client).
    let (status, _) = whoami(&p, body["id_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);

    // Rotation: each refresh token works once.
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, b2) = refresh(&p, &r1, "web").await;
    assert_eq!(status, 200, "{b2}");
    let r2 = b2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access2 = b2["access_token"].as_str().unwrap().to_owned();
    assert_eq!(whoami(&p, &access2).await.0, 200);
    let (status, b3) = refresh(&p, &r2, "web").await;
    assert_eq!(status, 200, "{b3}");
    let r3 = b3["refresh_token"].as_str().unwrap().to_owned();
    let access3 = b3["access_token"].as_str().unwrap().to_owned();

    // Reuse of a spent token revokes the whole family (RFC 9700 §4.14):
    // the current refresh token and the family's access tokens stop working.
    let (status, err) = refresh(&p, &r1, "web").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, err) = refresh(&p, &r3, "web").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    for a in [&access, &access2, &access3] {
        assert_eq!(whoami(&p, a).await.0, 401);
    }
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_gave() {
    for fw in BOTH {
        a_replayed_code_fails_and_revokes_what_it_gave_on(*fw).await;
    }
}

async fn a_replayed_code_fails_and_revokes_what_it_gave_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let (verifier, challenge) = pkce();
    let code = code(&p, "web", Some(&challenge), "").await;
    let (status, first) = exchange(&p, &code, Some(&verifier), "web").await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(whoami(&p, access).await.0, 200);
    let (status, err) = exchange(&p, &code, Some(&verifier), "web").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        whoami(&p, access).await.0,
        401,
        "the first use's access token is revoked"
    );
    let (status, err) = refresh(&p, first["refresh_token"].as_str().unwrap(), "web").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn code_exchange_errors() {
    for fw in BOTH {
        code_exchange_errors_on(*fw).await;
    }
}

async fn code_exchange_errors_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let (verifier, challenge) = pkce();
    let invalid_grant = (400, Some("invalid_grant"));

    // Wrong verifier; then the code is spent.
    let c = code(&p, "web", Some(&challenge), "").await;
    let (s, e) = exchange(&p, &c, Some(&pkce().0), "web").await;
    assert_eq!((s, e["error"].as_str()), invalid_grant);
    // Missing verifier.
    let c = code(&p, "web", Some(&challenge), "").await;
    let (s, e) = exchange(&p, &c, None, "web").await;
    assert_eq!((s, e["error"].as_str()), invalid_grant);
    // Issued to client A (web), redeemed by client B (srv).
    let c = code(&p, "web", Some(&challenge), "").await;
    let (s, e) = exchange(&p, &c, Some(&verifier), "srv").await;
    assert_eq!((s, e["error"].as_str()), invalid_grant);
    // Another redirect_uri than the authorization request's.
    let c = code(&p, "srv", None, "").await;
    let (s, e) = token(
        &p,
        format!(
            "grant_type=authorization_code&code={}&redirect_uri={}",
            enc(&c),
            enc("http://127.0.0.1:9/other")
        ),
        Some(("srv", SECRET)),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), invalid_grant);
    // A verifier for a code issued without a challenge (PKCE downgrade).
    let c = code(&p, "srv", None, "").await;
    let (s, e) = exchange(&p, &c, Some(&verifier), "srv").await;
    assert_eq!((s, e["error"].as_str()), invalid_grant);
    // A confidential client without PKCE, authenticated: fine.
    let c = code(&p, "srv", None, "").await;
    let (s, body) = exchange(&p, &c, None, "srv").await;
    assert_eq!(s, 200, "{body}");
    // ... but not without its secret.
    let c = code(&p, "srv", None, "").await;
    let (s, e) = token(
        &p,
        format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id=srv",
            enc(&c),
            enc(&p.redirect)
        ),
        None,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    // Unknown code, missing code, missing redirect_uri.
    let (s, e) = exchange(&p, "no-such-code", Some(&verifier), "web").await;
    assert_eq!((s, e["error"].as_str()), invalid_grant);
    let (s, e) = token(
        &p,
        "grant_type=authorization_code&client_id=web".into(),
        None,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    let (s, e) = token(
        &p,
        "grant_type=authorization_code&code=x&client_id=web".into(),
        None,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    // A public client may not use client credentials.
    let (s, e) = token(
        &p,
        "grant_type=client_credentials&client_id=web".into(),
        None,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("unauthorized_client")));
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    for fw in BOTH {
        an_expired_code_is_refused_on(*fw).await;
    }
}

async fn an_expired_code_is_refused_on(fw: Fw) {
    let mut settings = CodeFlowSettings::default();
    settings.code_lifetime = Duration::from_secs(1);
    let p = platform(fw, settings).await;
    let (verifier, challenge) = pkce();
    let c = code(&p, "web", Some(&challenge), "").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, e) = exchange(&p, &c, Some(&verifier), "web").await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn authorize_errors_are_pages_or_redirects() {
    for fw in BOTH {
        authorize_errors_are_pages_or_redirects_on(*fw).await;
    }
}

async fn authorize_errors_are_pages_or_redirects_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let (_, challenge) = pkce();
    // Never redirected: unknown client, unregistered or prefix-matching redirect URI.
    for q in [
        authorize_query(&p, "nobody", Some(&challenge), ""),
        authorize_query(&p, "web", Some(&challenge), "").replace("callback", "callback%2Fevil"),
        authorize_query(&p, "web", Some(&challenge), "").replace("callback", "call"),
        authorize_query(&p, "web", Some(&challenge), "").replace("127.0.0.1%3A9", "evil.example"),
        format!(
            "response_type=code&client_id=web&code_challenge={challenge}&code_challenge_method=S256"
        ),
    ] {
        let page = fetch(p.http.get(format!("{}/oauth/authorize?{q}", p.base))).await;
        assert_eq!(page.status, 400, "{q}");
        assert_eq!(page.location, None, "{q}: never redirected");
    }
    // Redirected with error and state.
    for (q, error) in [
        (authorize_query(&p, "web", None, ""), "invalid_request"),
        (
            authorize_query(
                &p,
                "web",
                None,
                &format!("&code_challenge={challenge}&code_challenge_method=plain"),
            ),
            "invalid_request",
        ),
        (
            authorize_query(&p, "web", Some(&challenge), "")
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            authorize_query(&p, "web", Some(&challenge), "&scope=admin:write"),
            "invalid_scope",
        ),
    ] {
        let page = fetch(p.http.get(format!("{}/oauth/authorize?{q}", p.base))).await;
        assert_eq!(page.status, 302, "{q}");
        let loc = page.location.unwrap();
        assert!(loc.starts_with(&p.redirect), "{loc}");
        let got = query_of(&loc);
        assert_eq!(got["error"], error, "{q}");
        assert_eq!(got["state"], "st-123");
        assert!(!got.contains_key("code"));
    }
    // The login page cannot be framed and is not cached.
    let page = p
        .http
        .get(format!(
            "{}/oauth/authorize?{}",
            p.base,
            authorize_query(&p, "web", Some(&challenge), "")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn denied_consent_redirects_access_denied() {
    for fw in BOTH {
        denied_consent_redirects_access_denied_on(*fw).await;
    }
}

async fn denied_consent_redirects_access_denied_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let (_, challenge) = pkce();
    let done = login(
        &p,
        &authorize_query(&p, "web", Some(&challenge), ""),
        PASSWORD,
        "deny",
    )
    .await;
    assert_eq!(done.status, 303);
    let q = query_of(&done.location.unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn login_forms_need_the_csrf_cookie() {
    for fw in BOTH {
        login_forms_need_the_csrf_cookie_on(*fw).await;
    }
}

async fn login_forms_need_the_csrf_cookie_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let (_, challenge) = pkce();
    let q = authorize_query(&p, "web", Some(&challenge), "");
    let page = fetch(p.http.get(format!("{}/oauth/authorize?{q}", p.base))).await;
    let mut fields = inputs(&page.body);
    fields.insert("email".into(), EMAIL.into());
    fields.insert("password".into(), PASSWORD.into());
    for cookie in [
        None,
        Some("tollgate_csrf=forged-forged-forged-forged-forged"),
    ] {
        let mut req = p
            .http
            .post(format!("{}/oauth/authorize/login", p.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&fields));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = fetch(req).await;
        assert_eq!(res.status, 403, "{cookie:?}");
        assert!(!res.body.contains("Allow"), "no consent page without CSRF");
    }
}

#[tokio::test]
async fn failed_logins_are_throttled_and_look_alike() {
    for fw in BOTH {
        failed_logins_are_throttled_and_look_alike_on(*fw).await;
    }
}

async fn failed_logins_are_throttled_and_look_alike_on(fw: Fw) {
    let settings = CodeFlowSettings::default().with_failure_limits(3, 100, Duration::from_secs(60));
    let p = platform(fw, settings).await;
    let (_, challenge) = pkce();
    let q = authorize_query(&p, "web", Some(&challenge), "");
    // Wrong password and unknown email: the same status and message.
    let wrong = login(&p, &q, "wrong-password", "allow").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("The email or password is wrong."));
    let _ = login(&p, &q, "wrong-again", "allow").await;
    let _ = login(&p, &q, "wrong-thrice", "allow").await;
    // The budget for this email and address is spent: even the right
    // password is refused for now.
    let limited = login(&p, &q, PASSWORD, "allow").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
}

/// Guesses sent at once cannot overshoot the failure budget: each spends
/// an attempt before its password is checked (a check-then-count budget
/// let every guess that arrived before the first failure through).
#[tokio::test]
async fn concurrent_guesses_get_no_more_than_the_budget() {
    for fw in BOTH {
        concurrent_guesses_get_no_more_than_the_budget_on(*fw).await;
    }
}

async fn concurrent_guesses_get_no_more_than_the_budget_on(fw: Fw) {
    let settings =
        CodeFlowSettings::default().with_failure_limits(3, 100, Duration::from_secs(3600));
    let p = platform(fw, settings).await;
    let (_, challenge) = pkce();
    let q = authorize_query(&p, "web", Some(&challenge), "");
    let guesses = (0..24).map(|i| {
        let (p, q) = (&p, &q);
        async move { login(p, q, &format!("guess-{i}"), "allow").await.status }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, limited),
        (3, 21),
        "{fw:?}: only the budget's 3 guesses are checked: {statuses:?}"
    );
}

/// A login that succeeds gives its attempt back: a customer's own logins
/// never use up the failure budget.
#[tokio::test]
async fn successful_logins_do_not_use_the_failure_budget() {
    for fw in BOTH {
        let settings =
            CodeFlowSettings::default().with_failure_limits(2, 100, Duration::from_secs(3600));
        let p = platform(*fw, settings).await;
        let (_, challenge) = pkce();
        let q = authorize_query(&p, "web", Some(&challenge), "");
        for _ in 0..5 {
            let page = login(&p, &q, PASSWORD, "allow").await;
            assert!(page.status < 400, "{fw:?}: {} {}", page.status, page.body);
        }
        // Failures still count: two, then the budget is used up.
        assert_eq!(login(&p, &q, "wrong", "allow").await.status, 401);
        assert_eq!(login(&p, &q, "wrong", "allow").await.status, 401);
        assert_eq!(login(&p, &q, PASSWORD, "allow").await.status, 429);
    }
}

#[tokio::test]
async fn revoked_refresh_tokens_stop_working() {
    for fw in BOTH {
        revoked_refresh_tokens_stop_working_on(*fw).await;
    }
}

async fn revoked_refresh_tokens_stop_working_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let c = code(&p, "srv", None, "").await;
    let (s, body) = exchange(&p, &c, None, "srv").await;
    assert_eq!(s, 200, "{body}");
    let rt = body["refresh_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    let res = p
        .http
        .post(format!("{}/oauth/revoke", p.base))
        .basic_auth("srv", Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}&token_type_hint=refresh_token", enc(rt)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (s, e) = refresh(&p, rt, "srv").await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(whoami(&p, access).await.0, 401);
    // Unknown tokens are not an error (RFC 7009 §2.2); a wrong secret is.
    let res = p
        .http
        .post(format!("{}/oauth/revoke", p.base))
        .basic_auth("srv", Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = p
        .http
        .post(format!("{}/oauth/revoke", p.base))
        .basic_auth("srv", Some("wrong-secret-wrong-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn discovery_advertises_the_code_flow() {
    for fw in BOTH {
        discovery_advertises_the_code_flow_on(*fw).await;
    }
}

async fn discovery_advertises_the_code_flow_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let raw = p
        .http
        .get(format!("{}/.well-known/openid-configuration", p.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{}/oauth/authorize", p.base)
    );
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{}/oauth/revoke", p.base)
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let grants = doc["grant_types_supported"].as_array().unwrap();
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(grants.iter().any(|x| x == g), "{g}");
    }
}

/// The same login across two instances on one Redis: the code issued by
/// one is redeemed at the other, and reuse is seen by both.
#[cfg(feature = "redis")]
#[tokio::test]
async fn two_instances_on_one_redis_serve_one_login() {
    use tollgate::issuer::{RedisCodes, RedisRefreshTokens};
    if !common::redis_up() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but no Redis on 127.0.0.1:6379"
        );
        eprintln!("SKIPPED: needs a Redis on 127.0.0.1:6379");
        return;
    }
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    let prefix = format!("tg-test-authcode-{}:", common::b64(r));
    let url = "redis://127.0.0.1:6379";
    let stores = || {
        CodeFlow::new(
            Arc::new(Directory),
            Arc::new(RedisCodes::new(url, &format!("{prefix}code:")).unwrap()),
            Arc::new(RedisCodes::new(url, &format!("{prefix}consent:")).unwrap()),
            Arc::new(RedisRefreshTokens::new(url, &prefix).unwrap()),
        )
    };
    // Two platforms sharing stores but not keys: the token is checked only
    // by the instance that signed it; the grants are what is shared.
    let a = platform_with(Fw::Axum, CodeFlowSettings::default(), Some(stores())).await;
    // The second instance on the other framework, when both are built.
    let b = platform_with(
        BOTH[BOTH.len() - 1],
        CodeFlowSettings::default(),
        Some(stores()),
    )
    .await;
    let (verifier, challenge) = pkce();
    let c = code(&a, "web", Some(&challenge), "").await;
    let (s, body) = exchange(&b, &c, Some(&verifier), "web").await;
    assert_eq!(s, 200, "{body}");
    let (s, e) = exchange(&a, &c, Some(&verifier), "web").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "replay seen by the other instance"
    );
    // Rotation at A, reuse detected at B.
    let c = code(&a, "web", Some(&challenge), "").await;
    let (_, body) = exchange(&a, &c, Some(&verifier), "web").await;
    let r1 = body["refresh_token"].as_str().unwrap();
    let (s, b2) = refresh(&a, r1, "web").await;
    assert_eq!(s, 200, "{b2}");
    let (s, e) = refresh(&b, r1, "web").await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = refresh(&a, b2["refresh_token"].as_str().unwrap(), "web").await;
    assert_eq!(s, 400, "the family is revoked everywhere");
}

async fn introspect(p: &Platform, token: &str, client: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = p
        .http
        .post(format!("{}/oauth/introspect", p.base))
        .header("content-type", "application/x-www-form-urlencoded");
    req = match client {
        Some((id, secret)) => req
            .basic_auth(id, Some(secret))
            .body(format!("token={}", enc(token))),
        None => req.body(format!("token={}&client_id=web", enc(token))),
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn introspection_answers_what_a_request_would_meet() {
    for fw in BOTH {
        introspection_answers_what_a_request_would_meet_on(*fw).await;
    }
}

async fn introspection_answers_what_a_request_would_meet_on(fw: Fw) {
    let p = platform(fw, CodeFlowSettings::default()).await;
    let c = code(&p, "srv", None, "").await;
    let (_, body) = exchange(&p, &c, None, "srv").await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    // The client the token was issued to.
    let (s, got) = introspect(&p, &access, Some(("srv", SECRET))).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["active"], true);
    assert_eq!(got["client_id"], "srv");
    assert_eq!(got["sub"], "cust-ann");
    assert_eq!(got["customer_id"], "cust-ann");
    assert_eq!(got["token_type"], "Bearer");
    assert!(got["exp"].as_u64().is_some());
    // A resource server with `tokens:read` may introspect any token.
    let (_, got) = introspect(&p, &access, Some(("resource-server", SECRET))).await;
    assert_eq!(got["active"], true);
    // A public client cannot authenticate: 401; a wrong secret: 401.
    let (s, got) = introspect(&p, &access, None).await;
    assert_eq!((s, got["error"].as_str()), (401, Some("invalid_client")));
    let (s, _) = introspect(&p, &access, Some(("srv", "wrong-secret-wrong-secret"))).await;
    assert_eq!(s, 401);
    // Garbage, and a tampered token: inactive, nothing else said.
    for t in ["garbage", &format!("{access}x")] {
        let (s, got) = introspect(&p, t, Some(("srv", SECRET))).await;
        assert_eq!(s, 200);
        assert_eq!(got, serde_json::json!({"active": false}));
    }
    // Revoked (the family through RFC 7009): inactive.
    let rt = body["refresh_token"].as_str().unwrap();
    let res = p
        .http
        .post(format!("{}/oauth/revoke", p.base))
        .basic_auth("srv", Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", enc(rt)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, got) = introspect(&p, &access, Some(("srv", SECRET))).await;
    assert_eq!(got, serde_json::json!({"active": false}));
    // Another client's token, without `tokens:read`: inactive.
    let (verifier, challenge) = pkce();
    let c = code(&p, "web", Some(&challenge), "").await;
    let (_, body) = exchange(&p, &c, Some(&verifier), "web").await;
    let (_, got) = introspect(
        &p,
        body["access_token"].as_str().unwrap(),
        Some(("srv", SECRET)),
    )
    .await;
    assert_eq!(got, serde_json::json!({"active": false}));
}

/// RFC 9449 §5: a `DPoP` proof at the token endpoint binds the access tokens
/// of the code and refresh grants to the proof's key (`cnf.jkt`,
/// `token_type: DPoP`); an invalid proof is `400 invalid_dpop_proof`.
#[tokio::test]
async fn code_and_refresh_grants_bind_tokens_to_a_dpop_key() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    let jkt = tollgate::dpop::jwk_thumbprint(&jwk).unwrap();
    let p = platform(Fw::Axum, CodeFlowSettings::default()).await;
    let token_url = format!("{}/oauth/token", p.base);
    let mut n = 0;
    let mut proof = |htm: &str| {
        n += 1;
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
        let claims = serde_json::json!({"jti": format!("p-{n}"), "htm": htm, "htu": token_url, "iat": common::now()});
        let msg = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = pair.sign(&rng, msg.as_bytes()).unwrap();
        format!("{msg}.{}", b64(sig.as_ref()))
    };
    let post = |body: String, dpop: String| {
        let req = p
            .http
            .post(format!("{}/oauth/token", p.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("dpop", dpop)
            .body(body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
            (status, body)
        }
    };
    let (verifier, challenge) = pkce();
    let code = code(&p, "web", Some(&challenge), "&scope=orders:read").await;
    let exchange = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}&client_id=web",
        enc(&code),
        enc(&p.redirect)
    );
    // A proof for another method: refused, and the code is not spent.
    let (status, body) = post(exchange.clone(), proof("GET")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof");
    let (status, body) = post(exchange, proof("POST")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        jkt
    );
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let (status, body) = post(
        format!(
            "grant_type=refresh_token&refresh_token={}&client_id=web",
            enc(refresh_token)
        ),
        proof("POST"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        jkt
    );
}
