//! `examples/websocket_api.rs` with a real websocket client
//! (`tokio-tungstenite`): the token as a subprotocol value or in
//! `Authorization`, the application protocol echoed (never the token),
//! refusals at the upgrade, and the close when the token expires.
#![cfg(all(feature = "axum", feature = "aws_lc_rs"))]

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

fn server(extra: &[(&str, &str)]) -> ExampleServer {
    let mut envs = vec![
        ("TOLLGATE_ISSUER", ISSUER),
        ("TOLLGATE_AUDIENCE", AUDIENCE),
        ("TOLLGATE_HS256_SECRET", HMAC_SECRET),
        ("TOLLGATE_LEEWAY_SECS", "0"),
    ];
    envs.extend_from_slice(extra);
    start_example("websocket_api", &envs)
}

fn token(scope: &str, life_secs: u64) -> String {
    let mut c = claims();
    c["scope"] = json!(scope);
    c["exp"] = json!(now() + life_secs);
    mint(Algorithm::HS256, None, &c)
}

type Headers = Vec<(&'static str, String)>;

async fn connect(
    base: &str,
    headers: Headers,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        http::Response<Option<Vec<u8>>>,
    ),
    WsError,
> {
    let url = format!("{}/ws", base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().append(k, v.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await
}

/// The HTTP status and body of a refused upgrade.
fn refused(r: Result<impl Sized, WsError>) -> (u16, Value) {
    match r {
        Err(WsError::Http(res)) => {
            let body = res.body().clone().unwrap_or_default();
            (
                res.status().as_u16(),
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            )
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade succeeded"),
    }
}

#[tokio::test]
async fn a_token_in_the_subprotocol_offer_opens_the_socket() {
    let s = server(&[]);
    let t = token("orders:read", 600);
    let (mut ws, res) = connect(
        &s.base,
        vec![("sec-websocket-protocol", format!("orders.v1, bearer.{t}"))],
    )
    .await
    .unwrap();
    // The application protocol is chosen; the token is never echoed.
    assert_eq!(
        res.headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("orders.v1")
    );
    ws.send(Message::Text("hello".into())).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    let v: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(v["said"], "hello");
    assert_eq!(v["client_id"], claims()["client_id"]);
    // The same context serves every message on the connection.
    ws.send(Message::Text("again".into())).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("again"));
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn the_authorization_header_works_too_and_two_sources_are_refused() {
    let s = server(&[]);
    let t = token("orders:read", 600);
    let (mut ws, _) = connect(&s.base, vec![("authorization", format!("Bearer {t}"))])
        .await
        .unwrap();
    ws.send(Message::Text("x".into())).await.unwrap();
    assert!(ws.next().await.unwrap().unwrap().is_text());

    let (status, body) = refused(
        connect(
            &s.base,
            vec![
                ("authorization", format!("Bearer {t}")),
                ("sec-websocket-protocol", format!("orders.v1, bearer.{t}")),
            ],
        )
        .await,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _) = refused(
        connect(
            &s.base,
            vec![("sec-websocket-protocol", format!("bearer.{t}, bearer.{t}"))],
        )
        .await,
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn upgrades_without_a_good_token_are_refused_before_the_socket_opens() {
    let s = server(&[]);
    let (status, _) = refused(connect(&s.base, vec![]).await);
    assert_eq!(status, 401);
    let (status, body) = refused(
        connect(
            &s.base,
            vec![(
                "sec-websocket-protocol",
                "orders.v1, bearer.not-a-jwt".into(),
            )],
        )
        .await,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let huge = "a".repeat(9 * 1024);
    let (status, _) = refused(
        connect(
            &s.base,
            vec![(
                "sec-websocket-protocol",
                format!("orders.v1, bearer.{huge}"),
            )],
        )
        .await,
    );
    assert_eq!(status, 401);
    let t = token("customer:read", 600);
    let (status, body) = refused(
        connect(
            &s.base,
            vec![("sec-websocket-protocol", format!("orders.v1, bearer.{t}"))],
        )
        .await,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn the_connection_closes_when_the_token_expires() {
    let s = server(&[]);
    let t = token("orders:read", 2);
    let started = Instant::now();
    let (mut ws, _) = connect(
        &s.base,
        vec![("sec-websocket-protocol", format!("orders.v1, bearer.{t}"))],
    )
    .await
    .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 10 s");
    let frame = closed.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Policy);
    assert_eq!(frame.reason.as_str(), "token expired");
    assert!(started.elapsed() >= Duration::from_millis(500));

    // Configured off, the connection outlives the token.
    let s = server(&[("TOLLGATE_WS_CLOSE_ON_EXPIRY", "off")]);
    let t = token("orders:read", 1);
    let (mut ws, _) = connect(&s.base, vec![("authorization", format!("Bearer {t}"))])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ws.send(Message::Text("still here".into())).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("still here"));
}
