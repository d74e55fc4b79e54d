//! Static key sources as the report describes and checks them (never
//! printing a secret).

use super::*;

/// The algorithms the issuer accepts, when they can be told from the
/// configuration alone (`None` with an inline JWKS and no allow-list).
pub(super) fn allowed_algorithms(ic: &IssuerConfig) -> Option<Vec<String>> {
    if let Some(list) = &ic.algorithms {
        return Some(list.iter().map(|a| format!("{a:?}")).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for k in &ic.keys {
        match k {
            KeySource::Jwks { .. } => return None,
            KeySource::JwksUrl { .. } | KeySource::Discovery => {
                for a in [
                    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
                ] {
                    out.push(a.into());
                }
            }
            other => out.extend(static_alg(other)),
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

pub(super) fn static_alg(k: &KeySource) -> Option<String> {
    match k {
        KeySource::HmacSecret { algorithm, .. } => {
            Some(format!("{:?}", algorithm.unwrap_or(Algorithm::HS256)))
        }
        KeySource::PublicKeyPem { algorithm, .. } | KeySource::PublicKeyDer { algorithm, .. } => {
            Some(format!("{algorithm:?}"))
        }
        _ => None,
    }
}

pub(super) fn static_kid(k: &KeySource) -> Option<&str> {
    match k {
        KeySource::PublicKeyPem { kid, .. } | KeySource::PublicKeyDer { kid, .. } => kid.as_deref(),
        _ => None,
    }
}

pub(super) fn describe_static(k: &KeySource) -> String {
    match k {
        KeySource::HmacSecret { .. } => format!("{} secret", static_alg(k).unwrap_or_default()),
        KeySource::PublicKeyPem { algorithm, kid, .. } => {
            format!("{algorithm:?} PEM public key{}", kid_suffix(kid.as_deref()))
        }
        KeySource::PublicKeyDer { algorithm, kid, .. } => {
            format!("{algorithm:?} DER public key{}", kid_suffix(kid.as_deref()))
        }
        _ => "key".into(),
    }
}

pub(super) fn kid_suffix(kid: Option<&str>) -> String {
    kid.map_or(String::new(), |k| format!(" (kid {k:?})"))
}

/// Verifies the signature with a static key; `None` when the key cannot be
/// loaded here (the verifier's own verdict then stands).
pub(super) fn verify_static(k: &KeySource, tok: &token::UnverifiedToken<'_>) -> Option<bool> {
    let alg = tok.alg;
    let rsa = matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    );
    let ec = matches!(alg, Algorithm::ES256 | Algorithm::ES384);
    let key = match k {
        KeySource::HmacSecret { secret, .. } => DecodingKey::from_secret(secret.as_bytes()),
        KeySource::PublicKeyPem { pem, .. } => {
            let pem = pem.as_bytes();
            if rsa {
                DecodingKey::from_rsa_pem(pem).ok()?
            } else if ec {
                DecodingKey::from_ec_pem(pem).ok()?
            } else {
                DecodingKey::from_ed_pem(pem).ok()?
            }
        }
        KeySource::PublicKeyDer { der_base64, .. } => {
            let der = STANDARD.decode(der_base64.trim()).ok()?;
            if rsa {
                DecodingKey::from_rsa_der(&der)
            } else if ec {
                DecodingKey::from_ec_der(&der)
            } else {
                DecodingKey::from_ed_der(&der)
            }
        }
        _ => return None,
    };
    jsonwebtoken::crypto::verify(tok.signature, tok.message.as_bytes(), &key, alg).ok()
}
