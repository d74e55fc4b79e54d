//! The `tollgate.decide` span: its fields for an allowed and a refused
//! request, `client_id`/`account` recorded on the caller's span, and no
//! token, signature or secret in any captured span field or event.

mod common;

use common::*;
use jsonwebtoken::Algorithm;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use tollgate::{AuthErrorKind, Decision, Mode};
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// One span as captured: its name and every field recorded on it.
#[derive(Debug, Clone)]
struct SpanRec {
    name: &'static str,
    fields: HashMap<&'static str, String>,
}

#[derive(Default)]
struct Captured {
    live: HashMap<Id, SpanRec>,
    closed: Vec<SpanRec>,
    events: Vec<HashMap<&'static str, String>>,
}

/// A layer that keeps every span field and event field it sees.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Captured>>);

struct Fields<'a>(&'a mut HashMap<&'static str, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S>
    for Capture
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut rec = SpanRec {
            name: attrs.metadata().name(),
            fields: HashMap::new(),
        };
        attrs.record(&mut Fields(&mut rec.fields));
        self.0.lock().unwrap().live.insert(id.clone(), rec);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut c = self.0.lock().unwrap();
        if let Some(rec) = c.live.get_mut(id) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().events.push(fields);
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let mut c = self.0.lock().unwrap();
        if let Some(rec) = c.live.remove(&id) {
            c.closed.push(rec);
        }
    }
}

impl Capture {
    fn spans(&self, name: &str) -> Vec<SpanRec> {
        let c = self.0.lock().unwrap();
        c.closed
            .iter()
            .chain(c.live.values())
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// Every captured value: span fields and event fields.
    fn all_values(&self) -> Vec<String> {
        let c = self.0.lock().unwrap();
        c.closed
            .iter()
            .chain(c.live.values())
            .flat_map(|s| s.fields.values().cloned())
            .chain(c.events.iter().flat_map(|e| e.values().cloned()))
            .collect()
    }
}

fn bearer(token: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    h
}

/// Asserts no captured value contains the token, its signature or the secret.
fn assert_no_secrets(capture: &Capture, token: &str) {
    let signature = token.rsplit('.').next().unwrap();
    for value in capture.all_values() {
        assert!(!value.contains(token), "token captured: {value}");
        assert!(!value.contains(signature), "signature captured: {value}");
        assert!(!value.contains(HMAC_SECRET), "secret captured: {value}");
    }
}

#[tokio::test]
async fn decision_span_fields_for_allowed_and_refused() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(capture.clone()));
    let auth = hmac_auth();
    let token = mint(Algorithm::HS256, None, &claims());

    // Allowed, inside an app span that has `client_id` and `account` fields.
    let app_span = tracing::info_span!(
        "request",
        client_id = tracing::field::Empty,
        account = tracing::field::Empty,
    );
    let decision = auth
        .decide(&bearer(&token), Mode::Required)
        .instrument(app_span)
        .await
        .unwrap();
    assert!(matches!(decision, Decision::Authenticated(_)));

    // Refused: a token with a forged signature.
    let (head, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", b64([7u8; 32]));
    let err = auth
        .decide(&bearer(&forged), Mode::Required)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidToken);

    // Refused: no credentials at all.
    let err = auth
        .decide(&http::HeaderMap::new(), Mode::Required)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Missing);

    let spans = capture.spans("tollgate.decide");
    assert_eq!(spans.len(), 3, "{spans:?}");
    let allowed = &spans[0].fields;
    assert_eq!(allowed["outcome"], "allowed");
    assert_eq!(allowed["credentials"], "access_token");
    assert_eq!(allowed["issuer"], ISSUER);
    assert_eq!(allowed["client_id"], "client-123");
    assert_eq!(allowed["account"], "acct-9");
    assert!(!allowed.contains_key("reason"));

    let refused = &spans[1].fields;
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["reason"], "invalid_token");
    assert_eq!(refused["credentials"], "access_token");
    for absent in ["issuer", "client_id", "account"] {
        assert!(!refused.contains_key(absent), "{absent} in {refused:?}");
    }

    let missing = &spans[2].fields;
    assert_eq!(missing["outcome"], "refused");
    assert_eq!(missing["reason"], "missing");
    assert!(!missing.contains_key("credentials"));

    // The app's own span got the caller's identity too.
    let request = capture.spans("request");
    assert_eq!(request.len(), 1);
    assert_eq!(request[0].fields["client_id"], "client-123");
    assert_eq!(request[0].fields["account"], "acct-9");

    assert_no_secrets(&capture, &token);
    assert_no_secrets(&capture, &forged);
}

