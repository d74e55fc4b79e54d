//! Property tests for the credential sources beyond `Authorization`: a
//! token header of the app's choice (`X-Api-Key`), the websocket
//! subprotocol offer, and a custom function (reading `X-Ticket`), through an
//! axum `Router` and an actix `App` with the same authenticator.
//!
//! For every input: no panic and no 5xx, axum and actix answer alike, and
//! the handler (200 only with an `AuthContext`) sees a context only for a
//! valid token presented by exactly one source. Garbage in any source is a
//! 400 or 401; a valid token in one source is 200; the same token in two
//! sources is 400 `invalid_request`; a token over the size cap is 401
//! `invalid_token`, whichever source carried it.
#![cfg(all(feature = "actix", feature = "axum"))]

mod common;

use actix_web::test as atest;
use actix_web::{HttpResponse, web};
use axum::Router;
use axum::routing::get;
use common::*;
use http_body_util::BodyExt;
use jsonwebtoken::Algorithm;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use tollgate::tower::AuthLayer;
use tollgate::{Auth, Authenticator, Credential, CredentialSources, IssuerConfig};
use tower::ServiceExt;

const MAX: usize = 2048;

fn authenticator() -> Authenticator {
    install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .credentials(
            CredentialSources::default()
                .with_header("X-Api-Key")
                .with_websocket_protocol_prefix("bearer.")
                .with_max_token_bytes(MAX)
                .with_custom(|req| {
                    let mut found = None;
                    req.visit_header("x-ticket", &mut |v| {
                        found = Some(String::from_utf8_lossy(v).into_owned());
                    });
                    found.map(Credential::Bearer)
                }),
        )
        .build()
        .unwrap()
}

#[derive(Clone, Debug)]
enum Source {
    Authorization,
    ApiKey,
    ApiKeyBearer,
    WebSocket,
    Custom,
}

const SOURCES: [Source; 5] = [
    Source::Authorization,
    Source::ApiKey,
    Source::ApiKeyBearer,
    Source::WebSocket,
    Source::Custom,
];

impl Source {
    fn header(&self, token: &[u8]) -> (&'static str, Vec<u8>) {
        match self {
            Self::Authorization => ("authorization", [b"Bearer ", token].concat()),
            Self::ApiKey => ("x-api-key", token.to_vec()),
            Self::ApiKeyBearer => ("x-api-key", [b"bearer ", token].concat()),
            Self::WebSocket => (
                "sec-websocket-protocol",
                [b"orders.v1, bearer.", token].concat(),
            ),
            Self::Custom => ("x-ticket", token.to_vec()),
        }
    }

    fn name(&self) -> &'static str {
        self.header(b"").0
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    error: Option<String>,
}

type Headers = Vec<(&'static str, Vec<u8>)>;
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Outcome>>>;

struct World {
    axum: Router,
    actix: Box<dyn Fn(Headers) -> Pending>,
    rt: tokio::runtime::Runtime,
}

fn outcome(status: u16, body: &[u8]) -> Outcome {
    Outcome {
        status,
        error: serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned)),
    }
}

impl World {
    fn ask(&self, headers: Headers) -> Result<Outcome, TestCaseError> {
        let mut req = http::Request::get("/protected");
        for (k, v) in &headers {
            req = req.header(*k, http::HeaderValue::from_bytes(v).unwrap());
        }
        let req = req.body(axum::body::Body::empty()).unwrap();
        let a = self.rt.block_on(async {
            let res = self.axum.clone().oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            outcome(status, &body)
        });
        let x = actix_web::rt::System::new().block_on((self.actix)(headers));
        prop_assert_eq!(&a, &x, "axum and actix differ");
        prop_assert!(a.status < 500, "server error {:?}", a);
        Ok(a)
    }
}

fn world() -> World {
    let auth = authenticator();
    let axum = Router::new()
        .route("/protected", get(|Auth(_): Auth| async { "ok" }))
        .layer(AuthLayer::required(auth.clone()));
    let actix = Box::new(move |headers: Headers| {
        let auth = auth.clone();
        Box::pin(async move {
            let app = atest::init_service(
                actix_web::App::new()
                    .wrap(tollgate::actix::AuthMiddleware::required(auth))
                    .route(
                        "/protected",
                        web::get().to(|Auth(_): Auth| async { HttpResponse::Ok().body("ok") }),
                    ),
            )
            .await;
            let mut req = atest::TestRequest::get().uri("/protected");
            for (k, v) in headers {
                req = req.append_header((
                    k,
                    actix_web::http::header::HeaderValue::from_bytes(&v).unwrap(),
                ));
            }
            let res = atest::call_service(&app, req.to_request()).await;
            let status = res.status().as_u16();
            let body = atest::read_body(res).await;
            outcome(status, &body)
        }) as Pending
    });
    World {
        axum,
        actix,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 2000,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Bytes a header value can hold (visible ASCII, space, tab, obs-text).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            8 => 0x21u8..0x7f,
            1 => Just(b' '),
            1 => Just(b','),
            1 => 0x80u8..=0xff,
        ],
        0..120,
    )
    .prop_filter("header values do not start or end with spaces", |v| {
        v.first() != Some(&b' ') && v.last() != Some(&b' ')
    })
}

#[test]
fn garbage_in_any_source_is_a_clean_refusal() {
    let w = world();
    let strategy = (0..SOURCES.len(), header_bytes());
    runner()
        .run(&strategy, |(i, bytes)| {
            let source = &SOURCES[i];
            let o = w.ask(vec![source.header(&bytes)])?;
            // Whatever the bytes, no garbage gets a context; a valid JWT
            // cannot come out of 120 random bytes.
            prop_assert!(
                matches!(o.status, 400 | 401),
                "{}: {:?} for {:?}",
                source.name(),
                o,
                String::from_utf8_lossy(&bytes)
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn one_source_is_accepted_two_are_refused_and_the_cap_holds_everywhere() {
    let w = world();
    let token = mint(Algorithm::HS256, None, &claims());
    let strategy = (0..SOURCES.len(), 0..SOURCES.len(), 0usize..3);
    runner()
        .run(&strategy, |(i, j, what)| {
            let (a, b) = (&SOURCES[i], &SOURCES[j]);
            match what {
                0 => {
                    let o = w.ask(vec![a.header(token.as_bytes())])?;
                    prop_assert_eq!(o.status, 200, "{}", a.name());
                }
                1 => {
                    // Two `X-Ticket` fields are the custom function's to
                    // read (this one takes the last): one source.
                    prop_assume!(!(matches!(a, Source::Custom) && matches!(b, Source::Custom)));
                    let o = w.ask(vec![a.header(token.as_bytes()), b.header(token.as_bytes())])?;
                    prop_assert_eq!(
                        (o.status, o.error.as_deref()),
                        (400, Some("invalid_request")),
                        "{} + {}",
                        a.name(),
                        b.name()
                    );
                }
                _ => {
                    let big = "a".repeat(MAX + 1 + i * 100);
                    let o = w.ask(vec![a.header(big.as_bytes())])?;
                    prop_assert_eq!(
                        (o.status, o.error.as_deref()),
                        (401, Some("invalid_token")),
                        "{}",
                        a.name()
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}
