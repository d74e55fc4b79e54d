//! Pre-parsed aws-lc keys.

use super::algorithms::{ALL_ALGORITHMS, AlgSet};
use aws_lc_rs::{hmac, signature};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

pub(crate) enum ParsedKey {
    Hmac(Vec<(Algorithm, hmac::Key)>),
    Public(Vec<(Algorithm, signature::ParsedPublicKey)>),
}

fn verification(alg: Algorithm) -> Option<&'static dyn signature::VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
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

/// DER of a PKCS#1 `RSAPublicKey` from big-endian `n` and `e`, encoded
/// by the `pkcs1`/`der` crates (minimal integers, any length). `None`
/// for components that are not valid unsigned integers.
pub(crate) fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Option<Vec<u8>> {
    use pkcs1::der::Encode as _;
    pkcs1::RsaPublicKey {
        modulus: pkcs1::UintRef::new(n).ok()?,
        public_exponent: pkcs1::UintRef::new(e).ok()?,
    }
    .to_der()
    .ok()
}

impl ParsedKey {
    pub(crate) fn new(key: &DecodingKey, algs: AlgSet) -> Option<Self> {
        let algs = ALL_ALGORITHMS.iter().copied().filter(|a| algs.contains(*a));
        match key.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                let der = rsa_pkcs1_der(n, e)?;
                Self::public(&der, algs)
            }
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
        let Ok(n) = URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut buf) else {
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
    #[test]
    fn pkcs1_der_encoding() {
        // n with the high bit set gets a 0x00 pad; leading zeros are dropped.
        let der = super::rsa_pkcs1_der(&[0, 0, 0x80, 1], &[1, 0, 1]).unwrap();
        assert_eq!(
            der,
            [
                0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
        // Lengths past 64 KiB are encoded in full (the hand-written encoder
        // this replaced truncated them).
        let big = vec![0x7f; 70_000];
        let der = super::rsa_pkcs1_der(&big, &[1, 0, 1]).unwrap();
        assert_eq!(&der[..2], &[0x30, 0x83]);
    }
}
