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

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::Arc;

/// The `cnf` member naming a certificate thumbprint (RFC 8705 §3.1).
pub const X5T_S256: &str = "x5t#S256";

/// Default cap on the certificate header's size: 16 KiB.
pub const DEFAULT_MAX_CERTIFICATE_HEADER_BYTES: usize = 16 * 1024;

/// The client certificate of a request's TLS connection, inserted by the
/// app into the request extensions (see the [module docs](self)).
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

/// How a trusted proxy encodes the client certificate in
/// [`MtlsConfig::certificate_header`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CertificateHeaderFormat {
    /// A URL-encoded (or plain, whitespace-separated) PEM certificate:
    /// nginx `$ssl_client_escaped_cert`, AWS ALB `X-Amzn-Mtls-Clientcert`.
    #[default]
    Pem,
    /// Envoy's `X-Forwarded-Client-Cert` (one element; its `Cert="…"` field,
    /// or else its `Hash=…` field). Several elements (appended by several
    /// proxies) are ambiguous and refused.
    Xfcc,
    /// The DER certificate in standard base64, possibly URL-encoded:
    /// Traefik `X-Forwarded-Tls-Client-Cert`, HAProxy `ssl_c_der,base64`.
    Base64Der,
}

impl std::str::FromStr for CertificateHeaderFormat {
    type Err = String;

    /// `pem`, `xfcc` or `base64_der`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pem" => Ok(Self::Pem),
            "xfcc" => Ok(Self::Xfcc),
            "base64_der" => Ok(Self::Base64Der),
            other => Err(format!(
                "certificate header format {other:?} is not one of pem, xfcc, base64_der"
            )),
        }
    }
}

/// Certificate-bound token settings of an
/// [`Authenticator`](crate::Authenticator); see the [module docs](self).
/// Tokens with `cnf.x5t#S256` are always checked; this only says where a
/// proxy puts the certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MtlsConfig {
    /// The header a trusted TLS-terminating proxy sets to the client
    /// certificate (e.g. `X-Client-Cert`, `X-Forwarded-Client-Cert`). Off
    /// unless set; once set, it is the only certificate source.
    pub certificate_header: Option<String>,
    /// How the header encodes the certificate (default URL-encoded PEM).
    pub header_format: CertificateHeaderFormat,
    /// Largest accepted header value, in bytes (default 16 KiB); a larger
    /// one is refused before parsing.
    pub max_header_bytes: usize,
}

impl Default for MtlsConfig {
    fn default() -> Self {
        Self {
            certificate_header: None,
            header_format: CertificateHeaderFormat::default(),
            max_header_bytes: DEFAULT_MAX_CERTIFICATE_HEADER_BYTES,
        }
    }
}

impl MtlsConfig {
    /// Reads client certificates from this header, set by a trusted proxy.
    #[must_use]
    pub fn with_certificate_header(mut self, header: impl Into<String>) -> Self {
        self.certificate_header = Some(header.into());
        self
    }

    /// Sets how the header encodes the certificate.
    #[must_use]
    pub fn with_header_format(mut self, format: CertificateHeaderFormat) -> Self {
        self.header_format = format;
        self
    }

    /// Sets the largest accepted header value, in bytes.
    #[must_use]
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(h) = &self.certificate_header
            && http::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            return Err(format!(
                "mtls.certificate_header {h:?} is not a valid header name"
            ));
        }
        if self.max_header_bytes == 0 {
            return Err("mtls.max_header_bytes must be greater than zero".into());
        }
        Ok(())
    }
}

/// Why a certificate header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Larger than the configured maximum.
    TooLarge,
    /// Not the configured format, or not one certificate.
    Malformed,
}

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

/// The SHA-256 thumbprint of the certificate in a proxy header's value.
pub(crate) fn header_thumbprint(
    value: &[u8],
    format: CertificateHeaderFormat,
    max_bytes: usize,
) -> Result<[u8; 32], HeaderError> {
    if value.len() > max_bytes {
        return Err(HeaderError::TooLarge);
    }
    match format {
        CertificateHeaderFormat::Pem => pem_der(&percent_decode(value)?).map(|der| sha256(&der)),
        CertificateHeaderFormat::Base64Der => {
            let decoded = percent_decode(value)?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(decoded.trim_ascii())
                .map_err(|_| HeaderError::Malformed)?;
            check_der(&der)?;
            Ok(sha256(&der))
        }
        CertificateHeaderFormat::Xfcc => xfcc_thumbprint(value),
    }
}

