//! The client certificate of a request and its `x5t#S256` thumbprint.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::Arc;

/// The client certificate of a request's TLS connection, inserted by the
/// app into the request extensions (see the [module docs](crate::mtls)).
///
/// ```
/// use tollgate::ClientCertificate;
/// # let der: &[u8] = b"0\x03\x02\x01\x01";
/// // `der`: the peer's end-entity certificate, e.g. from
/// // `rustls::ServerConnection::peer_certificates()`.
/// let cert = ClientCertificate::from_der(der);
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(cert);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    der: Arc<[u8]>,
    thumbprint: [u8; 32],
}

impl ClientCertificate {
    /// A certificate from its DER encoding (the end-entity certificate, not
    /// the chain).
    pub fn from_der(der: impl Into<Arc<[u8]>>) -> Self {
        let der = der.into();
        let thumbprint = Sha256::digest(&der).into();
        Self { der, thumbprint }
    }

    /// The certificate's DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The SHA-256 digest of the DER encoding.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.thumbprint
    }

    /// The `x5t#S256` thumbprint: the SHA-256 digest, base64url without
    /// padding, as a bound token's `cnf` names it.
    pub fn thumbprint(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.thumbprint)
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

/// The `x5t#S256` thumbprint of a DER certificate (RFC 8705 §3.1): what an
/// issuer puts in `cnf` to bind a token to it.
///
/// ```
/// let x5t = tollgate::mtls::certificate_thumbprint(b"not really a certificate");
/// assert_eq!(x5t.len(), 43);
/// ```
pub fn certificate_thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}
