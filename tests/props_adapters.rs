//! Property tests through the adapters (issue 10 item 15).
//!
//! Arbitrary `Authorization` headers, customer-token headers, session IDs
//! (header and cookie), `Cookie` headers and query strings go through an
//! axum `Router` behind `tollgate::tower::AuthLayer` and an actix-web `App`
//! behind `tollgate::actix::AuthMiddleware`, each in required and optional
//! mode. The authenticator reads bearer tokens from the header, a cookie and
//! a query parameter, and has customer tokens and a session store configured.
//!
//! Every input is checked on all four stacks: no panic, no 5xx, the status
//! is one the engine can give (with a matching `WWW-Authenticate`), axum and
//! actix answer alike, required and optional mode differ only where no
//! credential was presented, and the handler, which answers 200 only with an
//! `AuthContext`, never sees one for garbage.
#![cfg(all(feature = "actix", feature = "axum"))]

mod common;

use actix_web::test as atest;
use actix_web::{HttpResponse, web};
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use common::*;
use http_body_util::BodyExt;
use jsonwebtoken::Algorithm;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use tollgate::actix::AuthMiddleware;
use tollgate::config::{CustomerTokenConfig, SessionSources};
use tollgate::credentials::CredentialSources;
use tollgate::session::{MemoryStore, NewSession, SessionStore};
use tollgate::tower::AuthLayer;
use tollgate::{Auth, Authenticator, IssuerConfig};
use tower::ServiceExt;

const PATH: &str = "/protected";
const ACCESS_COOKIE: &str = "at";
const ACCESS_QUERY: &str = "access_token";
const SESSION_HEADER: &str = "x-session-id";
const SESSION_COOKIE: &str = "sid";
const CUSTOMER_HEADER: &str = "x-customer-token";
const BARE_CHALLENGE: &str = "Bearer realm=\"tollgate\"";
const SCOPES: &str = "customer:read customer:write orders:read";

// ---------------------------------------------------------------------------
// The system under test.

fn authenticator(store: Arc<dyn SessionStore>) -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .credentials(
            CredentialSources::default()
                .with_authorization_header(true)
                .with_cookie(ACCESS_COOKIE)
                .with_query_parameter(ACCESS_QUERY),
        )
        .customer_tokens(CustomerTokenConfig::default())
        .session_store(store)
        .session_sources(
            SessionSources::default()
                .with_header(SESSION_HEADER)
                .with_cookie(SESSION_COOKIE),
        )
        .build()
        .unwrap()
}

/// 200 with the context only when the middleware put one there; 204 otherwise.
async fn protected_axum(auth: Option<Auth>) -> axum::response::Response {
    match auth {
        Some(Auth(ctx)) => axum::Json(ctx).into_response(),
        None => http::StatusCode::NO_CONTENT.into_response(),
    }
}

fn axum_app(layer: AuthLayer) -> Router {
    Router::new().route(PATH, get(protected_axum)).layer(layer)
}

/// The same handler for actix.
async fn protected_actix(auth: Option<Auth>) -> HttpResponse {
    match auth {
        Some(auth) => HttpResponse::Ok().json(&*auth),
        None => HttpResponse::NoContent().finish(),
    }
}

fn actix_app(
    middleware: AuthMiddleware,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .wrap(middleware)
        .route(PATH, web::get().to(protected_actix))
}

/// Credentials minted once per test, and the authenticator that knows them.
struct World {
    auth: Authenticator,
    /// A valid access token.
    access: String,
    /// The signature of another valid token (valid for a different message).
    foreign_signature: String,
    customer_same: String,
    customer_other_account: String,
    customer_without_id: String,
    customer_expired: String,
    session_same: String,
    session_other_account: String,
}

fn customer_claims(account: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "cust-1",
        "customer_id": "cust-1",
        "client_id": "client-123",
        "account_id": account,
        "token_use": "customer",
        "exp": now() + 300,
    })
}

impl World {
    async fn new() -> Self {
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
        let auth = authenticator(store.clone());
        let mut other = claims();
        other["sub"] = json!("someone-else");
        let foreign = mint(Algorithm::HS256, None, &other);
        let mut without_id = customer_claims("acct-9");
        without_id["customer_id"] = json!({"id": "cust-1"});
        let mut expired = customer_claims("acct-9");
        expired["exp"] = json!(now() - 3600);
        let session = |account: &'static str| {
            let store = store.clone();
            async move {
                store
                    .create(NewSession::for_customer(account, "cust-1", SCOPES))
                    .await
                    .unwrap()
                    .id
                    .as_str()
                    .to_owned()
            }
        };
        Self {
            auth,
            access: mint(Algorithm::HS256, None, &claims()),
            foreign_signature: foreign.rsplit_once('.').unwrap().1.to_owned(),
            customer_same: mint(Algorithm::HS256, None, &customer_claims("acct-9")),
            customer_other_account: mint(Algorithm::HS256, None, &customer_claims("acct-other")),
            customer_without_id: mint(Algorithm::HS256, None, &without_id),
            customer_expired: mint(Algorithm::HS256, None, &expired),
            session_same: session("acct-9").await,
            session_other_account: session("acct-other").await,
        }
    }
}

// ---------------------------------------------------------------------------
// Requests, outcomes and the checks every case goes through.