fn sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// `%XX` decoding (`+` stays `+`: it is a base64 character here).
fn percent_decode(value: &[u8]) -> Result<Vec<u8>, HeaderError> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let (&[hi, lo], tail) = tail
                .split_first_chunk::<2>()
                .ok_or(HeaderError::Malformed)?;
            let hi = hex_digit(hi).ok_or(HeaderError::Malformed)?;
            let lo = hex_digit(lo).ok_or(HeaderError::Malformed)?;
            out.push(hi << 4 | lo);
            rest = tail;
        } else {
            out.push(b);
            rest = tail;
        }
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The DER of exactly one PEM `CERTIFICATE` block (whitespace around and
/// inside the base64 body is ignored).
fn pem_der(pem: &[u8]) -> Result<Vec<u8>, HeaderError> {
    let body = pem
        .trim_ascii()
        .strip_prefix(PEM_BEGIN)
        .and_then(|b| b.strip_suffix(PEM_END))
        .ok_or(HeaderError::Malformed)?;
    let b64: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| HeaderError::Malformed)?;
    check_der(&der)?;
    Ok(der)
}

/// A DER `SEQUENCE` whose length covers exactly the input: enough to refuse
/// garbage, not a certificate parser.
fn check_der(der: &[u8]) -> Result<(), HeaderError> {
    let (&tag, rest) = der.split_first().ok_or(HeaderError::Malformed)?;
    let (&first, rest) = rest.split_first().ok_or(HeaderError::Malformed)?;
    if tag != 0x30 {
        return Err(HeaderError::Malformed);
    }
    let (len, content) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(HeaderError::Malformed);
        }
        let (bytes, content) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, content)
    };
    if len == content.len() {
        Ok(())
    } else {
        Err(HeaderError::Malformed)
    }
}

/// Splits `s` on `sep` outside double quotes (`\"` inside quotes is kept).
fn split_unquoted(s: &[u8], sep: u8) -> Result<Vec<&[u8]>, HeaderError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(s.get(start..i).ok_or(HeaderError::Malformed)?);
            start = i + 1;
        }
    }
    if quoted {
        return Err(HeaderError::Malformed);
    }
    parts.push(s.get(start..).ok_or(HeaderError::Malformed)?);
    Ok(parts)
}

