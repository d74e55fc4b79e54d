//! Certificate-bound access tokens (RFC 8705 mutual TLS, resource-server side).
//!
//! A certificate-bound token names the SHA-256 thumbprint of the client's
//! certificate in its `cnf.x5t#S256` claim (base64url, no padding, over the
//! certificate's DER). The engine accepts such a token only on a request
//! that presents that certificate; a stolen token is useless without the
//! certificate's private key. Tokens without `cnf` are not affected.
//!
//! The engine learns the client certificate from one of two places:
//!
//! - **The app terminates TLS itself**: after the handshake, insert a
//!   [`ClientCertificate`] built from the peer's end-entity certificate into
//!   the request extensions (tower, axum, hyper: `http::Request`
//!   extensions; actix-web: connection data set with `on_connect`, see
//!   [`RequestParts::client_certificate`](crate::credentials::RequestParts::client_certificate)).
//!   `examples/mtls_api.rs` does this with axum and tokio-rustls.
//! - **A TLS-terminating proxy in front**: the proxy forwards the verified
//!   client certificate in a header, named in
//!   [`MtlsConfig::certificate_header`] (off unless configured). Once it is
//!   configured, certificates are read from that header only (the TLS peer
//!   is then the proxy), so the proxy must overwrite or strip the header on
//!   every request: anyone who can reach the app without the proxy can send
//!   it.
//!
//! | token | certificate presented | answer |
//! |---|---|---|
//! | without `cnf` | any, or none | accepted (the header is not even read) |
//! | `cnf.x5t#S256` | matching | accepted; [`AuthContext::binding`](crate::AuthContext::binding) is [`TokenBinding::Certificate`](crate::TokenBinding::Certificate) |
//! | `cnf.x5t#S256` | another certificate | 401 `invalid_token` |
//! | `cnf.x5t#S256` | none, or a malformed, oversized or repeated header | 401 `invalid_token` |
//!
//! The thumbprints are compared in constant time. Certificate chains are
//! not validated here: that is the TLS stack's job (or the proxy's).
//!
//! ```
//! use tollgate::mtls::{CertificateHeaderFormat, MtlsConfig};
//! use tollgate::{AuthConfig, Authenticator, IssuerConfig};
//!
//! // Behind nginx: `proxy_set_header X-Client-Cert $ssl_client_escaped_cert;`
//! let config = AuthConfig::default()
//!     .with_issuer(
//!         IssuerConfig::new("https://issuer.example")
//!             .audience("orders-api")
//!             .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
//!     )
//!     .with_mtls(
//!         MtlsConfig::default()
//!             .with_certificate_header("x-client-cert")
//!             .with_header_format(CertificateHeaderFormat::Pem),
//!     );
//! let auth = Authenticator::from_config(config)?;
//! # let _ = auth;
//! # Ok::<(), tollgate::ConfigError>(())
//! ```

mod config;
mod header;
mod pem;
mod thumbprint;
mod xfcc;

pub use config::{CertificateHeaderFormat, MtlsConfig};
pub(crate) use header::{HeaderError, header_thumbprint};
pub use thumbprint::{ClientCertificate, certificate_thumbprint};

/// The `cnf` member naming a certificate thumbprint (RFC 8705 §3.1).
pub const X5T_S256: &str = "x5t#S256";

/// Default cap on the certificate header's size: 16 KiB.
pub const DEFAULT_MAX_CERTIFICATE_HEADER_BYTES: usize = 16 * 1024;