/// Header bytes, shown as a byte-string literal when a case fails.
#[derive(Clone, PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// A GET of [`PATH`]: the query string and the header lines, in order.
#[derive(Clone, Debug, Default)]
struct Req {
    query: Option<String>,
    headers: Vec<(&'static str, Bytes)>,
}

/// Whether both `http` 1.x and actix's `HeaderValue` accept these bytes.
fn sendable_value(v: &[u8]) -> bool {
    http::HeaderValue::from_bytes(v).is_ok()
        && actix_web::http::header::HeaderValue::from_bytes(v).is_ok()
}

/// Whether both URI parsers accept `PATH?q` and keep `q` as the query.
fn sendable_query(q: &str) -> bool {
    let uri = format!("{PATH}?{q}");
    uri.parse::<http::Uri>()
        .is_ok_and(|u| u.query().unwrap_or_default() == q)
        && uri
            .parse::<actix_web::http::Uri>()
            .is_ok_and(|u| u.query().unwrap_or_default() == q)
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t');
    match (start, end) {
        (Some(a), Some(b)) => &s[a..=b],
        _ => &[],
    }
}

impl Req {
    /// Adds a header line unless a `HeaderValue` refuses it; says whether it did.
    fn push(&mut self, name: &'static str, value: impl Into<Vec<u8>>) -> bool {
        let value = value.into();
        let ok = sendable_value(&value);
        if ok {
            self.headers.push((name, Bytes(value)));
        }
        ok
    }

    fn with(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.push(name, value);
        self
    }

    fn with_all(mut self, name: &'static str, values: Vec<Vec<u8>>) -> Self {
        for v in values {
            self.push(name, v);
        }
        self
    }

    /// Sets the query unless a URI parser refuses it; says whether it did.
    fn set_query(&mut self, q: String) -> bool {
        let ok = sendable_query(&q);
        if ok {
            self.query = Some(q);
        }
        ok
    }

    fn with_query(mut self, q: Option<String>) -> Self {
        if let Some(q) = q {
            self.set_query(q);
        }
        self
    }

    fn uri(&self) -> String {
        match &self.query {
            Some(q) => format!("{PATH}?{q}"),
            None => PATH.to_owned(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| *k == name)
    }

    /// Whether the request carries something the configured sources read as
    /// a credential: any `Authorization`, customer-token or session header,
    /// a cookie named `at` or `sid`, or an `access_token` query parameter.
    /// (Cookie pairs split at `;`, are trimmed of spaces and tabs, and are
    /// named up to the first `=`; query pairs are form-decoded.)
    fn presents_credential(&self) -> bool {
        let cookie = self.headers.iter().any(|(k, v)| {
            *k == "cookie"
                && v.0.split(|&b| b == b';').any(|pair| {
                    let pair = trim_ows(pair);
                    pair.iter()
                        .position(|&b| b == b'=')
                        .is_some_and(|eq| matches!(&pair[..eq], b"at" | b"sid"))
                })
        });
        // The query is form-decoded (RFC 6750 §2.3), names included.
        let query = self
            .query
            .as_deref()
            .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == ACCESS_QUERY));
        self.has("authorization")
            || self.has(CUSTOMER_HEADER)
            || self.has(SESSION_HEADER)
            || cookie
            || query
    }
}