/// Through the tower layer's synchronous fast path (a cached token), the
/// decision is still one span with the same fields.
#[tokio::test]
async fn the_tower_fast_path_records_one_span_per_decision() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(capture.clone()));
    let app = app(hmac_auth());
    let token = mint(Algorithm::HS256, None, &claims());
    for _ in 0..2 {
        assert_eq!(get_bearer(&app, "/whoami", &token).await.status, 200);
    }
    assert_eq!(get_bearer(&app, "/whoami", "not-a-jwt").await.status, 401);

    let spans = capture.spans("tollgate.decide");
    assert_eq!(spans.len(), 3, "{spans:?}");
    for allowed in &spans[..2] {
        assert_eq!(allowed.fields["outcome"], "allowed");
        assert_eq!(allowed.fields["client_id"], "client-123");
    }
    assert_eq!(spans[2].fields["outcome"], "refused");
    assert_eq!(spans[2].fields["reason"], "invalid_token");
    assert_no_secrets(&capture, &token);
}

/// A key fetch runs in a `tollgate.jwks_refresh` span inside the decision.
#[tokio::test]
async fn a_jwks_fetch_has_its_own_span() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(capture.clone()));
    let server = JwksServer::start(jwks(&[(Algorithm::RS256, "k1")])).await;
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .jwks_url(server.url()),
        )
        .build()
        .unwrap();
    let token = mint(Algorithm::RS256, Some("k1"), &claims());
    auth.decide(&bearer(&token), Mode::Required).await.unwrap();

    let fetches = capture.spans("tollgate.jwks_refresh");
    assert_eq!(fetches.len(), 1, "{fetches:?}");
    assert_eq!(fetches[0].fields["result"], "fresh");
    assert_eq!(fetches[0].fields["issuer_index"], "0");
    assert_eq!(
        capture.spans("tollgate.decide")[0].fields["outcome"],
        "allowed"
    );
    assert_no_secrets(&capture, &token);
}

/// A session lookup runs in a `tollgate.session_store` span inside the
/// decision, and the session ID appears nowhere.
#[tokio::test]
async fn a_session_lookup_has_its_own_span() {
    use tollgate::session::{MemoryStore, NewSession, SessionStore};
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(capture.clone()));
    let store = Arc::new(MemoryStore::new(100));
    let auth = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .session_store(store.clone())
        .build()
        .unwrap();
    let session = store
        .create(NewSession::for_customer("acct-1", "cust-1", "orders:read"))
        .await
        .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-session-id", session.id.as_str().parse().unwrap());
    auth.decide(&headers, Mode::Required).await.unwrap();

    let lookups = capture.spans("tollgate.session_store");
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert_eq!(lookups[0].fields["result"], "found");
    let decision = &capture.spans("tollgate.decide")[0].fields;
    assert_eq!(decision["outcome"], "allowed");
    assert_eq!(decision["credentials"], "session");
    assert_eq!(decision["account"], "acct-1");
    assert!(!decision.contains_key("issuer"), "{decision:?}");
    for value in capture.all_values() {
        assert!(
            !value.contains(session.id.as_str()),
            "session id captured: {value}"
        );
    }
}
