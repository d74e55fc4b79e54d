//! Pre-parsed aws-lc keys.

use super::algorithms::{ALL_ALGORITHMS, AlgSet};
use aws_lc_rs::{hmac, signature};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

pub(crate) enum ParsedKey {
    Hmac(Vec<(Algorithm, hmac::Key)>),
    Public(Vec<(Algorithm, signature::ParsedPublicKey)>),
}

fn verification(alg: Algorithm) -> Option<&'static dyn signature::VerificationAlgorithm> {
    if let Some(rsa) = rsa_params(alg) {
        return Some(rsa);
    }
    Some(match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        _ => return None,
    })
}

fn hmac_alg(alg: Algorithm) -> Option<hmac::Algorithm> {
    Some(match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => return None,
    })
}

fn rsa_params(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// A big-endian integer without its leading zero octets: aws-lc refuses
/// them, and some JWKS publishers pad `n` with one (RFC 7518 §6.3.1.1 asks
/// them not to). `None` for an all-zero or empty value.
fn minimal(int: &[u8]) -> Option<&[u8]> {
    int.get(int.iter().position(|&b| b != 0)?..)
}

/// RSA keys from a JWK's `n` and `e`, parsed once per algorithm by
/// aws-lc-rs ([`signature::RsaPublicKeyComponents`]).
fn rsa_components(n: &[u8], e: &[u8], algs: impl Iterator<Item = Algorithm>) -> Option<ParsedKey> {
    let components = signature::RsaPublicKeyComponents {
        n: minimal(n)?,
        e: minimal(e)?,
    };
    let keys: Vec<_> = algs
        .filter_map(|a| {
            let params = rsa_params(a)?;
            components.to_parsed_public_key(params).ok().map(|k| (a, k))
        })
        .collect();
    (!keys.is_empty()).then_some(ParsedKey::Public(keys))
}

impl ParsedKey {
    pub(crate) fn new(key: &DecodingKey, algs: AlgSet) -> Option<Self> {
        let algs = ALL_ALGORITHMS.iter().copied().filter(|a| algs.contains(*a));
        match key.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => rsa_components(n, e, algs),
            DecodingKeyKind::SecretOrDer(bytes) => {
                if key.family() == jsonwebtoken::AlgorithmFamily::Hmac {
                    let keys: Vec<_> = algs
                        .filter_map(|a| hmac_alg(a).map(|h| (a, hmac::Key::new(h, bytes))))
                        .collect();
                    (!keys.is_empty()).then_some(Self::Hmac(keys))
                } else {
                    Self::public(bytes, algs)
                }
            }
        }
    }

    fn public(bytes: &[u8], algs: impl Iterator<Item = Algorithm>) -> Option<Self> {
        let keys: Vec<_> = algs
            .filter_map(|a| {
                let v = verification(a)?;
                signature::ParsedPublicKey::new(v, bytes)
                    .ok()
                    .map(|k| (a, k))
            })
            .collect();
        (!keys.is_empty()).then_some(Self::Public(keys))
    }

    /// `None` when this key has no pre-parsed form for `alg`.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature_b64: &str,
    ) -> Option<bool> {
        // A JWS signature is at most 512 bytes (RSA-4096 is 512; RSA-8192
        // 1024): decode onto the stack.
        let mut buf = [0u8; 1024];
        let Some(n) = super::b64::decode_into(signature_b64.as_bytes(), &mut buf) else {
            return Some(false);
        };
        let sig = buf.get(..n)?;
        match self {
            Self::Hmac(keys) => {
                let (_, key) = keys.iter().find(|(a, _)| *a == alg)?;
                Some(hmac::verify(key, message, sig).is_ok())
            }
            Self::Public(keys) => {
                let (_, key) = keys.iter().find(|(a, _)| *a == alg)?;
                Some(key.verify_sig(message, sig).is_ok())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn leading_zeros_are_dropped() {
        assert_eq!(minimal(&[0, 0, 0x80, 1]), Some(&[0x80, 1][..]));
        assert_eq!(minimal(&[1, 0, 1]), Some(&[1, 0, 1][..]));
        assert_eq!(minimal(&[0, 0]), None);
        assert_eq!(minimal(&[]), None);
    }

    /// A JWK's `n`/`e` verify the same signatures whether `n` carries a
    /// zero pad or not, for every RSA algorithm the key is bound to.
    #[test]
    fn rsa_components_verify_with_and_without_a_zero_pad() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pair = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = signature::KeyPair::public_key(&pair);
        let components = signature::RsaPublicKeyComponents::<Vec<u8>>::from(public);
        let (n, e) = (components.n, components.e);
        let mut padded = vec![0];
        padded.extend_from_slice(&n);
        let message = b"header.payload";
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .unwrap();
        let b64 = URL_SAFE_NO_PAD.encode(&sig);
        let algs = AlgSet::of(&[Algorithm::RS256, Algorithm::PS256]);
        for n in [&n[..], &padded[..]] {
            let key = ParsedKey::new(&DecodingKey::from_rsa_raw_components(n, &e), algs).unwrap();
            assert_eq!(key.verify(Algorithm::RS256, message, &b64), Some(true));
            assert_eq!(key.verify(Algorithm::RS256, b"other", &b64), Some(false));
            // Bound to PS256 too, but this is not a PSS signature.
            assert_eq!(key.verify(Algorithm::PS256, message, &b64), Some(false));
            assert_eq!(key.verify(Algorithm::RS384, message, &b64), None);
        }
    }
}