/// What the statuses must be, beyond the checks every case gets.
#[derive(Clone, Debug)]
enum Expect {
    /// Nothing valid was sent: refused (400/401) in both modes when a
    /// credential is presented, else 401 (required) and 204 (optional).
    Garbage,
    /// This status in both modes, and this `error` code in the challenge.
    Exactly(u16, Option<&'static str>),
    /// One of these in both modes.
    OneOf(Vec<u16>),
}

#[derive(Clone, Debug)]
struct Case {
    req: Req,
    expect: Expect,
}

fn garbage(req: Req) -> Case {
    Case {
        req,
        expect: Expect::Garbage,
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

async fn via_axum(app: &Router, req: &Req) -> Outcome {
    let mut builder = http::Request::builder().method("GET").uri(req.uri());
    for (k, v) in &req.headers {
        builder = builder.header(*k, http::HeaderValue::from_bytes(&v.0).unwrap());
    }
    let res = app
        .clone()
        .oneshot(builder.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Outcome {
        status,
        challenge,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn actix_request(req: &Req) -> atest::TestRequest {
    let mut t = atest::TestRequest::get().uri(&req.uri());
    for (k, v) in &req.headers {
        t = t.append_header((
            *k,
            actix_web::http::header::HeaderValue::from_bytes(&v.0).unwrap(),
        ));
    }
    t
}

async fn actix_outcome<B: actix_web::body::MessageBody>(
    res: actix_web::dev::ServiceResponse<B>,
) -> Outcome {
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let bytes = atest::read_body(res).await;
    Outcome {
        status,
        challenge,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

#[derive(Debug)]
struct Outcomes {
    axum_required: Outcome,
    axum_optional: Outcome,
    actix_required: Outcome,
    actix_optional: Outcome,
}

fn check(case: &Case, o: &Outcomes) -> Result<(), TestCaseError> {
    for (name, out) in [
        ("axum required", &o.axum_required),
        ("axum optional", &o.axum_optional),
        ("actix required", &o.actix_required),
        ("actix optional", &o.actix_optional),
    ] {
        let challenge = out.challenge.as_deref().unwrap_or_default();
        prop_assert!(out.status < 500, "{}: {:?}", name, out);
        match out.status {
            200 => prop_assert!(
                out.body["credentials"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty()),
                "{}: 200 without a context: {:?}",
                name,
                out
            ),
            204 => prop_assert!(
                name.ends_with("optional"),
                "{}: the handler ran without a context",
                name
            ),
            400 => prop_assert!(
                challenge.contains("error=\"invalid_request\""),
                "{}: {:?}",
                name,
                out
            ),
            // A token presented with the `DPoP` scheme is answered with a
            // DPoP challenge (RFC 9449 §7.1).
            401 => prop_assert!(
                challenge.starts_with(BARE_CHALLENGE)
                    || challenge.starts_with("DPoP realm=\"tollgate\", algs="),
                "{}: {:?}",
                name,
                out
            ),
            403 => prop_assert!(
                challenge.contains("error=\"insufficient_scope\""),
                "{}: {:?}",
                name,
                out
            ),
            _ => prop_assert!(false, "{}: unexpected status: {:?}", name, out),
        }
    }
    prop_assert_eq!(
        &o.axum_required,
        &o.actix_required,
        "axum and actix differ (required)"
    );
    prop_assert_eq!(
        &o.axum_optional,
        &o.actix_optional,
        "axum and actix differ (optional)"
    );
    let (r, p) = (&o.axum_required, &o.axum_optional);
    if r != p {
        prop_assert!(
            r.status == 401 && r.challenge.as_deref() == Some(BARE_CHALLENGE) && p.status == 204,
            "modes differ beyond missing credentials: required {:?}, optional {:?}",
            r,
            p
        );
    }
    match &case.expect {
        Expect::Garbage => {
            if case.req.presents_credential() {
                prop_assert!(matches!(r.status, 400 | 401), "required: {:?}", r);
                prop_assert!(matches!(p.status, 400 | 401), "optional: {:?}", p);
            } else {
                prop_assert_eq!(r.status, 401);
                prop_assert_eq!(r.challenge.as_deref(), Some(BARE_CHALLENGE));
                prop_assert_eq!(p.status, 204);
            }
        }
        Expect::Exactly(status, code) => {
            prop_assert_eq!(r.status, *status, "required: {:?}", r);
            prop_assert_eq!(p.status, *status, "optional: {:?}", p);
            if let Some(code) = code {
                let want = format!("error=\"{code}\"");
                prop_assert!(
                    r.challenge.as_deref().is_some_and(|c| c.contains(&want)),
                    "required: {:?}",
                    r
                );
            }
        }
        Expect::OneOf(statuses) => {
            prop_assert!(statuses.contains(&r.status), "required: {:?}", r);
            prop_assert!(statuses.contains(&p.status), "optional: {:?}", p);
        }
    }
    Ok(())
}

/// Runs `cases` cases of the strategy `make` builds through all four stacks,
/// on one actix `System` (which also drives axum) for the whole test.
fn run<S>(cases: u32, make: impl FnOnce(&World) -> S)
where
    S: Strategy<Value = Case>,
{
    let sys = actix_web::rt::System::new();
    let world = sys.block_on(World::new());
    let strategy = make(&world);
    let axum_required = axum_app(AuthLayer::required(world.auth.clone()));
    let axum_optional = axum_app(AuthLayer::optional(world.auth.clone()));
    let actix_required = sys.block_on(atest::init_service(actix_app(AuthMiddleware::required(
        world.auth.clone(),
    ))));
    let actix_optional = sys.block_on(atest::init_service(actix_app(AuthMiddleware::optional(
        world.auth.clone(),
    ))));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |case| {
        let outcomes = sys.block_on(async {
            Outcomes {
                axum_required: via_axum(&axum_required, &case.req).await,
                axum_optional: via_axum(&axum_optional, &case.req).await,
                actix_required: actix_outcome(
                    atest::call_service(&actix_required, actix_request(&case.req).to_request())
                        .await,
                )
                .await,
                actix_optional: actix_outcome(
                    atest::call_service(&actix_optional, actix_request(&case.req).to_request())
                        .await,
                )
                .await,
            }
        });
        check(&case, &outcomes)
    });

    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// Generators.

/// Header bytes: mostly visible ASCII and obs-text, sometimes anything.
fn field_byte() -> BoxedStrategy<u8> {
    prop_oneof![
        8 => 0x20u8..0x7f,
        3 => 0x80u8..=0xff,
        1 => Just(b'\t'),
        1 => any::<u8>(),
    ]
    .boxed()
}

/// A pattern repeated to a long value (1 to 16 KiB).
fn long(byte: BoxedStrategy<u8>) -> BoxedStrategy<Vec<u8>> {
    (vec(byte, 1..16), 1024usize..=16 * 1024)
        .prop_map(|(pattern, n)| pattern.iter().copied().cycle().take(n).collect())
        .boxed()
}

fn raw_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..48),
        5 => vec(field_byte(), 0..300),
        1 => long(field_byte()),
    ]
    .boxed()
}

/// A long value in the `b64token` alphabet: reaches the size limit.
fn long_token() -> BoxedStrategy<Vec<u8>> {
    let b64token = prop_oneof![
        b'a'..=b'z',
        b'A'..=b'Z',
        b'0'..=b'9',
        select(&b"-._~+/"[..])
    ]
    .boxed();
    long(b64token)
}

/// A change to a token's claims.
#[derive(Clone, Debug)]
enum Claim {
    Set(&'static str, Value),
    Remove(&'static str),
    /// Raw JSON members appended after the others (duplicates, numbers
    /// `serde_json::Value` cannot hold).
    Raw(String),
}

fn claims_text(base: &Value, changes: &[Claim]) -> String {
    let mut map = base.as_object().unwrap().clone();
    let mut raw = Vec::new();
    for c in changes {
        match c {
            Claim::Set(k, v) => {
                map.insert((*k).to_owned(), v.clone());
            }
            Claim::Remove(k) => {
                map.remove(*k);
            }
            Claim::Raw(r) => raw.push(r.as_str()),
        }
    }
    let mut text = Value::Object(map).to_string();
    for r in raw {
        text.pop();
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(r);
        text.push('}');
    }
    text
}

/// Claim changes that make any token invalid for this configuration (an
/// access token, issuer `ISSUER`, audience `AUDIENCE`, leeway 60 s). Raw
/// duplicates put the invalid value last, so neither legal reading of
/// duplicate members (refuse, or lexically last) accepts them.
fn refused_claims() -> Vec<Claim> {
    use Claim::*;
    let n = now();
    vec![
        Remove("exp"),
        Set("exp", json!((n + 300).to_string())),
        Set("exp", Value::Null),
        Set("exp", json!(true)),
        Set("exp", json!([n + 300])),
        Set("exp", json!({ "at": n + 300 })),
        Set("exp", json!(n - 3600)),
        Set("exp", json!(0)),
        Set("exp", json!(-1)),
        Set("exp", json!(-1e300)),
        Raw(r#""exp":1e400"#.into()),
        Raw(r#""exp":"later""#.into()),
        Set("nbf", json!(n + 3600)),
        Set("nbf", json!("0")),
        Set("nbf", json!(1e300)),
        Set("iat", json!("now")),
        Set("iat", json!({})),
        Remove("iss"),
        Set("iss", json!("https://evil.test")),
        Set("iss", json!("HTTPS://ISSUER.TEST")),
        Set("iss", json!(format!("{ISSUER}/"))),
        Set("iss", json!(42)),
        Set("iss", json!([ISSUER])),
        Set("iss", Value::Null),
        Raw(r#""iss":"https://evil.test""#.into()),
        Remove("aud"),
        Set("aud", json!("other-api")),
        Set("aud", json!(7)),
        Set("aud", json!([])),
        Set("aud", json!([null, 1, ["orders-api"]])),
        Set("aud", json!({ "aud": AUDIENCE })),
        Raw(r#""aud":"other-api""#.into()),
        Set("token_use", json!("customer")),
    ]
}

/// Small arbitrary JSON values.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(("[a-z]{0,4}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Odd claims any reading of the rules accepts: long and non-ASCII
/// subjects, scopes of any text, absent identifiers, extra, duplicate
/// (valid last) and deeply nested members.
fn plain_odd_claim() -> BoxedStrategy<Claim> {
    use Claim::*;
    prop_oneof![
        "\\PC{1,100}".prop_map(|s| Set("sub", json!(s))),
        (1usize..3000).prop_map(|n| Set("sub", json!("s".repeat(n)))),
        Just(Remove("sub")),
        Just(Remove("client_id")),
        Just(Remove("account_id")),
        Just(Remove("scope")),
        "\\PC{0,200}".prop_map(|s| Set("scope", json!(s))),
        ".{0,60}".prop_map(|s| Set("scope", json!(s))),
        "[ -~]{0,200}".prop_map(|s| Set("scope", json!(s))),
        vec("\\PC{0,30}", 0..8).prop_map(|v| Set("scope", json!(v))),
        ("x_[a-z]{0,6}", json_value()).prop_map(|(k, v)| Raw(format!("{}:{}", json!(k), v))),
        (1usize..100).prop_map(|d| Raw(format!("\"x_deep\":{}{}", "[".repeat(d), "]".repeat(d)))),
        Just(Raw(r#""sub":"duplicate-last""#.into())),
        Just(Raw(
            r#""scope":"orders:read","scope":"customer:read""#.into()
        )),
    ]
    .boxed()
}

/// Identifier and scope claims of the wrong JSON type (numbers, arrays,
/// objects, null, empty strings): accepted or refused with `invalid_token`
/// depending on how strictly types are checked, never anything else.
fn type_confused_claim() -> BoxedStrategy<Claim> {
    use Claim::*;
    prop_oneof![
        any::<i64>().prop_map(|n| Set("sub", json!(n))),
        any::<f64>().prop_map(|f| Set("sub", json!(f))),
        Just(Set("sub", json!(["a", 1, null]))),
        Just(Set("sub", json!({ "id": "x", "nested": { "a": [1, 2] } }))),
        Just(Set("sub", Value::Null)),
        Just(Set("sub", json!(""))),
        Just(Set("client_id", json!(12345))),
        Just(Set("client_id", json!({ "id": "client-123" }))),
        Just(Set("account_id", json!(["acct-9"]))),
        Just(Set("account_id", json!(""))),
        Just(Set("account_id", json!(u64::MAX))),
        Just(Set("scope", json!(5))),
        Just(Set("scope", json!({ "orders": "read" }))),
        Just(Set(
            "scope",
            json!([1, null, "orders:read", ["x"], { "a": 1 }])
        )),
    ]
    .boxed()
}

fn odd_identity_claim() -> BoxedStrategy<Claim> {
    prop_oneof![plain_odd_claim(), type_confused_claim()].boxed()
}

/// Odd but valid time claims: huge or fractional `exp`, past `nbf`, any `iat`.
fn odd_time_claim() -> BoxedStrategy<Claim> {
    use Claim::*;
    let n = now();
    select(vec![
        Set("exp", json!(1e300)),
        Set("exp", json!(u64::MAX)),
        Set("exp", json!(i64::MAX)),
        Set("exp", json!(n as f64 + 300.5)),
        Raw(r#""exp":18446744073709551616"#.into()),
        Raw(r#""exp":1e300"#.into()),
        Set("nbf", json!(n - 100)),
        Set("nbf", json!(0)),
        Set("nbf", json!(-1e300)),
        Set("iat", json!(n + 100_000)),
        Set("iat", json!(-1)),
        Set("iat", json!(1e300)),
        Remove("iat"),
    ])
    .boxed()
}

fn any_claim() -> BoxedStrategy<Claim> {
    prop_oneof![
        select(refused_claims()),
        odd_identity_claim(),
        odd_time_claim(),
    ]
    .boxed()
}

/// JOSE headers for unsigned near-valid tokens.
const JWT_HEADERS: &[&str] = &[
    r#"{"typ":"JWT","alg":"HS256"}"#,
    r#"{"alg":"HS256"}"#,
    r#"{"alg":"HS256","alg":"none"}"#,
    r#"{"alg":"none"}"#,
    r#"{"alg":"None"}"#,
    r#"{"alg":"hs256"}"#,
    r#"{"alg":"HS256 "}"#,
    r#"{"alg":"HS384"}"#,
    r#"{"alg":"RS256","kid":"k"}"#,
    r#"{"alg":"ES256"}"#,
    r#"{"alg":"EdDSA"}"#,
    r#"{"alg":5}"#,
    r#"{"alg":null}"#,
    r#"{"alg":["HS256"]}"#,
    r#"{"typ":"JWT"}"#,
    r#"{"alg":"HS256","crit":["exp"]}"#,
    r#"{"alg":"HS256","b64":false}"#,
    r#"{"alg":"HS256","zip":"DEF"}"#,
    r#"{"alg":"HS256","enc":"A256GCM"}"#,
    r#"{"alg":"HS256","kid":""}"#,
    r#"{"alg":"HS256","kid":5}"#,
    r#"{"alg":"HS256","typ":7}"#,
    r#"{"alg":"HS256","jku":"https://evil.test/jwks","jwk":{"kty":"oct","k":"AAAA"}}"#,
    "[]",
    "null",
    "{",
    "",
    "\"HS256\"",
    r#"{"alg":"HS256"}garbage"#,
    "{\"alg\":\"HS256\"}\u{0}",
];

/// A structural change to a whole token.
#[derive(Clone, Debug)]
struct Reshape(u8, usize, char);

impl Reshape {
    fn apply(&self, t: String) -> String {
        match self.0 {
            0 => format!("{t}."),
            1 => format!("{t}.e30.e30"),
            2 => t.rsplit_once('.').map_or(t.clone(), |(a, _)| a.to_owned()),
            3 if t.is_ascii() => {
                let mut t = t;
                t.insert(self.1 % (t.len() + 1), self.2);
                t
            }
            4 => format!("{t}=="),
            5 => t.replace('-', "+").replace('_', "/"),
            6 => format!(" {t} "),
            7 => t.to_ascii_uppercase(),
            8 => t.replacen('.', "..", 1),
            _ => t,
        }
    }
}

fn reshape() -> BoxedStrategy<Reshape> {
    (
        0u8..30,
        any::<usize>(),
        select(&['=', '+', '/', ' ', '.', '~', '\t', 'é', '"', ',', '\0'][..]),
    )
        .prop_map(|(a, b, c)| Reshape(a, b, c))
        .boxed()
}

/// Three base64url segments that almost make a token: mutated headers and
/// claims, and a signature that is random, empty, or valid for another token.
fn near_valid_jwt(foreign_signature: String) -> BoxedStrategy<String> {
    let header = prop_oneof![
        6 => Just(JWT_HEADERS[0].as_bytes().to_vec()),
        6 => select(JWT_HEADERS).prop_map(|h| h.as_bytes().to_vec()),
        1 => "[ -~]{0,40}".prop_map(|kid| json!({ "alg": "HS256", "kid": kid }).to_string().into_bytes()),
        1 => "[a-z]{250,300}".prop_map(|kid| json!({ "alg": "HS256", "kid": kid }).to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..40),
    ];
    let body = prop_oneof![
        8 => vec(any_claim(), 0..4).prop_map(|c| claims_text(&claims(), &c).into_bytes()),
        1 => select(&["", "{}", "[]", "null", "1", "\"x\"", "{\"exp\":", "{\"a\":1}}"][..])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..100),
    ];
    let signature = prop_oneof![
        3 => vec(any::<u8>(), 1..80).prop_map(b64),
        2 => Just(foreign_signature),
        1 => Just(String::new()),
        1 => "[A-Za-z0-9_=+/.-]{1,20}",
    ];
    (header, body, signature, reshape())
        .prop_map(|(h, c, s, r)| r.apply(format!("{}.{}.{s}", b64(h), b64(c))))
        .boxed()
}

/// A session ID: well-formed but unknown, almost well-formed, or not at all.
fn session_like() -> BoxedStrategy<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let well_formed = || any::<[u8; 32]>().prop_map(|b| format!("sess_{}", b64(b)));
    prop_oneof![
        4 => well_formed(),
        // The last character's padding bits are not zero.
        1 => (any::<[u8; 32]>(), 1usize..4).prop_map(|(b, k)| {
            let mut s = format!("sess_{}", b64(b));
            let last = s.pop().unwrap();
            let i = ALPHABET.iter().position(|&c| c as char == last).unwrap();
            s.push(ALPHABET[i + k] as char);
            s
        }),
        1 => "sess_[A-Za-z0-9_-]{0,60}",
        1 => "(SESS_|Sess_|sess-|sess|sess__|)[A-Za-z0-9_+/=-]{43}",
        1 => (well_formed(), "[ \t]{0,2}", "[ \t=.;]{0,2}").prop_map(|(s, a, b)| format!("{a}{s}{b}")),
        1 => (well_formed(), "[A-Za-z0-9=]{1,3}").prop_map(|(s, x)| format!("{s}{x}")),
        1 => "sess_\\PC{43}",
    ]
    .prop_map(String::into_bytes)
    .boxed()
}

/// Anything that might be sent where a token goes.
fn token_bytes(w: &World) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => near_valid_jwt(w.foreign_signature.clone()).prop_map(String::into_bytes),
        2 => "[A-Za-z0-9_.~+/=-]{0,200}".prop_map(String::into_bytes),
        1 => session_like(),
        1 => long_token(),
        2 => raw_bytes(),
    ]
    .boxed()
}

fn authorization_value(w: &World) -> BoxedStrategy<Vec<u8>> {
    let scheme = prop_oneof![
        6 => select(&["Bearer", "Bearer", "bearer", "BEARER", "bEaReR"][..]).prop_map(str::to_owned),
        3 => select(&[
            "Bearer:", "Bear", "Bearerr", "Basic", "Digest", "Token", "JWT", "", "Bearer,",
            "Beare r", "DPoP",
        ][..]).prop_map(str::to_owned),
        1 => "[!-~]{1,10}",
    ];
    let sep = prop_oneof![
        4 => Just(" "),
        1 => select(&["  ", "\t", " \t", "", ":"][..]),
    ];
    let trailing = prop_oneof![
        4 => Just(""),
        1 => select(&[" ", "\t", ",", " x", "  "][..]),
    ];
    prop_oneof![
        6 => (scheme, sep, token_bytes(w), trailing).prop_map(|(s, sep, t, tr)| {
            [s.as_bytes(), sep.as_bytes(), &t, tr.as_bytes()].concat()
        }),
        1 => vec(any::<u8>(), 0..48).prop_map(|b| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(b)).into_bytes()
        }),
        2 => raw_bytes(),
    ]
    .boxed()
}

fn customer_value(w: &World) -> BoxedStrategy<Vec<u8>> {
    let scheme = select(&["", "", "Bearer ", "bearer ", "Bearer  ", "Basic ", "Token "][..]);
    prop_oneof![
        5 => (scheme, token_bytes(w)).prop_map(|(s, t)| [s.as_bytes(), &t].concat()),
        1 => raw_bytes(),
    ]
    .boxed()
}

fn session_value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![4 => session_like(), 1 => raw_bytes()].boxed()
}

/// A cookie value: a token, a session ID, quoted, empty, or raw bytes.
fn cookie_value(w: &World) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => near_valid_jwt(w.foreign_signature.clone()).prop_map(String::into_bytes),
        2 => session_like(),
        1 => near_valid_jwt(w.foreign_signature.clone()).prop_map(|t| format!("\"{t}\"").into_bytes()),
        1 => select(&["", "\"", "\"\"", "\"x", "=", "==", " "][..]).prop_map(|s| s.as_bytes().to_vec()),
        1 => "[!#-+\\--:<-\\[\\]-~]{0,40}".prop_map(String::into_bytes),
        1 => long_token(),
        1 => raw_bytes(),
    ]
    .boxed()
}

/// A `Cookie` header: pairs (names like `at` and `sid` among others, often
/// repeated) with assorted separators, or raw bytes.
fn cookie_header(w: &World) -> BoxedStrategy<Vec<u8>> {
    let name = prop_oneof![
        4 => select(&["at", "sid"][..]).prop_map(str::to_owned),
        2 => select(&["AT", "Sid", " at", "at ", "a t", "", "\"at\"", "sid\t", "\tsid"][..])
            .prop_map(str::to_owned),
        2 => "[a-z]{1,6}",
    ];
    let eq = select(&["=", "=", "=", " =", "= ", ""][..]);
    let pair = (name, eq, cookie_value(w))
        .prop_map(|(n, eq, v)| [n.as_bytes(), eq.as_bytes(), &v].concat());
    let sep = select(&["; ", "; ", ";", " ; ", ";;", ";\t", ", "][..]);
    prop_oneof![
        4 => (vec(pair, 0..5), sep).prop_map(|(pairs, sep)| pairs.join(sep.as_bytes())),
        1 => raw_bytes(),
    ]
    .boxed()
}

/// Percent-encodes every byte outside the unreserved set.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A query string: `access_token` (and look-alikes) among other parameters,
/// repeated, percent-encoded, broken escapes, empty values.
fn query_string(w: &World) -> BoxedStrategy<String> {
    let key = prop_oneof![
        4 => Just("access_token".to_owned()),
        3 => select(&[
            "Access_Token", "access%5Ftoken", "access_token%20", "access_token[]", "",
            "access_token=", "access_token.",
        ][..]).prop_map(str::to_owned),
        2 => "[a-z]{1,6}",
    ];
    let value = prop_oneof![
        4 => near_valid_jwt(w.foreign_signature.clone()),
        2 => raw_bytes().prop_map(|b| percent_encode(&b)),
        2 => near_valid_jwt(w.foreign_signature.clone()).prop_map(|t| percent_encode(t.as_bytes())),
        1 => "[A-Za-z0-9%+._~=/-]{0,50}",
        1 => "%[0-9A-Fa-fg-z]{0,2}",
        1 => Just(String::new()),
        1 => long_token().prop_map(|b| String::from_utf8(b).unwrap()),
        1 => "[!$'()*,;:@/?=]{0,10}",
    ];
    let pair = (key, prop::option::weighted(0.9, value)).prop_map(|(k, v)| match v {
        Some(v) => format!("{k}={v}"),
        None => k,
    });
    let sep = select(&["&", "&", "&", "&&", ";"][..]);
    (vec(pair, 0..5), sep)
        .prop_map(|(pairs, sep)| pairs.join(sep))
        .boxed()
}

/// One value, or now and then several.
fn some_values(values: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Vec<Vec<u8>>> {
    prop_oneof![
        5 => values.clone().prop_map(|v| vec![v]),
        1 => vec(values, 2..4),
    ]
    .boxed()
}

/// A cookie header carrying `sid=<value>`, possibly among other cookies.
fn session_cookie(value: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    (
        select(&["", "", "theme=dark; ", "a=1;", "x"][..]),
        value,
        select(&["", "", "; lang=en", ";"][..]),
    )
        .prop_map(|(before, v, after)| [before.as_bytes(), b"sid=", &v, after.as_bytes()].concat())
        .boxed()
}

// ---------------------------------------------------------------------------
// Signed tokens.

fn signed(alg: aws_lc_rs::hmac::Algorithm, header: &str, claims: &str) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let key = aws_lc_rs::hmac::Key::new(alg, HMAC_SECRET.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", b64(tag.as_ref()))
}

/// Where a bearer token goes.
#[derive(Clone, Copy, Debug)]
enum Via {
    Header(&'static str),
    Cookie { quoted: bool },
    Query,
}

fn via() -> BoxedStrategy<Via> {
    prop_oneof![
        4 => select(&["Bearer", "bearer", "BEARER"][..]).prop_map(Via::Header),
        2 => any::<bool>().prop_map(|quoted| Via::Cookie { quoted }),
        2 => Just(Via::Query),
    ]
    .boxed()
}

/// `req` with `token` sent as `via` says.
fn deliver(mut req: Req, token: &str, via: Via) -> Req {
    match via {
        Via::Header(scheme) => {
            req.push("authorization", format!("{scheme} {token}"));
        }
        Via::Cookie { quoted } => {
            let value = if quoted {
                format!("\"{token}\"")
            } else {
                token.to_owned()
            };
            req.push("cookie", format!("theme=dark; {ACCESS_COOKIE}={value}"));
        }
        Via::Query => {
            let q = match req.query.take() {
                Some(q) => format!("{q}&{ACCESS_QUERY}={token}"),
                None => format!("page=2&{ACCESS_QUERY}={token}"),
            };
            assert!(req.set_query(q));
        }
    }
    req
}

/// Headers for signed tokens that must be refused (with the HMAC that
/// signs them): algorithms not configured, critical extensions, duplicate
/// members, an unknown `kid`, `none`.
fn refused_header() -> BoxedStrategy<(aws_lc_rs::hmac::Algorithm, &'static str)> {
    use aws_lc_rs::hmac::{HMAC_SHA256, HMAC_SHA384, HMAC_SHA512};
    select(vec![
        (HMAC_SHA384, r#"{"alg":"HS384"}"#),
        (HMAC_SHA512, r#"{"alg":"HS512","typ":"JWT"}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","crit":["exp"]}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","b64":false}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","zip":"DEF"}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","enc":"A256GCM"}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","alg":"HS256"}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","kid":"k1"}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","kid":""}"#),
        (HMAC_SHA256, r#"{"alg":"hs256"}"#),
        (HMAC_SHA256, r#"{"alg":"none"}"#),
        (HMAC_SHA256, r#"{"alg":"HS256","typ":"JWT","alg":"HS384"}"#),
    ])
    .boxed()
}

/// Headers the verifier accepts or ignores (keys come only from configuration).
const ACCEPTED_HEADERS: &[&str] = &[
    r#"{"typ":"JWT","alg":"HS256"}"#,
    r#"{"alg":"HS256"}"#,
    r#"{"alg":"HS256","typ":"at+jwt"}"#,
    r#"{"alg":"HS256","cty":"JWT"}"#,
    r#"{"alg":"HS256","jku":"https://evil.test/jwks"}"#,
    r#"{"alg":"HS256","x5u":"https://evil.test/cert"}"#,
    r#"{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}"#,
    r#"{"alg":"HS256","x5c":["AAAA"]}"#,
    r#"{"alg":"HS256","x_extra":[1,{"a":null}]}"#,
];

// ---------------------------------------------------------------------------
// The properties.

/// Arbitrary `Authorization` headers (near-valid JWTs under assorted
/// schemes and separators, Basic, raw and obs-text bytes, up to 16 KiB,
/// sometimes repeated).
#[test]
fn authorization_headers() {
    run(768, |w| {
        some_values(authorization_value(w))
            .prop_map(|values| garbage(Req::default().with_all("authorization", values)))
    });
}

/// Arbitrary `X-Customer-Token` headers, alone or beside a garbage
/// `Authorization`.
#[test]
fn customer_token_headers() {
    run(768, |w| {
        (
            some_values(customer_value(w)),
            prop::option::weighted(0.3, authorization_value(w)),
        )
            .prop_map(|(values, authz)| {
                let mut req = Req::default().with_all(CUSTOMER_HEADER, values);
                if let Some(a) = authz {
                    req.push("authorization", a);
                }
                garbage(req)
            })
    });
}

/// Session IDs in `X-Session-Id` and in the `sid` cookie: well-formed but
/// unknown, almost well-formed, raw; sometimes both, sometimes repeated.
#[test]
fn session_ids() {
    run(768, |_| {
        let header = some_values(session_value());
        let cookie = session_cookie(session_value());
        prop_oneof![
            2 => header.clone().prop_map(|h| Req::default().with_all(SESSION_HEADER, h)),
            2 => cookie.clone().prop_map(|c| Req::default().with("cookie", c)),
            1 => (header, cookie).prop_map(|(h, c)| {
                Req::default().with_all(SESSION_HEADER, h).with("cookie", c)
            }),
        ]
        .prop_map(garbage)
    });
}

/// Arbitrary `Cookie` headers: the access-token and session cookies among
/// others, repeated names, quotes, long values, raw bytes, several headers.
#[test]
fn cookie_headers() {
    run(768, |w| {
        vec(cookie_header(w), 1..4)
            .prop_map(|values| garbage(Req::default().with_all("cookie", values)))
    });
}

/// Arbitrary query strings around the `access_token` parameter.
#[test]
fn query_strings() {
    run(768, |w| {
        query_string(w).prop_map(|q| garbage(Req::default().with_query(Some(q))))
    });
}

/// Everything at once, every credential source garbage.
#[test]
fn all_sources_at_once() {
    run(768, |w| {
        (
            prop::option::of(authorization_value(w)),
            prop::option::of(customer_value(w)),
            prop::option::of(session_value()),
            vec(cookie_header(w), 0..3),
            prop::option::of(query_string(w)),
        )
            .prop_map(|(authz, customer, session, cookies, query)| {
                let mut req = Req::default().with_all("cookie", cookies).with_query(query);
                if let Some(v) = authz {
                    req.push("authorization", v);
                }
                if let Some(v) = customer {
                    req.push(CUSTOMER_HEADER, v);
                }
                if let Some(v) = session {
                    req.push(SESSION_HEADER, v);
                }
                garbage(req)
            })
    });
}

/// What one extra credential source does beside a valid access token.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Effect {
    /// Nothing tollgate reads.
    Harmless,
    /// This status.
    Exact(u16),
    /// A credential that cannot verify: never 200.
    Refused,
    /// Garbage that may or may not be read as a credential.
    Any,
}

/// A valid access token (in the header, cookie or query) plus junk in the
/// other credential sources: valid customer tokens and sessions of the same
/// or another account, invalid ones, garbage, and harmless cookies and
/// parameters. Never 500; always one of 200/400/401/403, and exactly the
/// expected one where a single source decides.
#[test]
fn valid_token_with_junk_elsewhere() {
    run(768, |w| {
        let customer = prop_oneof![
            3 => Just(None),
            1 => Just(Some((w.customer_same.clone().into_bytes(), Effect::Exact(200)))),
            1 => Just(Some((format!("Bearer {}", w.customer_same).into_bytes(), Effect::Exact(200)))),
            1 => Just(Some((w.customer_other_account.clone().into_bytes(), Effect::Exact(403)))),
            1 => Just(Some((w.customer_without_id.clone().into_bytes(), Effect::Exact(401)))),
            1 => Just(Some((w.customer_expired.clone().into_bytes(), Effect::Exact(401)))),
            1 => Just(Some((w.access.clone().into_bytes(), Effect::Exact(401)))),
            4 => customer_value(w).prop_map(|v| Some((v, Effect::Refused))),
        ];
        let session_id = prop_oneof![
            1 => Just((w.session_same.clone().into_bytes(), Effect::Exact(200))),
            1 => Just((w.session_other_account.clone().into_bytes(), Effect::Exact(403))),
            1 => any::<[u8; 32]>().prop_map(|b| (format!("sess_{}", b64(b)).into_bytes(), Effect::Exact(401))),
            3 => session_value().prop_map(|v| (v, Effect::Refused)),
        ];
        let session = prop::option::of((any::<bool>(), session_id));
        let cookie = prop_oneof![
            2 => Just(None),
            1 => vec(("c[a-z]{0,5}", "[!#-+\\--:<-\\[\\]-~]{0,30}"), 1..4)
                .prop_map(|kv| {
                    let pairs: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
                    Some((pairs.join("; ").into_bytes(), Effect::Harmless))
                }),
            2 => cookie_header(w).prop_map(|v| Some((v, Effect::Any))),
        ];
        let query = prop_oneof![
            2 => Just(None),
            1 => vec(("q[a-z]{0,5}", "[A-Za-z0-9%._~-]{0,20}"), 1..4)
                .prop_map(|kv| {
                    let pairs: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
                    Some((pairs.join("&"), Effect::Harmless))
                }),
            2 => query_string(w).prop_map(|q| Some((q, Effect::Any))),
        ];
        let access = w.access.clone();
        (via(), customer, session, cookie, query).prop_map(
            move |(via, customer, session, cookie, query)| {
                let mut req = Req::default();
                let mut effects = Vec::new();
                if let Some((q, effect)) = query
                    && req.set_query(q)
                {
                    effects.push(effect);
                }
                if let Some((v, effect)) = cookie
                    && req.push("cookie", v)
                {
                    effects.push(effect);
                }
                if let Some((v, effect)) = customer
                    && req.push(CUSTOMER_HEADER, v)
                {
                    effects.push(effect);
                }
                if let Some((in_cookie, (v, effect))) = session {
                    let sent = if in_cookie {
                        req.push("cookie", [b"sid=".as_slice(), &v].concat())
                    } else {
                        req.push(SESSION_HEADER, v)
                    };
                    if sent {
                        effects.push(effect);
                    }
                }
                let req = deliver(req, &access, via);
                effects.retain(|e| *e != Effect::Harmless);
                let expect = match effects.as_slice() {
                    [] => Expect::Exactly(200, None),
                    [Effect::Exact(200)] => Expect::Exactly(200, None),
                    [Effect::Exact(401)] => Expect::Exactly(401, Some("invalid_token")),
                    [Effect::Exact(403)] => Expect::Exactly(403, Some("insufficient_scope")),
                    [Effect::Refused] => Expect::OneOf(vec![400, 401]),
                    e if e.contains(&Effect::Refused) => Expect::OneOf(vec![400, 401, 403]),
                    _ => Expect::OneOf(vec![200, 400, 401, 403]),
                };
                Case { req, expect }
            },
        )
    });
}

/// Correctly signed tokens whose claims or header this configuration must
/// refuse (no or malformed `exp`, expired, not yet valid, wrong `iss` or
/// `aud` of any type, a customer token as access token, duplicate members
/// ending in an invalid value, unconfigured algorithms, `crit`, unknown
/// `kid`), with odd identity claims mixed in: exactly 401 `invalid_token`
/// through every source.
#[test]
fn signed_tokens_with_refused_claims() {
    run(512, |_| {
        let standard = (
            Just((aws_lc_rs::hmac::HMAC_SHA256, JWT_HEADERS[0])),
            vec(select(refused_claims()), 1..3),
        );
        let odd_header = (refused_header(), vec(select(refused_claims()), 0..2));
        (
            prop_oneof![standard, odd_header],
            vec(odd_identity_claim(), 0..3),
            via(),
        )
            .prop_map(|(((alg, header), refused), odd, via)| {
                // Odd claims first: the refused ones must have the last word.
                let changes: Vec<Claim> = odd.into_iter().chain(refused).collect();
                let token = signed(alg, header, &claims_text(&claims(), &changes));
                Case {
                    req: deliver(Req::default(), &token, via),
                    expect: Expect::Exactly(401, Some("invalid_token")),
                }
            })
    });
}

/// Correctly signed tokens with odd claims (long and non-ASCII subjects,
/// scopes of any text, extra, duplicate and deeply nested members, huge or
/// fractional times) and ignored header members: 200 through every source,
/// or 401 `invalid_token` when the token exceeds the 8 KiB limit. With an
/// identifier or scope claim of the wrong JSON type mixed in, 200 or 401.
#[test]
fn signed_tokens_with_odd_claims() {
    run(512, |_| {
        let change = prop_oneof![
            3 => plain_odd_claim().prop_map(|c| (c, false)),
            1 => type_confused_claim().prop_map(|c| (c, true)),
            1 => odd_time_claim().prop_map(|c| (c, false)),
        ];
        (select(ACCEPTED_HEADERS), vec(change, 0..4), via()).prop_map(|(header, changes, via)| {
            let confused = changes.iter().any(|(_, confused)| *confused);
            let changes: Vec<Claim> = changes.into_iter().map(|(c, _)| c).collect();
            let token = signed(
                aws_lc_rs::hmac::HMAC_SHA256,
                header,
                &claims_text(&claims(), &changes),
            );
            let expect = if token.len() > tollgate::credentials::DEFAULT_MAX_TOKEN_BYTES {
                Expect::Exactly(401, Some("invalid_token"))
            } else if confused {
                Expect::OneOf(vec![200, 401])
            } else {
                Expect::Exactly(200, None)
            };
            Case {
                req: deliver(Req::default(), &token, via),
                expect,
            }
        })
    });
}
