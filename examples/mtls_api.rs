//! Certificate-bound access tokens (RFC 8705) with axum behind tollgate,
//! the app terminating TLS itself with tokio-rustls and client-certificate
//! authentication.
//!
//! The TLS server asks every client for a certificate signed by the client
//! CA, but also lets clients without one in (`allow_unauthenticated`): a
//! bearer token without `cnf` still works without a certificate, and a
//! token bound to a certificate (`cnf.x5t#S256`) is answered 401
//! `invalid_token` by tollgate when the certificate is missing or another
//! one. After each handshake the peer's end-entity certificate becomes a
//! [`tollgate::ClientCertificate`] in every request's extensions, where the
//! engine reads it.
//!
//! Routes: `GET /whoami` (the caller and how its token was bound).
//!
//! With no `MTLS_*` files it runs on an embedded default: it generates a
//! client CA, a server certificate for `localhost` and one client
//! certificate, writes the client's files and the CA to a temporary folder,
//! and prints curl lines with tokens from the embedded demo issuer (see
//! `axum_api`), one bound to that client certificate.
//!
//! Environment (all optional):
//! - `MTLS_BIND` (default `127.0.0.1:3443`)
//! - `MTLS_CA_PEM`, `MTLS_CERT_PEM`, `MTLS_KEY_PEM`: paths to the CA that
//!   signs client certificates, the server's certificate chain and its
//!   private key (PEM); all three or none
//! - `MTLS_CERTIFICATE_HEADER`: read client certificates from this header
//!   (URL-encoded PEM, as nginx's `$ssl_client_escaped_cert`) set by a
//!   trusted TLS-terminating proxy instead of the TLS connection
//! - the `TOLLGATE_*` issuer variables of `axum_api` (`TOLLGATE_ISSUER`,
//!   `TOLLGATE_AUDIENCE`, one of `TOLLGATE_JWKS_URL`, `TOLLGATE_DISCOVERY=1`,
//!   `TOLLGATE_HS256_SECRET`, …)
//!
//! It prints `listening on https://ADDR` once it accepts connections.

mod common;

use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tollgate::axum::Auth;
use tollgate::mtls::MtlsConfig;
use tollgate::tower::AuthLayer;
use tollgate::{Authenticator, ClientCertificate, TokenBinding};
use tower::ServiceExt as _;

const DEFAULT_BIND: &str = "127.0.0.1:3443";

fn app(auth: Authenticator) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .layer(AuthLayer::required(auth))
}

async fn whoami(Auth(ctx): Auth) -> Json<serde_json::Value> {
    let binding = match ctx.binding() {
        TokenBinding::Certificate { x5t_s256 } => serde_json::json!({ "x5t#S256": x5t_s256 }),
        TokenBinding::Dpop { jkt } => serde_json::json!({ "jkt": jkt }),
        _ => serde_json::json!("bearer"),
    };
    Json(serde_json::json!({
        "client_id": ctx.client_id(),
        "subject": ctx.subject(),
        "binding": binding,
    }))
}

/// The TLS material: the server's chain and key, and the client CA.
struct Tls {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: Vec<CertificateDer<'static>>,
}

fn read_tls(ca: &str, cert: &str, key: &str) -> Result<Tls, String> {
    let certs = |path: &str| {
        CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{path}: {e}"))
    };
    Ok(Tls {
        chain: certs(cert)?,
        key: PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?,
        client_ca: certs(ca)?,
    })
}

/// The embedded default: a client CA, a `localhost` server certificate and
/// one client certificate, whose files are written to `dir`. Returns the
/// TLS material and the client certificate's DER.
fn demo_tls(dir: &std::path::Path) -> Result<(Tls, Vec<u8>), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "tollgate demo client CA");
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf = |names: Vec<String>, cn: &str, usage| -> Result<_, String> {
        let key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(names).map_err(err)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok((cert, key))
    };
    let (server, server_key) = leaf(
        vec!["localhost".into(), "127.0.0.1".into()],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let (client, client_key) = leaf(Vec::new(), "demo-app", ExtendedKeyUsagePurpose::ClientAuth)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, pem) in [
        ("ca.pem", ca_cert.pem()),
        ("client.pem", client.pem()),
        ("client.key", client_key.serialize_pem()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, pem).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let tls = Tls {
        chain: vec![server.der().clone()],
        key: PrivateKeyDer::try_from(server_key.serialize_der())
            .map_err(|e| format!("server key: {e}"))?,
        client_ca: vec![ca_cert.der().clone()],
    };
    Ok((tls, client.der().to_vec()))
}

