//! Certificate-bound access tokens on the request path (RFC 8705 §3): a
//! token whose `cnf` names `x5t#S256` is accepted only when the request
//! presents the client certificate with that SHA-256 thumbprint, from the
//! TLS connection or a trusted proxy's header (see [`crate::mtls`]).

use super::Authenticator;
use crate::context::AuthContext;
use crate::credentials::{self, RequestParts};
use crate::error::{AuthError, AuthErrorKind};
use crate::mtls::{CertificateHeaderFormat, HeaderError, MtlsConfig, X5T_S256};
use base64::Engine as _;
use subtle::ConstantTimeEq as _;

const NOT_PRESENTED: &str = "the token is bound to a client certificate that was not presented";
const MISMATCH: &str = "the token is bound to a different client certificate";
const BAD_HEADER: &str = "the client certificate header is malformed";
const BAD_BINDING: &str = "the token's certificate binding is malformed";

/// Where client certificates come from, checked at build.
pub(super) struct MtlsRules {
    /// The trusted proxy's header, parsed once; `None`: the TLS connection.
    header: Option<http::HeaderName>,
    format: CertificateHeaderFormat,
    max_header_bytes: usize,
}

impl MtlsRules {
    pub(super) fn new(config: &MtlsConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Self {
            header: config.header_name()?,
            format: config.header_format,
            max_header_bytes: config.max_header_bytes,
        })
    }
}

/// What a token's `cnf` says about a client certificate.
enum CertificateBinding {
    /// No `cnf.x5t#S256`: the token is not certificate-bound.
    Unbound,
    /// The SHA-256 thumbprint the token is bound to.
    Bound([u8; 32]),
    /// `cnf.x5t#S256` is there but is not a base64url SHA-256 digest.
    Malformed,
}

/// Reads the token's `cnf.x5t#S256` member.
fn certificate_binding(ctx: &AuthContext) -> CertificateBinding {
    if !ctx.has_confirmation() {
        return CertificateBinding::Unbound;
    }
    let Some(value) = ctx.raw_claims().get("cnf").and_then(|c| c.get(X5T_S256)) else {
        return CertificateBinding::Unbound;
    };
    value
        .as_str()
        .and_then(|s| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .ok()
        })
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .map_or(CertificateBinding::Malformed, CertificateBinding::Bound)
}

impl Authenticator {
    fn mtls_error(&self, desc: &'static str, dpop_scheme: bool) -> AuthError {
        tracing::debug!(reason = desc, "tollgate: certificate binding refused");
        self.access_error(AuthErrorKind::InvalidToken, desc, dpop_scheme)
    }

    /// The SHA-256 thumbprint of the request's client certificate: from the
    /// configured proxy header only, when one is configured; else from the
    /// TLS connection.
    fn presented_certificate<R: RequestParts + ?Sized>(
        &self,
        req: &R,
    ) -> Result<Option<[u8; 32]>, HeaderError> {
        let rules = &self.engine.mtls;
        let Some(header) = &rules.header else {
            return Ok(req.client_certificate().map(|c| *c.sha256()));
        };
        match credentials::unique_header(req, header) {
            Err(_) => Err(HeaderError::Malformed),
            Ok(None) => Ok(None),
            Ok(Some(value)) => {
                crate::mtls::header_thumbprint(value, rules.format, rules.max_header_bytes)
                    .map(Some)
            }
        }
    }

