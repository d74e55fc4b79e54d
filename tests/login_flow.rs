//! The app side of authorization-code login against a minimal authorization
//! server built here from tollgate's real issuer pieces (key ring, minter),
//! over real HTTP on 127.0.0.1.
#![cfg(all(feature = "login", feature = "issuer"))]

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tollgate::issuer::{IdGrant, KeyRing, Minter, SigningAlgorithm, SigningKey, UserGrant};
use tollgate::login::{LoginConfig, LoginError, LoginFlow};
use tollgate::session::SessionId;
use tollgate::{Authenticator, IssuerConfig, MemoryStore, SessionSources, SessionStore};

const CLIENT: &str = "shop-web";
const CUSTOMER: &str = "cust-1";
const ACCOUNT: &str = "acct-1";
const SECRET: &str = "a-long-client-secret-value";

#[derive(Default)]
struct Behaviour {
    deny: bool,
    token_error: bool,
    wrong_nonce: bool,
    /// Sign the ID token with a key the client does not know.
    foreign_id_key: bool,
    /// Access-token lifetime (default 1 h).
    access_lifetime: Option<Duration>,
}

struct Code {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

struct AuthServer {
    minter: Minter,
    stranger: Minter,
    issuer: String,
    codes: Mutex<HashMap<String, Code>>,
    refresh: Mutex<HashMap<String, String>>,
    revoked: Mutex<Vec<String>>,
    behaviour: Mutex<Behaviour>,
    token_calls: AtomicUsize,
}

fn random() -> String {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

async fn authorize(
    State(s): State<Arc<AuthServer>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let redirect_uri = q["redirect_uri"].clone();
    let state = q["state"].clone();
    if s.behaviour.lock().unwrap().deny {
        return Redirect::to(&format!("{redirect_uri}?error=access_denied&state={state}"))
            .into_response();
    }
    let code = random();
    s.codes.lock().unwrap().insert(
        code.clone(),
        Code {
            challenge: q["code_challenge"].clone(),
            nonce: q["nonce"].clone(),
            redirect_uri: redirect_uri.clone(),
        },
    );
    let iss: String = form_encode(&s.issuer);
    Redirect::to(&format!(
        "{redirect_uri}?code={code}&state={state}&iss={iss}"
    ))
    .into_response()
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn oauth_error(code: &str) -> Response {
    (
        http::StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": code })),
    )
        .into_response()
}

fn tokens(s: &AuthServer, nonce: Option<&str>) -> Response {
    let lifetime = s
        .behaviour
        .lock()
        .unwrap()
        .access_lifetime
        .unwrap_or(Duration::from_secs(3600));
    let access = s
        .minter
        .user_token(&UserGrant {
            customer_id: CUSTOMER,
            client_id: CLIENT,
            account: ACCOUNT,
            scope: "openid orders:read",
            lifetime,
            jkt: None,
        })
        .unwrap();
    let refresh = random();
    s.refresh
        .lock()
        .unwrap()
        .insert(refresh.clone(), CUSTOMER.into());
    let mut body = serde_json::json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "refresh_token": refresh,
        "scope": "openid orders:read",
    });
    if let Some(nonce) = nonce {
        let minter = if s.behaviour.lock().unwrap().foreign_id_key {
            &s.stranger
        } else {
            &s.minter
        };
        let id = minter
            .id_token(&IdGrant {
                customer_id: CUSTOMER,
                client_id: CLIENT,
                nonce: Some(nonce),
                auth_time: 0,
                lifetime: Duration::from_secs(300),
            })
            .unwrap();
        body["id_token"] = id.token.into();
    }
    axum::Json(body).into_response()
}

/// The confidential client authenticates with HTTP Basic.
fn assert_basic(headers: &http::HeaderMap) {
    let got = headers[http::header::AUTHORIZATION].to_str().unwrap();
    let b64 = got
        .strip_prefix("Basic ")
        .expect("Basic client authentication");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(decoded, format!("{CLIENT}:{SECRET}").as_bytes());
}

async fn token(
    State(s): State<Arc<AuthServer>>,
    headers: http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    assert_basic(&headers);
    s.token_calls.fetch_add(1, Ordering::SeqCst);
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = s.codes.lock().unwrap().remove(&f["code"]) else {
                return oauth_error("invalid_grant");
            };
            if s.behaviour.lock().unwrap().token_error {
                return oauth_error("invalid_grant");
            }
            assert_eq!(f["redirect_uri"], code.redirect_uri);
            let digest = aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                f["code_verifier"].as_bytes(),
            );
            if URL_SAFE_NO_PAD.encode(digest.as_ref()) != code.challenge {
                return oauth_error("invalid_grant");
            }
            let nonce = if s.behaviour.lock().unwrap().wrong_nonce {
                "not-the-nonce".to_owned()
            } else {
                code.nonce
            };
            tokens(&s, Some(&nonce))
        }
        Some("refresh_token") => {
            // Rotation: a refresh token is good once.
            if s.refresh
                .lock()
                .unwrap()
                .remove(&f["refresh_token"])
                .is_none()
            {
                return oauth_error("invalid_grant");
            }
            tokens(&s, None)
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

async fn revoke(
    State(s): State<Arc<AuthServer>>,
    headers: http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) {
    assert_basic(&headers);
    assert_eq!(f["token_type_hint"], "refresh_token");
    let t = f["token"].clone();
    s.refresh.lock().unwrap().remove(&t);
    s.revoked.lock().unwrap().push(t);
}

async fn discovery(State(s): State<Arc<AuthServer>>) -> Response {
    let i = &s.issuer;
    axum::Json(serde_json::json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "revocation_endpoint": format!("{i}/revoke"),
        "jwks_uri": format!("{i}/jwks"),
    }))
    .into_response()
}