fn server_config(tls: Tls) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in tls.client_ca {
        roots.add(ca).map_err(|e| format!("client CA: {e}"))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    // Requests without a certificate reach tollgate, which refuses
    // certificate-bound tokens on them (RFC 8705 §3).
    .allow_unauthenticated()
    .build()
    .map_err(|e| format!("client verifier: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(tls.chain, tls.key)
        .map_err(|e| format!("server certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves one TLS connection: the peer's end-entity certificate (if any)
/// goes into every request's extensions, for tollgate to read.
async fn serve_connection(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    app: Router,
) {
    let Ok(tls) = acceptor.accept(tcp).await else {
        return;
    };
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|der| ClientCertificate::from_der(der.as_ref()));
    let service =
        hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
            if let Some(cert) = &cert {
                req.extensions_mut().insert(cert.clone());
            }
            app.clone().oneshot(req)
        });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

async fn run() -> Result<(), String> {
    let setup = common::setup().await?;
    let bind = common::env("MTLS_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
    let files = [
        common::env("MTLS_CA_PEM"),
        common::env("MTLS_CERT_PEM"),
        common::env("MTLS_KEY_PEM"),
    ];
    let demo_dir = std::env::temp_dir().join(format!("tollgate-mtls-demo-{}", std::process::id()));
    let (tls, demo_client) = match files {
        [Some(ca), Some(cert), Some(key)] => (read_tls(&ca, &cert, &key)?, None),
        [None, None, None] => {
            let (tls, client) = demo_tls(&demo_dir)?;
            (tls, Some(client))
        }
        _ => return Err("set all of MTLS_CA_PEM, MTLS_CERT_PEM and MTLS_KEY_PEM, or none".into()),
    };
    let mut mtls = MtlsConfig::default();
    if let Some(header) = common::env("MTLS_CERTIFICATE_HEADER") {
        mtls = mtls.with_certificate_header(header);
    }
    let auth = Authenticator::from_config(setup.config.clone().with_mtls(mtls))
        .map_err(|e| e.to_string())?;
    if setup.demo.is_none()
        && let Err(e) = auth.prefetch_keys().await
    {
        eprintln!("warning: {e}; requests answer 503 until the keys can be fetched");
    }

    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(tls)?));
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if let (Some(key), Some(client)) = (&setup.demo, demo_client) {
        announce_demo(key, &setup, &demo_dir, &client, addr)?;
    }
    println!("listening on https://{addr}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    let app = app(auth);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_connection(acceptor.clone(), tcp, app.clone()));
    }
}

/// Prints curl lines for the embedded default.
fn announce_demo(
    key: &common::DemoKey,
    setup: &common::Setup,
    dir: &std::path::Path,
    client_der: &[u8],
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    let x5t = tollgate::mtls::certificate_thumbprint(client_der);
    let bound = common::mint_demo_token_with(
        key,
        &setup.config,
        "orders:read",
        serde_json::json!({ "cnf": { "x5t#S256": x5t } }),
    )?;
    let unbound = common::mint_demo_token(key, &setup.config, "orders:read")?;
    let file = |name: &str| -> PathBuf { dir.join(name) };
    let tls = format!(
        "--cacert {} --cert {} --key {}",
        file("ca.pem").display(),
        file("client.pem").display(),
        file("client.key").display()
    );
    let url = format!("https://localhost:{}/whoami", addr.port());
    println!("embedded demo issuer and client certificate; tokens valid for 1 hour:");
    println!("# bound to the client certificate (cnf.x5t#S256 = {x5t}):");
    println!("curl -i {tls} {url} -H 'Authorization: Bearer {bound}'");
    println!("# the same token without the certificate: 401 invalid_token");
    println!(
        "curl -i --cacert {} {url} -H 'Authorization: Bearer {bound}'",
        file("ca.pem").display()
    );
    println!("# an unbound token works with or without a certificate:");
    println!("curl -i {tls} {url} -H 'Authorization: Bearer {unbound}'");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