/// Envoy's `x-forwarded-client-cert`: `Hash=<hex>;Cert="<url-encoded PEM>";…`.
fn xfcc_thumbprint(value: &[u8]) -> Result<[u8; 32], HeaderError> {
    let elements = split_unquoted(value, b',')?;
    let [element] = elements.as_slice() else {
        return Err(HeaderError::Malformed);
    };
    let mut cert: Option<&[u8]> = None;
    let mut hash: Option<&[u8]> = None;
    for pair in split_unquoted(element, b';')? {
        let pair = pair.trim_ascii();
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            return Err(HeaderError::Malformed);
        };
        let (key, val) = pair.split_at(eq);
        let val = val.get(1..).ok_or(HeaderError::Malformed)?;
        let val = val
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(val);
        let slot = if key.eq_ignore_ascii_case(b"cert") {
            &mut cert
        } else if key.eq_ignore_ascii_case(b"hash") {
            &mut hash
        } else {
            continue;
        };
        if slot.replace(val).is_some() {
            return Err(HeaderError::Malformed);
        }
    }
    match (cert, hash) {
        (Some(cert), _) => pem_der(&percent_decode(cert)?).map(|der| sha256(&der)),
        (None, Some(hash)) => {
            if hash.len() != 64 {
                return Err(HeaderError::Malformed);
            }
            let mut out = [0u8; 32];
            for (slot, pair) in out.iter_mut().zip(hash.chunks_exact(2)) {
                let [hi, lo] = pair else {
                    return Err(HeaderError::Malformed);
                };
                *slot = hex_digit(*hi).ok_or(HeaderError::Malformed)? << 4
                    | hex_digit(*lo).ok_or(HeaderError::Malformed)?;
            }
            Ok(out)
        }
        (None, None) => Err(HeaderError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal DER `SEQUENCE` standing in for a certificate.
    fn der() -> Vec<u8> {
        let mut d = vec![0x30, 0x81, 200];
        d.extend((0..200u8).map(|i| i.wrapping_mul(7)));
        d
    }

    fn pem(der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    fn escape(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    const MAX: usize = DEFAULT_MAX_CERTIFICATE_HEADER_BYTES;

    #[test]
    fn thumbprints_agree() {
        let c = ClientCertificate::from_der(der());
        assert_eq!(c.thumbprint(), certificate_thumbprint(&der()));
        assert_eq!(c.sha256(), &sha256(&der()));
        assert_eq!(c.der(), der().as_slice());
        assert!(format!("{c:?}").contains(&c.thumbprint()));
    }

    #[test]
    fn escaped_and_plain_pem() {
        let want = sha256(&der());
        let escaped = escape(&pem(&der()));
        let got = header_thumbprint(escaped.as_bytes(), CertificateHeaderFormat::Pem, MAX);
        assert_eq!(got, Ok(want));
        // Newlines replaced by spaces (plain PEM in a header).
        let plain = pem(&der()).trim().replace('\n', " ");
        let got = header_thumbprint(plain.as_bytes(), CertificateHeaderFormat::Pem, MAX);
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn base64_der() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der());
        for v in [b64.clone(), escape(&b64)] {
            let got = header_thumbprint(v.as_bytes(), CertificateHeaderFormat::Base64Der, MAX);
            assert_eq!(got, Ok(sha256(&der())), "{v}");
        }
    }

    #[test]
    fn xfcc_cert_and_hash() {
        let want = sha256(&der());
        let hex: String = want.iter().map(|b| format!("{b:02x}")).collect();
        let cert = format!(
            "By=spiffe://cluster.local/ns/a/sa/b;Hash={};Cert=\"{}\";Subject=\"CN=x,O=y\";URI=",
            "00".repeat(32),
            escape(&pem(&der()))
        );
        let got = header_thumbprint(cert.as_bytes(), CertificateHeaderFormat::Xfcc, MAX);
        assert_eq!(got, Ok(want), "Cert wins over Hash");
        let hash_only = format!("By=spiffe://x;Hash={hex};Subject=\"CN=a, O=b\"");
        let got = header_thumbprint(hash_only.as_bytes(), CertificateHeaderFormat::Xfcc, MAX);
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn refusals_never_panic() {
        let pem = escape(&pem(&der()));
        let two = format!("Hash={0};Cert=\"{pem}\",Hash={0}", "ab".repeat(32));
        let cases: Vec<(CertificateHeaderFormat, Vec<u8>)> = vec![
            (CertificateHeaderFormat::Pem, b"".to_vec()),
            (CertificateHeaderFormat::Pem, b"%".to_vec()),
            (CertificateHeaderFormat::Pem, b"%4".to_vec()),
            (CertificateHeaderFormat::Pem, b"%zz".to_vec()),
            (
                CertificateHeaderFormat::Pem,
                b"-----BEGIN CERTIFICATE-----".to_vec(),
            ),
            (
                CertificateHeaderFormat::Pem,
                b"-----BEGIN CERTIFICATE-----!!!-----END CERTIFICATE-----".to_vec(),
            ),
            (
                CertificateHeaderFormat::Pem,
                format!("{pem}{pem}").into_bytes(),
            ),
            (
                CertificateHeaderFormat::Pem,
                b"-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----".to_vec(),
            ),
            (CertificateHeaderFormat::Base64Der, b"not base64".to_vec()),
            (CertificateHeaderFormat::Base64Der, b"MAA=AAAA".to_vec()),
            (CertificateHeaderFormat::Xfcc, two.into_bytes()),
            (CertificateHeaderFormat::Xfcc, b"By=x".to_vec()),
            (CertificateHeaderFormat::Xfcc, b"Hash=abc".to_vec()),
            (
                CertificateHeaderFormat::Xfcc,
                b"Hash=\"unterminated".to_vec(),
            ),
            (CertificateHeaderFormat::Xfcc, b"Hash=1;Hash=2".to_vec()),
            (CertificateHeaderFormat::Xfcc, b"novalue".to_vec()),
            (
                CertificateHeaderFormat::Xfcc,
                "Hash=é".repeat(20).into_bytes(),
            ),
        ];
        for (format, value) in cases {
            assert_eq!(
                header_thumbprint(&value, format, MAX),
                Err(HeaderError::Malformed),
                "{format:?} {:?}",
                String::from_utf8_lossy(&value)
            );
        }
        let big = vec![b'A'; MAX + 1];
        assert_eq!(
            header_thumbprint(&big, CertificateHeaderFormat::Pem, MAX),
            Err(HeaderError::TooLarge)
        );
    }

    #[test]
    fn der_length_must_match() {
        assert!(check_der(&der()).is_ok());
        assert!(check_der(&[0x30, 0x00]).is_ok());
        for bad in [
            &[][..],
            &[0x30],
            &[0x31, 0x00],
            &[0x30, 0x01],
            &[0x30, 0x80],
            &[0x30, 0x85, 0, 0, 0, 0, 0],
            &[0x30, 0x82, 0x01],
        ] {
            assert!(check_der(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_checks() {
        assert!(MtlsConfig::default().validate().is_ok());
        assert!(
            MtlsConfig::default()
                .with_certificate_header("bad header")
                .validate()
                .is_err()
        );
        assert!(
            MtlsConfig::default()
                .with_max_header_bytes(0)
                .validate()
                .is_err()
        );
        let cfg: MtlsConfig = serde_json::from_str(
            r#"{"certificate_header":"x-forwarded-client-cert","header_format":"xfcc"}"#,
        )
        .unwrap();
        assert_eq!(cfg.header_format, CertificateHeaderFormat::Xfcc);
        assert_eq!("base64_der".parse(), Ok(CertificateHeaderFormat::Base64Der));
        assert!("PEM".parse::<CertificateHeaderFormat>().is_err());
    }
}