async fn jwks(State(s): State<Arc<AuthServer>>) -> Response {
    axum::Json(s.minter.ring().jwks()).into_response()
}

struct Harness {
    server: Arc<AuthServer>,
    flow: LoginFlow,
    auth: Arc<Authenticator>,
    sessions: Arc<MemoryStore>,
    app: String,
    browser: reqwest::Client,
    cookie_name: String,
}

async fn harness() -> Harness {
    harness_with(false, true, None).await
}

type Stores = (
    Arc<dyn tollgate::login::PendingLogins>,
    Arc<dyn tollgate::login::TokenVault>,
);

/// With `discover`, the login configuration comes from the discovery
/// document and ID tokens are verified against its `jwks_uri`.
/// Without `verify_id_tokens`, no ID-token issuer is configured: only the
/// ID token's nonce, sub, aud, iss and exp are checked.
async fn harness_with(discover: bool, verify_id_tokens: bool, stores: Option<Stores>) -> Harness {
    let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).unwrap());
    let as_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", as_listener.local_addr().unwrap());
    let server = Arc::new(AuthServer {
        minter: Minter::new(issuer.clone(), "shop-api", ring.clone()),
        stranger: Minter::new(
            issuer.clone(),
            "shop-api",
            KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519).unwrap()),
        ),
        issuer: issuer.clone(),
        codes: Mutex::default(),
        refresh: Mutex::default(),
        revoked: Mutex::default(),
        behaviour: Mutex::default(),
        token_calls: AtomicUsize::new(0),
    });
    let as_router = axum::Router::new()
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(as_listener, as_router).await.unwrap() });

    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", app_listener.local_addr().unwrap());
    let config = if discover {
        LoginConfig::discover(&issuer, CLIENT, format!("{app}/callback"))
            .await
            .unwrap()
    } else {
        let config = LoginConfig::new(
            format!("{issuer}/authorize"),
            format!("{issuer}/token"),
            CLIENT,
            format!("{app}/callback"),
        )
        .with_revocation_url(format!("{issuer}/revoke"))
        .with_issuer(issuer.clone());
        if verify_id_tokens {
            config.with_id_token_issuer(
                IssuerConfig::new(issuer.clone())
                    .audience(CLIENT)
                    .jwks(ring.jwks()),
            )
        } else {
            config
        }
    }
    .with_client_secret(SECRET)
    .with_scopes(["openid", "orders:read"])
    .with_landing_path("/home");
    let cookie_name = config.session_cookie_name();
    let sessions = Arc::new(MemoryStore::default());
    let auth = Arc::new(
        Authenticator::builder()
            .issuer(
                IssuerConfig::new(issuer.clone())
                    .audience("shop-api")
                    .jwks(ring.jwks()),
            )
            .session_store(sessions.clone())
            .session_sources(SessionSources::default().with_cookie(cookie_name.clone()))
            .build()
            .unwrap(),
    );
    let mut builder = LoginFlow::builder(config, auth.clone(), sessions.clone());
    if let Some((pending, vault)) = stores {
        builder = builder.pending_logins(pending).token_vault(vault);
    }
    let flow = builder.build().unwrap();
    let router = tollgate::login::axum::router(flow.clone());
    tokio::spawn(async move { axum::serve(app_listener, router).await.unwrap() });
    Harness {
        server,
        flow,
        auth,
        sessions,
        app,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        cookie_name,
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the first Set-Cookie for `name`.
fn cookie_pair(cookies: &[String], name: &str) -> Option<String> {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

impl Harness {
    /// `/login` → authorize → the callback URL, and the pending cookie.
    async fn start(&self) -> (String, String) {
        let r = self
            .browser
            .get(format!("{}/login", self.app))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let cookies = set_cookies(&r);
        let pending = cookies
            .iter()
            .find(|c| c.starts_with("tollgate_login="))
            .expect("pending cookie")
            .clone();
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"] {
            assert!(pending.contains(attr), "{attr}: {pending}");
        }
        assert!(!pending.contains("Secure"), "loopback http: {pending}");
        let authorize = location(&r);
        let u = url::Url::parse(&authorize).unwrap();
        let q: HashMap<_, _> = u.query_pairs().into_owned().collect();
        for k in [
            "state",
            "code_challenge",
            "nonce",
            "redirect_uri",
            "client_id",
        ] {
            assert!(q.contains_key(k), "{k} missing from {authorize}");
        }
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(!q.contains_key("client_secret"));
        let r = self.browser.get(&authorize).send().await.unwrap();
        assert!(r.status().is_redirection());
        (location(&r), pending.split(';').next().unwrap().to_owned())
    }

    async fn callback(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.browser.get(url);
        if let Some(c) = cookie {
            req = req.header(http::header::COOKIE, c);
        }
        req.send().await.unwrap()
    }

    async fn login(&self) -> (String, SessionId) {
        let (callback, pending) = self.start().await;
        let r = self.callback(&callback, Some(&pending)).await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/home");
        let pair = cookie_pair(&set_cookies(&r), &self.cookie_name).expect("session cookie");
        let sid = SessionId::parse(pair.split_once('=').unwrap().1).unwrap();
        (pair, sid)
    }

    async fn authenticate(
        &self,
        cookie: &str,
    ) -> Result<Option<tollgate::AuthContext>, tollgate::AuthError> {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::COOKIE, cookie.parse().unwrap());
        self.auth.authenticate(&h).await
    }
}