    /// Checks a verified access token's certificate binding against the
    /// request; a token without `cnf.x5t#S256` passes untouched (and the
    /// certificate sources are not read).
    pub(super) fn certificate_bind<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        ctx: &AuthContext,
        dpop_scheme: bool,
    ) -> Result<(), AuthError> {
        let bound = match certificate_binding(ctx) {
            CertificateBinding::Unbound => return Ok(()),
            CertificateBinding::Malformed => {
                return Err(self.mtls_error(BAD_BINDING, dpop_scheme));
            }
            CertificateBinding::Bound(thumbprint) => thumbprint,
        };
        let presented = match self.presented_certificate(req) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(self.mtls_error(NOT_PRESENTED, dpop_scheme)),
            Err(e) => {
                tracing::debug!(error = ?e, "tollgate: client certificate header refused");
                return Err(self.mtls_error(BAD_HEADER, dpop_scheme));
            }
        };
        if bool::from(presented.ct_eq(&bound)) {
            Ok(())
        } else {
            Err(self.mtls_error(MISMATCH, dpop_scheme))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::mtls::{CertificateHeaderFormat, ClientCertificate, MtlsConfig};
    use crate::{AuthErrorKind, Authenticator, IssuerConfig, TokenBinding};
    use base64::Engine as _;
    use serde_json::{Value, json};

    const SECRET: &str = "unit-test-secret-that-is-at-least-32-bytes";

    fn auth(mtls: MtlsConfig) -> Authenticator {
        Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.test")
                    .audience("api")
                    .hmac_secret(SECRET),
            )
            .mtls(mtls)
            .build()
            .unwrap()
    }

    fn token(cnf: Option<Value>) -> String {
        let now = crate::jwt::now_secs() as u64;
        let mut claims = json!({
            "iss": "https://i.test", "aud": "api", "sub": "c", "client_id": "c",
            "iat": now, "exp": now + 300,
        });
        if let Some(cnf) = cnf {
            claims["cnf"] = cnf;
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn cert(n: u8) -> ClientCertificate {
        ClientCertificate::from_der(vec![0x30, 0x03, 0x02, 0x01, n])
    }

    fn request(token: &str, cert: Option<ClientCertificate>) -> http::Request<()> {
        let mut req = http::Request::builder()
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap();
        if let Some(c) = cert {
            req.extensions_mut().insert(c);
        }
        req
    }

    fn refused(auth: &Authenticator, req: &http::Request<()>) -> &'static str {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(auth.authenticate(req)).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidToken);
        assert_eq!(err.status(), 401);
        err.description()
    }

    fn accepted(auth: &Authenticator, req: &http::Request<()>) -> TokenBinding {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(auth.authenticate(req))
            .unwrap()
            .unwrap()
            .binding()
    }

    #[test]
    fn the_extension_certificate_must_match() {
        let a = auth(MtlsConfig::default());
        let bound = token(Some(json!({ "x5t#S256": cert(1).thumbprint() })));
        assert_eq!(
            accepted(&a, &request(&bound, Some(cert(1)))),
            TokenBinding::Certificate {
                x5t_s256: cert(1).thumbprint()
            }
        );
        assert_eq!(
            refused(&a, &request(&bound, Some(cert(2)))),
            super::MISMATCH
        );
        assert_eq!(refused(&a, &request(&bound, None)), super::NOT_PRESENTED);
        let unbound = token(None);
        assert_eq!(
            accepted(&a, &request(&unbound, Some(cert(2)))),
            TokenBinding::Bearer
        );
    }

    #[test]
    fn malformed_bindings_are_invalid_tokens() {
        let a = auth(MtlsConfig::default());
        let digest = cert(1).sha256().to_vec();
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&digest);
        let short = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..31]);
        for cnf in [
            json!({ "x5t#S256": 5 }),
            json!({ "x5t#S256": "" }),
            json!({ "x5t#S256": padded }),
            json!({ "x5t#S256": short }),
        ] {
            let t = token(Some(cnf));
            assert_eq!(refused(&a, &request(&t, Some(cert(1)))), super::BAD_BINDING);
        }
    }

    #[test]
    fn a_configured_header_is_the_only_source() {
        let a = auth(
            MtlsConfig::default()
                .with_certificate_header("X-Client-Cert")
                .with_header_format(CertificateHeaderFormat::Base64Der),
        );
        let bound = token(Some(json!({ "x5t#S256": cert(1).thumbprint() })));
        let b64 = |c: &ClientCertificate| base64::engine::general_purpose::STANDARD.encode(c.der());
        let with_header = |values: &[String], ext: Option<ClientCertificate>| {
            let mut req = request(&bound, ext);
            for v in values {
                req.headers_mut()
                    .append("x-client-cert", v.parse().unwrap());
            }
            req
        };
        assert!(matches!(
            accepted(&a, &with_header(&[b64(&cert(1))], None)),
            TokenBinding::Certificate { .. }
        ));
        assert_eq!(
            refused(&a, &with_header(&[b64(&cert(2))], Some(cert(1)))),
            super::MISMATCH
        );
        assert_eq!(
            refused(&a, &with_header(&[], Some(cert(1)))),
            super::NOT_PRESENTED
        );
        assert_eq!(
            refused(&a, &with_header(&[b64(&cert(1)), b64(&cert(1))], None)),
            super::BAD_HEADER
        );
        assert_eq!(
            refused(&a, &with_header(&["garbage".into()], None)),
            super::BAD_HEADER
        );
        let huge = "A".repeat(crate::mtls::DEFAULT_MAX_CERTIFICATE_HEADER_BYTES + 4);
        assert_eq!(refused(&a, &with_header(&[huge], None)), super::BAD_HEADER);
        // An unbound token never reads the header.
        let mut req = request(&token(None), None);
        req.headers_mut()
            .insert("x-client-cert", "garbage".parse().unwrap());
        assert_eq!(accepted(&a, &req), TokenBinding::Bearer);
    }

    #[test]
    fn an_unconfigured_header_is_ignored() {
        let a = auth(MtlsConfig::default());
        let bound = token(Some(json!({ "x5t#S256": cert(1).thumbprint() })));
        let mut req = request(&bound, None);
        req.headers_mut().insert(
            "x-client-cert",
            base64::engine::general_purpose::STANDARD
                .encode(cert(1).der())
                .parse()
                .unwrap(),
        );
        assert_eq!(refused(&a, &req), super::NOT_PRESENTED);
    }

    #[test]
    fn a_bad_header_name_is_a_config_error() {
        let err = Authenticator::builder()
            .issuer(
                IssuerConfig::new("https://i.test")
                    .audience("api")
                    .hmac_secret(SECRET),
            )
            .mtls(MtlsConfig::default().with_certificate_header("no spaces"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("certificate_header"), "{err}");
    }
}
