//! Static key sources (HMAC secrets, PEM and DER public keys, inline JWKS)
//! turned into [`VerifyingKey`]s, and algorithm names from the configuration.

use crate::config::{ConfigError, ConfigErrorKind, KeySource};
use crate::jwt::keys::{AlgSet, KeySet, VerifyingKey, looks_like_public_key};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};

/// `alg` if tollgate verifies it. [`Algorithm`] is `#[non_exhaustive]`: an
/// algorithm a later `jsonwebtoken` adds is refused until tollgate knows it.
pub(super) fn known_alg(alg: Algorithm) -> Result<Algorithm, ConfigError> {
    if crate::jwt::keys::ALL_ALGORITHMS.contains(&alg) {
        Ok(alg)
    } else {
        Err(ConfigError::with_kind(
            ConfigErrorKind::InvalidAlgorithm,
            format!(
                "unknown algorithm {alg:?} (expected one of HS256, HS384, HS512, RS256, RS384, \
                 RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
            ),
        ))
    }
}

pub(super) fn static_key(
    source: &KeySource,
    issuer: &str,
) -> Result<Vec<VerifyingKey>, ConfigError> {
    let err = |m: String| {
        ConfigError::with_kind(
            ConfigErrorKind::InvalidKey,
            format!("issuer {issuer:?}: {m}"),
        )
    };
    let alg_err = |m: String| {
        ConfigError::with_kind(
            ConfigErrorKind::InvalidAlgorithm,
            format!("issuer {issuer:?}: {m}"),
        )
    };
    match source {
        KeySource::HmacSecret {
            secret,
            algorithm,
            allow_short,
        } => {
            let alg = known_alg(algorithm.unwrap_or(Algorithm::HS256))?;
            let min = match alg {
                Algorithm::HS256 => 32,
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => return Err(alg_err(format!("{alg:?} is not an HMAC algorithm"))),
            };
            let bytes = secret.as_bytes();
            if bytes.is_empty() {
                return Err(err("the HMAC secret is empty".into()));
            }
            if looks_like_public_key(bytes) {
                return Err(err(
                    "the HMAC secret looks like a public key; an HMAC secret is never built from a public key".into(),
                ));
            }
            if bytes.len() < min {
                if *allow_short {
                    tracing::warn!(
                        issuer,
                        "tollgate: HMAC secret shorter than RFC 7518 requires"
                    );
                } else {
                    return Err(err(format!(
                        "the {alg:?} secret must be at least {min} bytes (RFC 7518 §3.2)"
                    )));
                }
            }
            Ok(vec![VerifyingKey::new(
                None,
                AlgSet::one(alg),
                DecodingKey::from_secret(bytes),
            )])
        }
        KeySource::PublicKeyPem {
            pem,
            algorithm,
            kid,
        } => {
            let alg = known_alg(*algorithm)?;
            let key = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem.as_bytes()),
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
                _ => {
                    return Err(alg_err(format!(
                        "a public key cannot verify {alg:?}; an HMAC secret is never built from a public key"
                    )));
                }
            }
            .map_err(|e| err(format!("cannot read the {alg:?} PEM key: {e}")))?;
            Ok(vec![VerifyingKey::new(
                kid.clone().map(String::into_boxed_str),
                AlgSet::one(alg),
                key,
            )])
        }
        KeySource::PublicKeyDer {
            der_base64,
            algorithm,
            kid,
        } => {
            let alg = known_alg(*algorithm)?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(der_base64.trim())
                .map_err(|_| err("der_base64 is not valid base64".into()))?;
            let key = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => DecodingKey::from_rsa_der(&der),
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_der(&der),
                Algorithm::EdDSA => DecodingKey::from_ed_der(&der),
                _ => {
                    return Err(alg_err(format!(
                        "a public key cannot verify {alg:?}; an HMAC secret is never built from a public key"
                    )));
                }
            };
            Ok(vec![VerifyingKey::new(
                kid.clone().map(String::into_boxed_str),
                AlgSet::one(alg),
                key,
            )])
        }
        KeySource::Jwks { jwks } => {
            let set = KeySet::from_jwks(jwks.to_string().as_bytes(), true).map_err(err)?;
            if set.is_empty() {
                return Err(err("the inline JWKS holds no usable key".into()));
            }
            Ok(set.keys)
        }
        KeySource::JwksUrl { .. } | KeySource::Discovery => Ok(Vec::new()),
    }
}
