//! Where a trusted proxy puts the client certificate: [`MtlsConfig`] and
//! the header's [`CertificateHeaderFormat`].

use super::DEFAULT_MAX_CERTIFICATE_HEADER_BYTES;
use serde::{Deserialize, Serialize};

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
/// [`Authenticator`](crate::Authenticator); see the [module docs](crate::mtls).
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

    /// The certificate header's name, parsed.
    pub(crate) fn header_name(&self) -> Result<Option<http::HeaderName>, String> {
        self.certificate_header
            .as_ref()
            .map(|h| {
                http::HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                    format!("mtls.certificate_header {h:?} is not a valid header name")
                })
            })
            .transpose()
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        self.header_name()?;
        if self.max_header_bytes == 0 {
            return Err("mtls.max_header_bytes must be greater than zero".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