#[tokio::test]
async fn the_full_flow_creates_a_session_whose_cookie_authenticates() {
    let h = harness().await;
    let (callback, pending) = h.start().await;
    let r = h.callback(&callback, Some(&pending)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/home");
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with(&format!("{}=", h.cookie_name)))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(session.contains(attr), "{attr}: {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(!session.contains("Secure"), "loopback http: {session}");
    let cleared = cookies
        .iter()
        .find(|c| c.starts_with("tollgate_login="))
        .expect("pending cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let pair = cookie_pair(&cookies, &h.cookie_name).unwrap();
    let ctx = h.authenticate(&pair).await.unwrap().expect("authenticated");
    assert_eq!(ctx.customer(), Some(CUSTOMER));
    assert_eq!(ctx.account(), Some(ACCOUNT));
    assert_eq!(ctx.client_id(), Some(CLIENT));
    assert!(ctx.session_id().is_some());
    assert!(ctx.scopes().contains_str("orders:read"));

    // Tokens are server-side only: not in the record, not in a cookie.
    let sid = ctx.session_id().unwrap().clone();
    let record = h.sessions.get(&sid).await.unwrap().unwrap();
    assert!(record.metadata.is_empty());
    let at = h.flow.access_token(&sid).await.unwrap();
    assert!(at.split('.').count() == 3);
    assert!(cookies.iter().all(|c| !c.contains(&at)));

    // The pending login is single-use: replaying the callback fails.
    let again = h.callback(&callback, Some(&pending)).await;
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn a_state_mismatch_is_refused_and_creates_nothing() {
    let h = harness().await;
    let (callback, pending) = h.start().await;
    let mut u = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, "forged".into())
            } else {
                (k, v)
            }
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let r = h.callback(u.as_str(), Some(&pending)).await;
    assert_eq!(r.status(), 400);
    assert!(cookie_pair(&set_cookies(&r), &h.cookie_name).is_none());
    assert_eq!(h.sessions.len(), 0);
    assert_eq!(
        h.server.token_calls.load(Ordering::SeqCst),
        0,
        "no code exchange"
    );

    // Without state at all: also 400.
    let (callback, pending) = h.start().await;
    let mut u = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "state")
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(h.callback(u.as_str(), Some(&pending)).await.status(), 400);
    assert_eq!(h.sessions.len(), 0);
}

