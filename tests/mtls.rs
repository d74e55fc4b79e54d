//! Certificate-bound access tokens (RFC 8705): `cnf.x5t#S256` against the
//! client certificate, through `examples/mtls_api.rs` (a real tokio-rustls
//! server with client-certificate authentication) and a trusted proxy's
//! header, with certificates generated here by rcgen.

mod common;

use common::{AUDIENCE, HMAC_SECRET, ISSUER, claims, mint};
use jsonwebtoken::Algorithm;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};
use std::path::PathBuf;
use tollgate::mtls::{CertificateHeaderFormat, MtlsConfig, certificate_thumbprint};
use tollgate::{Authenticator, ClientCertificate, IssuerConfig};

/// A client certificate: its PEM, its key's PEM and its DER.
struct ClientCert {
    pem: String,
    key_pem: String,
    der: Vec<u8>,
}

/// A CA, a server certificate for `localhost`/127.0.0.1 (files in `dir`),
/// and two client certificates signed by the CA.
struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client1: ClientCert,
    client2: ClientCert,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "tollgate test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |names: Vec<String>, cn: &str, usage| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert, key)
    };
    let client = |cn: &str| {
        let (cert, key) = leaf(Vec::new(), cn, ExtendedKeyUsagePurpose::ClientAuth);
        ClientCert {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    };
    let (server, server_key) = leaf(
        vec!["localhost".into(), "127.0.0.1".into()],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let dir = std::env::temp_dir().join(format!("tollgate-mtls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        dir,
        ca_pem: ca_cert.pem(),
        client1: client("client-1"),
        client2: client("client-2"),
    }
}

/// Starts the example with these certificates; `header`: the proxy header.
fn start(pki: &Pki, header: &str) -> common::ExampleServer {
    let path = |f: &str| pki.dir.join(f).to_string_lossy().into_owned();
    common::start_example(
        "mtls_api",
        &[
            ("MTLS_BIND", "127.0.0.1:0"),
            ("MTLS_CA_PEM", &path("ca.pem")),
            ("MTLS_CERT_PEM", &path("server.pem")),
            ("MTLS_KEY_PEM", &path("server.key")),
            ("MTLS_CERTIFICATE_HEADER", header),
            ("TOLLGATE_ISSUER", ISSUER),
            ("TOLLGATE_AUDIENCE", AUDIENCE),
            ("TOLLGATE_HS256_SECRET", HMAC_SECRET),
        ],
    )
}

/// An HTTPS client trusting the test CA, presenting `cert` if given.
fn client(pki: &Pki, cert: Option<&ClientCert>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()]);
    if let Some(c) = cert {
        let pem = format!("{}{}", c.pem, c.key_pem);
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

fn bound_to(der: &[u8]) -> String {
    let mut c = claims();
    c["cnf"] = json!({ "x5t#S256": certificate_thumbprint(der) });
    mint(Algorithm::HS256, None, &c)
}

fn unbound() -> String {
    mint(Algorithm::HS256, None, &claims())
}

/// Status, `error` and body of `GET /whoami` with `token` and `headers`.
async fn whoami(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    headers: &[(&str, String)],
) -> (u16, Option<String>, Value) {
    let mut req = http.get(format!("{base}/whoami")).bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap_or(Value::Null);
    let error = body.get("error").and_then(Value::as_str).map(str::to_owned);
    (status, error, body)
}

/// nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded.
fn escaped(pem: &str) -> String {
    pem.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const INVALID: Option<&str> = Some("invalid_token");

#[tokio::test]
async fn tls_client_certificates_bind_tokens() {
    let pki = pki("tls");
    let server = start(&pki, "");
    let base = &server.base;
    assert!(base.starts_with("https://"), "{base}");
    let with1 = client(&pki, Some(&pki.client1));
    let with2 = client(&pki, Some(&pki.client2));
    let without = client(&pki, None);
    let bound = bound_to(&pki.client1.der);

    let (status, error, body) = whoami(&with1, base, &bound, &[]).await;
    assert_eq!((status, error.as_deref()), (200, None), "{body}");
    assert_eq!(
        body["binding"]["x5t#S256"],
        json!(certificate_thumbprint(&pki.client1.der))
    );

    let (status, error, body) = whoami(&with2, base, &bound, &[]).await;
    assert_eq!((status, error.as_deref()), (401, INVALID), "{body}");
    assert_eq!(
        body["error_description"],
        "the token is bound to a different client certificate"
    );

    let (status, error, body) = whoami(&without, base, &bound, &[]).await;
    assert_eq!((status, error.as_deref()), (401, INVALID), "{body}");
    assert_eq!(
        body["error_description"],
        "the token is bound to a client certificate that was not presented"
    );

    // An unbound token is accepted with or without a certificate.
    for http in [&with1, &with2, &without] {
        let (status, _, body) = whoami(http, base, &unbound(), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["binding"], "bearer");
    }

    // No proxy header is configured: one sent by the client is ignored.
    let forged = vec![("x-client-cert", escaped(&pki.client1.pem))];
    let (status, error, _) = whoami(&without, base, &bound, &forged).await;
    assert_eq!((status, error.as_deref()), (401, INVALID));
    let (status, _, _) = whoami(&without, base, &unbound(), &forged).await;
    assert_eq!(status, 200);
    let (status, error, _) = whoami(&with2, base, &bound, &forged).await;
    assert_eq!((status, error.as_deref()), (401, INVALID));
}

#[tokio::test]
async fn a_configured_proxy_header_binds_tokens() {
    let pki = pki("proxy");
    let server = start(&pki, "X-Client-Cert");
    let base = &server.base;
    let without = client(&pki, None);
    let with1 = client(&pki, Some(&pki.client1));
    let bound = bound_to(&pki.client1.der);
    let header = |c: &ClientCert| vec![("x-client-cert", escaped(&c.pem))];

    let (status, _, body) = whoami(&without, base, &bound, &header(&pki.client1)).await;
    assert_eq!(status, 200, "{body}");
    let (status, error, _) = whoami(&without, base, &bound, &header(&pki.client2)).await;
    assert_eq!((status, error.as_deref()), (401, INVALID));
    let (status, error, _) = whoami(&without, base, &bound, &[]).await;
    assert_eq!((status, error.as_deref()), (401, INVALID));
    // Once a header is configured it is the only source: the TLS peer is
    // the proxy.
    let (status, error, _) = whoami(&with1, base, &bound, &[]).await;
    assert_eq!((status, error.as_deref()), (401, INVALID));
    let (status, error, body) =
        whoami(&without, base, &bound, &[("x-client-cert", "%ZZ".into())]).await;
    assert_eq!((status, error.as_deref()), (401, INVALID), "{body}");
    assert_eq!(
        body["error_description"],
        "the client certificate header is malformed"
    );
    // Unbound tokens never read the header.
    let (status, _, _) = whoami(
        &without,
        base,
        &unbound(),
        &[("x-client-cert", "%ZZ".into())],
    )
    .await;
    assert_eq!(status, 200);
}

/// The engine in process (tower, no TLS): header formats and refusals.
fn header_auth(format: CertificateHeaderFormat) -> Authenticator {
    common::install_backend();
    Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .mtls(
            MtlsConfig::default()
                .with_certificate_header("x-forwarded-client-cert")
                .with_header_format(format),
        )
        .build()
        .unwrap()
}

async fn send_with(app: &axum::Router, token: &str, values: &[&[u8]]) -> common::Reply {
    let auth = format!("Bearer {token}");
    let mut headers: Vec<(&str, &[u8])> = vec![("authorization", auth.as_bytes())];
    for v in values {
        headers.push(("x-forwarded-client-cert", v));
    }
    common::send(app, "GET", "/whoami", &headers).await
}

#[tokio::test]
async fn proxy_header_formats_and_refusals_in_process() {
    let pki = pki("engine");
    let bound = bound_to(&pki.client1.der);
    let pem_app = common::app(header_auth(CertificateHeaderFormat::Pem));
    let xfcc_app = common::app(header_auth(CertificateHeaderFormat::Xfcc));

    let ok = escaped(&pki.client1.pem);
    assert_eq!(
        send_with(&pem_app, &bound, &[ok.as_bytes()]).await.status,
        200
    );
    let xfcc = format!(
        "By=spiffe://cluster.local/ns/shop/sa/api;Hash=00;Cert=\"{}\";Subject=\"CN=client-1\";URI=",
        escaped(&pki.client1.pem)
    );
    // `Hash=00` is ignored: `Cert` is there.
    assert_eq!(
        send_with(&xfcc_app, &bound, &[xfcc.as_bytes()])
            .await
            .status,
        200
    );
    let other = format!("Cert=\"{}\"", escaped(&pki.client2.pem));
    let r = send_with(&xfcc_app, &bound, &[other.as_bytes()]).await;
    assert_eq!((r.status.as_u16(), r.error()), (401, INVALID));

    let oversized = format!("{ok}{}", "A".repeat(16 * 1024));
    let two_elements = format!("{xfcc},{xfcc}");
    let truncated = ok.get(..ok.len() / 2).unwrap().to_owned();
    let cases: Vec<(&axum::Router, Vec<&[u8]>)> = vec![
        (&pem_app, vec![b"%ZZ"]),
        (&pem_app, vec![b"-----BEGIN CERTIFICATE-----"]),
        (&pem_app, vec![truncated.as_bytes()]),
        (&pem_app, vec![oversized.as_bytes()]),
        (&pem_app, vec![ok.as_bytes(), ok.as_bytes()]),
        (&pem_app, vec![b"\xff\xfe"]),
        (&xfcc_app, vec![two_elements.as_bytes()]),
        (&xfcc_app, vec![b"By=x;Subject=\"unterminated"]),
        (&xfcc_app, vec![ok.as_bytes()]),
        (&pem_app, vec![]),
    ];
    for (app, values) in cases {
        let r = send_with(app, &bound, &values).await;
        assert_eq!((r.status.as_u16(), r.error()), (401, INVALID), "{}", r.text);
        // Unbound tokens pass whatever the header says.
        let r = send_with(app, &unbound(), &values).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn the_extension_is_read_through_the_tower_layer() {
    use tower::ServiceExt as _;
    let pki = pki("extension");
    common::install_backend();
    let app = common::app(common::hmac_auth());
    let bound = bound_to(&pki.client1.der);
    for (cert, want) in [
        (Some(&pki.client1), 200),
        (Some(&pki.client2), 401),
        (None, 401),
    ] {
        let mut req = http::Request::builder()
            .uri("/whoami")
            .header("authorization", format!("Bearer {bound}"))
            .body(axum::body::Body::empty())
            .unwrap();
        if let Some(c) = cert {
            req.extensions_mut()
                .insert(ClientCertificate::from_der(c.der.clone()));
        }
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), want);
    }
}

#[cfg(feature = "test-util")]
#[tokio::test]
async fn testing_helpers_bind_tokens() {
    use tollgate::testing::{TestIssuer, with_bearer, with_client_certificate};
    use tollgate::{AuthErrorKind, TokenBinding};
    let pki = pki("helpers");
    let issuer = TestIssuer::new();
    let auth = issuer.authenticator();
    let token = issuer
        .access_token()
        .bound_to_certificate(&pki.client1.der)
        .build();
    let req =
        |der: &[u8]| with_client_certificate(with_bearer(http::Request::new(()), &token), der);
    let ctx = auth
        .authenticate(&req(&pki.client1.der))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ctx.binding(),
        TokenBinding::Certificate {
            x5t_s256: certificate_thumbprint(&pki.client1.der)
        }
    );
    let err = auth.authenticate(&req(&pki.client2.der)).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidToken);
}

/// The same binding through the actix middleware (proxy-header mode; the
/// TLS-peer mode reads actix's connection data, which `TestRequest` cannot
/// set).
#[cfg(feature = "actix")]
#[actix_web::test]
async fn a_configured_proxy_header_binds_tokens_on_actix() {
    use actix_web::{App, HttpResponse, test as atest, web};
    let pki = pki("actix");
    let bound = bound_to(&pki.client1.der);
    let app = atest::init_service(
        App::new()
            .wrap(tollgate::actix::AuthMiddleware::required(header_auth(
                CertificateHeaderFormat::Pem,
            )))
            .route(
                "/whoami",
                web::get().to(|tollgate::Auth(ctx): tollgate::Auth| async move {
                    HttpResponse::Ok().json(json!({ "binding": format!("{:?}", ctx.binding()) }))
                }),
            ),
    )
    .await;
    let call = |token: String, cert: Option<String>| {
        let mut req = atest::TestRequest::get()
            .uri("/whoami")
            .insert_header(("authorization", format!("Bearer {token}")));
        if let Some(c) = cert {
            req = req.insert_header(("x-forwarded-client-cert", c));
        }
        req.to_request()
    };
    let res = atest::call_service(&app, call(bound.clone(), Some(escaped(&pki.client1.pem)))).await;
    assert_eq!(res.status(), 200);
    let body: Value = atest::read_body_json(res).await;
    assert!(
        body["binding"].as_str().unwrap().contains("Certificate"),
        "{body}"
    );
    for cert in [
        Some(escaped(&pki.client2.pem)),
        None,
        Some("%ZZ".to_owned()),
    ] {
        let res = atest::call_service(&app, call(bound.clone(), cert)).await;
        assert_eq!(res.status(), 401);
        let www = res
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(www.contains("invalid_token"), "{www}");
    }
    let res = atest::call_service(&app, call(unbound(), None)).await;
    assert_eq!(res.status(), 200);
}

/// The TLS peer certificate on actix-web: a real rustls server (actix's own
/// `bind_rustls_0_23`) that hands the peer certificate to tollgate as
/// connection data in `on_connect`.
#[cfg(feature = "actix")]
#[actix_web::test]
async fn tls_client_certificates_bind_tokens_on_actix() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    let pki = pki("actix-tls");
    let read = |f: &str| std::fs::read(pki.dir.join(f)).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .allow_unauthenticated()
        .build()
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(&read("server.pem")).unwrap()],
            PrivateKeyDer::from_pem_slice(&read("server.key")).unwrap(),
        )
        .unwrap();
    common::install_backend();
    let auth = Authenticator::builder()
        .issuer(
            IssuerConfig::new(ISSUER)
                .audience(AUDIENCE)
                .hmac_secret(HMAC_SECRET),
        )
        .build()
        .unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(tollgate::actix::AuthMiddleware::required(auth.clone()))
            .route(
                "/whoami",
                web::get().to(|tollgate::Auth(ctx): tollgate::Auth| async move {
                    HttpResponse::Ok().json(json!({ "binding": format!("{:?}", ctx.binding()) }))
                }),
            )
    })
    .on_connect(|conn, data| {
        use actix_tls::accept::rustls_0_23::TlsStream;
        if let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>()
            && let Some(cert) = tls.get_ref().1.peer_certificates().and_then(|c| c.first())
        {
            data.insert(ClientCertificate::from_der(cert.as_ref().to_vec()));
        }
    })
    .workers(1)
    .bind_rustls_0_23(("127.0.0.1", 0), config)
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let base = format!("https://localhost:{}", addr.port());
    let bound = bound_to(&pki.client1.der);
    let with1 = client(&pki, Some(&pki.client1));
    let with2 = client(&pki, Some(&pki.client2));
    let without = client(&pki, None);
    let (status, _, body) = whoami(&with1, &base, &bound, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["binding"].as_str().unwrap().contains("Certificate"),
        "{body}"
    );
    assert_eq!(
        whoami(&with2, &base, &bound, &[]).await.1.as_deref(),
        INVALID
    );
    assert_eq!(
        whoami(&without, &base, &bound, &[]).await.1.as_deref(),
        INVALID
    );
    assert_eq!(whoami(&without, &base, &unbound(), &[]).await.0, 200);
    assert_eq!(whoami(&with2, &base, &unbound(), &[]).await.0, 200);
    handle.stop(true).await;
}