#[tokio::test]
async fn a_callback_without_the_pending_cookie_is_refused() {
    let h = harness().await;
    let (callback, _) = h.start().await;
    let r = h.callback(&callback, None).await;
    assert_eq!(r.status(), 400);
    let r = h
        .callback(&callback, Some("tollgate_login=unknown-id"))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(h.sessions.len(), 0);
    assert_eq!(h.server.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn access_denied_shows_a_small_page_and_creates_nothing() {
    let h = harness().await;
    h.server.behaviour.lock().unwrap().deny = true;
    let (callback, pending) = h.start().await;
    let r = h.callback(&callback, Some(&pending)).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()[http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("Login cancelled"), "{body}");
    assert_eq!(h.sessions.len(), 0);
    assert_eq!(h.server.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_token_endpoint_error_creates_no_session() {
    let h = harness().await;
    h.server.behaviour.lock().unwrap().token_error = true;
    let (callback, pending) = h.start().await;
    let r = h.callback(&callback, Some(&pending)).await;
    assert_eq!(r.status(), 400);
    assert!(cookie_pair(&set_cookies(&r), &h.cookie_name).is_none());
    let body = r.text().await.unwrap();
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(!body.contains(&code), "the page never echoes the code");
    assert_eq!(h.sessions.len(), 0);
}

#[tokio::test]
async fn a_nonce_mismatch_is_refused() {
    let h = harness().await;
    h.server.behaviour.lock().unwrap().wrong_nonce = true;
    let (callback, pending) = h.start().await;
    let r = h.callback(&callback, Some(&pending)).await;
    assert_eq!(r.status(), 403);
    assert!(cookie_pair(&set_cookies(&r), &h.cookie_name).is_none());
    assert_eq!(h.sessions.len(), 0);
}

#[tokio::test]
async fn without_an_id_token_issuer_the_nonce_is_still_checked() {
    let h = harness_with(false, false, None).await;
    let (pair, _) = h.login().await;
    assert!(h.authenticate(&pair).await.unwrap().is_some());
    h.server.behaviour.lock().unwrap().wrong_nonce = true;
    let (callback, pending) = h.start().await;
    assert_eq!(h.callback(&callback, Some(&pending)).await.status(), 403);
    assert_eq!(h.sessions.len(), 1);
}

#[tokio::test]
async fn logging_in_again_replaces_the_previous_session() {
    let h = harness().await;
    let (first, _) = h.login().await;
    let (callback, pending) = h.start().await;
    let r = h
        .callback(&callback, Some(&format!("{pending}; {first}")))
        .await;
    assert_eq!(r.status(), 303);
    let second = cookie_pair(&set_cookies(&r), &h.cookie_name).unwrap();
    assert_ne!(first, second);
    assert!(
        h.authenticate(&first).await.is_err(),
        "the old session is gone"
    );
    assert!(h.authenticate(&second).await.unwrap().is_some());
    assert_eq!(h.sessions.len(), 1);
    assert_eq!(h.server.revoked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_id_token_signed_with_an_unknown_key_is_refused() {
    let h = harness().await;
    h.server.behaviour.lock().unwrap().foreign_id_key = true;
    let (callback, pending) = h.start().await;
    let r = h.callback(&callback, Some(&pending)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(h.sessions.len(), 0);
}

#[tokio::test]
async fn an_expiring_access_token_is_refreshed_and_the_rotated_refresh_token_stored() {
    let h = harness().await;
    // Within the 30 s margin from the start: every call refreshes.
    h.server.behaviour.lock().unwrap().access_lifetime = Some(Duration::from_secs(10));
    let (pair, sid) = h.login().await;
    let calls = h.server.token_calls.load(Ordering::SeqCst);
    let first = h.flow.access_token(&sid).await.unwrap();
    // A second refresh succeeds only if the rotated refresh token was stored
    // (the server accepts each refresh token once).
    let second = h.flow.access_token(&sid).await.unwrap();
    assert_eq!(h.server.token_calls.load(Ordering::SeqCst), calls + 2);
    assert_ne!(first, second);
    assert_eq!(
        h.server.refresh.lock().unwrap().len(),
        1,
        "old ones are spent"
    );

    // Long-lived tokens are served from the vault without a call.
    h.server.behaviour.lock().unwrap().access_lifetime = None;
    let third = h.flow.access_token(&sid).await.unwrap();
    let fourth = h.flow.access_token(&sid).await.unwrap();
    assert_eq!(third, fourth);
    assert_eq!(h.server.token_calls.load(Ordering::SeqCst), calls + 3);
    assert!(h.authenticate(&pair).await.unwrap().is_some());
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let h = harness().await;
    h.server.behaviour.lock().unwrap().access_lifetime = Some(Duration::from_secs(10));
    let (pair, sid) = h.login().await;
    h.server.refresh.lock().unwrap().clear(); // the family was revoked upstream
    let e = h.flow.access_token(&sid).await.unwrap_err();
    assert!(matches!(e, LoginError::SessionEnded), "{e:?}");
    assert!(h.authenticate(&pair).await.is_err(), "the session is gone");
    assert!(matches!(
        h.flow.access_token(&sid).await,
        Err(LoginError::NoSession)
    ));
}

#[tokio::test]
async fn logout_revokes_and_removes_the_session() {
    let h = harness().await;
    let (pair, sid) = h.login().await;
    assert!(h.authenticate(&pair).await.unwrap().is_some());
    let refresh: Vec<String> = h.server.refresh.lock().unwrap().keys().cloned().collect();

    // A cross-origin logout is refused.
    let r = h
        .browser
        .post(format!("{}/logout", h.app))
        .header(http::header::COOKIE, &pair)
        .header(http::header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(h.authenticate(&pair).await.unwrap().is_some());

    let r = h
        .browser
        .post(format!("{}/logout", h.app))
        .header(http::header::COOKIE, &pair)
        .header(http::header::ORIGIN, &h.app)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/");
    let cleared = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with(&format!("{}=", h.cookie_name)))
        .unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(h.authenticate(&pair).await.is_err(), "the session is gone");
    assert_eq!(*h.server.revoked.lock().unwrap(), refresh);
    assert!(matches!(
        h.flow.access_token(&sid).await,
        Err(LoginError::NoSession)
    ));
}

#[tokio::test]
async fn https_apps_get_host_prefixed_secure_cookies() {
    let sessions: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let auth = Arc::new(
        Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://auth.example")
                    .audience("shop-api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
            )
            .build()
            .unwrap(),
    );
    let config = LoginConfig::new(
        "https://auth.example/authorize",
        "https://auth.example/token",
        CLIENT,
        "https://shop.example/callback",
    )
    .with_client_secret("super-secret-client-secret");
    assert_eq!(config.session_cookie_name(), "__Host-tollgate_session");
    let flow = LoginFlow::new(config, auth, sessions).unwrap();
    assert!(!format!("{flow:?}").contains("super-secret"));
    let (parts, ()) = http::Request::get("/login").body(()).unwrap().into_parts();
    let r = flow.login(&parts).await;
    assert_eq!(r.status(), 302);
    let c = r.headers()[http::header::SET_COOKIE].to_str().unwrap();
    assert!(c.starts_with("__Host-tollgate_login="), "{c}");
    assert!(
        c.contains("Secure") && c.contains("Path=/") && !c.contains("Domain"),
        "{c}"
    );
    let loc = r.headers()[http::header::LOCATION].to_str().unwrap();
    assert!(loc.starts_with("https://auth.example/authorize?"), "{loc}");
    assert!(!loc.contains("super-secret"));

    // Plain http outside loopback is refused.
    let bad = LoginConfig::new(
        "https://auth.example/authorize",
        "http://auth.example/token",
        CLIENT,
        "https://shop.example/callback",
    );
    let sessions: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let auth = Arc::new(
        Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://auth.example")
                    .audience("shop-api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
            )
            .build()
            .unwrap(),
    );
    assert!(matches!(
        LoginFlow::new(bad, auth, sessions),
        Err(LoginError::Config(_))
    ));
}

#[tokio::test]
async fn discovery_configures_the_flow_and_id_tokens_verify_with_the_jwks_uri() {
    let h = harness_with(true, true, None).await;
    let (pair, sid) = h.login().await;
    assert!(h.authenticate(&pair).await.unwrap().is_some());
    assert!(h.flow.access_token(&sid).await.is_ok());
    // A wrong nonce is still refused on this path.
    h.server.behaviour.lock().unwrap().wrong_nonce = true;
    let (callback, pending) = h.start().await;
    assert_eq!(h.callback(&callback, Some(&pending)).await.status(), 403);
    // Logout revokes through the discovered endpoint.
    let r = h
        .browser
        .post(format!("{}/logout", h.app))
        .header(http::header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(h.server.revoked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn discovery_refuses_a_document_for_another_issuer() {
    let h = harness().await;
    let issuer = h.server.issuer.clone();
    let e = LoginConfig::discover(&format!("{issuer}/"), CLIENT, "http://127.0.0.1/cb")
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::Upstream(_)), "{e:?}");
    let e = LoginConfig::discover("http://auth.example", CLIENT, "http://127.0.0.1/cb")
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::Config(_)), "{e:?}");
}

#[cfg(feature = "actix")]
#[actix_web::test]
async fn the_actix_routes_translate_to_the_same_flow() {
    let sessions: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
    let auth = Arc::new(
        Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://auth.example")
                    .audience("shop-api")
                    .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
            )
            .build()
            .unwrap(),
    );
    let config = LoginConfig::new(
        "https://auth.example/authorize",
        "https://auth.example/token",
        CLIENT,
        "https://shop.example/auth/callback",
    );
    let flow = LoginFlow::new(config, auth, sessions).unwrap();
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(tollgate::login::actix::configure(flow)),
    )
    .await;
    let r = actix_web::test::call_service(
        &app,
        actix_web::test::TestRequest::get()
            .uri("/login")
            .to_request(),
    )
    .await;
    assert_eq!(r.status().as_u16(), 302);
    assert!(r.headers().get("set-cookie").is_some());
    // The callback lives at the redirect URI's path; without a pending
    // login it is a 400 page.
    let r = actix_web::test::call_service(
        &app,
        actix_web::test::TestRequest::get()
            .uri("/auth/callback?code=x&state=y")
            .to_request(),
    )
    .await;
    assert_eq!(r.status().as_u16(), 400);
    let r = actix_web::test::call_service(
        &app,
        actix_web::test::TestRequest::post()
            .uri("/logout")
            .to_request(),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
}

#[cfg(feature = "redis")]
fn redis_up() -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 6379));
    let up = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok();
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis tests cannot run in CI without Redis"
        );
        eprintln!("SKIPPED: the login Redis tests need a Redis on 127.0.0.1:6379");
    }
    up
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn the_flow_runs_on_redis_pending_logins_and_token_vault() {
    use tollgate::login::{
        PendingLogin, PendingLogins, RedisPendingLogins, RedisTokenVault, TokenVault,
    };
    if !redis_up() {
        return;
    }
    let prefix = format!("tollgate-test:{}:", random());
    let url = "redis://127.0.0.1:6379";
    let pending = Arc::new(RedisPendingLogins::new(url, &prefix, Duration::from_secs(2)).unwrap());
    let vault = Arc::new(RedisTokenVault::new(url, &prefix, Duration::from_secs(2)).unwrap());

    // Store level: single use, round trip.
    let p = PendingLogin {
        state: "s".into(),
        pkce_verifier: "v".into(),
        nonce: "n".into(),
        created_at_ms: 1,
    };
    pending
        .put("id-1", &p, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(pending.take("id-1").await.unwrap(), Some(p));
    assert_eq!(pending.take("id-1").await.unwrap(), None);

    let h = harness_with(false, true, Some((pending, vault.clone()))).await;
    h.server.behaviour.lock().unwrap().access_lifetime = Some(Duration::from_secs(10));
    let (pair, sid) = h.login().await;
    assert!(vault.get(&sid).await.unwrap().is_some());
    let a = h.flow.access_token(&sid).await.unwrap();
    let b = h.flow.access_token(&sid).await.unwrap();
    assert_ne!(a, b);
    let r = h
        .browser
        .post(format!("{}/logout", h.app))
        .header(http::header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(vault.get(&sid).await.unwrap().is_none());
}
