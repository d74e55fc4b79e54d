//! Signing keys and the key ring: one active key signs, previous keys stay
//! published for verification until retired (rotation without downtime).

use crate::config::ConfigError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use std::fmt;
use std::sync::{Arc, RwLock};

/// The algorithms tollgate signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// Ed25519 (`EdDSA`).
    Ed25519,
    /// ECDSA P-256 (`ES256`).
    Es256,
    /// RSA-2048 PKCS#1 v1.5 (`RS256`).
    Rs256,
}

impl SigningAlgorithm {
    fn jose(self) -> Algorithm {
        match self {
            Self::Ed25519 => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// A private signing key with its key id and public JWK.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: serde_json::Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print private key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn random_kid() -> Result<String, ConfigError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| ConfigError::new(format!("OS RNG failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

impl SigningKey {
    /// Generates a fresh key with a random key id.
    pub fn generate(alg: SigningAlgorithm) -> Result<Self, ConfigError> {
        let rng = SystemRandom::new();
        let kid = random_kid()?;
        let fail = |what: &str| ConfigError::new(format!("cannot generate a {what} key"));
        match alg {
            SigningAlgorithm::Ed25519 => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| fail("Ed25519"))?;
                Self::from_pkcs8_der(pkcs8.as_ref(), alg, kid)
            }
            SigningAlgorithm::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &rng,
                )
                .map_err(|_| fail("P-256"))?;
                Self::from_pkcs8_der(pkcs8.as_ref(), alg, kid)
            }
            SigningAlgorithm::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| fail("RSA-2048"))?;
                let der =
                    aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(
                        &pair,
                    )
                    .map_err(|_| fail("RSA-2048"))?;
                Self::from_pkcs8_der(der.as_ref(), alg, kid)
            }
        }
    }

    /// Loads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(
        pem: &str,
        alg: SigningAlgorithm,
        kid: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let b64: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----") && !l.is_empty())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| ConfigError::new("the signing key PEM is not valid base64"))?;
        Self::from_pkcs8_der(&der, alg, kid.into())
    }

    fn from_pkcs8_der(der: &[u8], alg: SigningAlgorithm, kid: String) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(format!(
                "the {alg:?} private key cannot be read (PKCS#8 expected)"
            ))
        };
        let (encoding, jwk) = match alg {
            SigningAlgorithm::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|_| bad())?;
                let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
                (
                    EncodingKey::from_ed_der(der),
                    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                )
            }
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                )
                .map_err(|_| bad())?;
                let point = pair.public_key().as_ref();
                let (x, y) = match point {
                    [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
                    _ => return Err(bad()),
                };
                (
                    EncodingKey::from_ec_der(der),
                    serde_json::json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)}),
                )
            }
            SigningAlgorithm::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(|_| bad())?;
                let public = pair.public_key();
                let n = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
                (
                    EncodingKey::from_rsa_der(&pkcs8_to_pkcs1(&pair)?),
                    serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&n.n), "e": URL_SAFE_NO_PAD.encode(&n.e)}),
                )
            }
        };
        let mut jwk = jwk;
        if let Some(obj) = jwk.as_object_mut() {
            obj.insert("kid".into(), kid.clone().into());
            obj.insert("use".into(), "sig".into());
            obj.insert("alg".into(), format!("{:?}", alg.jose()).into());
        }
        Ok(Self {
            kid,
            alg: alg.jose(),
            encoding,
            jwk,
        })
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JOSE algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK (`use: sig`, with `kid` and `alg`).
    pub fn public_jwk(&self) -> &serde_json::Value {
        &self.jwk
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// `jsonwebtoken` signs RSA with a PKCS#1 DER key; aws-lc hands out PKCS#8.
fn pkcs8_to_pkcs1(pair: &aws_lc_rs::rsa::KeyPair) -> Result<Vec<u8>, ConfigError> {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    let der: Pkcs8V1Der<'_> = pair
        .as_der()
        .map_err(|_| ConfigError::new("cannot encode the RSA key"))?;
    // PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey } }.
    // The RSAPrivateKey is the content of the last OCTET STRING.
    let bytes = der.as_ref();
    let inner =
        last_octet_string(bytes).ok_or_else(|| ConfigError::new("unexpected PKCS#8 layout"))?;
    Ok(inner.to_vec())
}

/// Reads a DER length at `at`, returning (length, header size).
fn der_len(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *b.get(at)?;
    if first < 0x80 {
        return Some((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*b.get(at + 1 + i)?);
    }
    Some((len, 1 + n))
}

fn last_octet_string(b: &[u8]) -> Option<&[u8]> {
    // Outer SEQUENCE.
    if *b.first()? != 0x30 {
        return None;
    }
    let (_, h) = der_len(b, 1)?;
    let mut at = 1 + h;
    let mut last = None;
    while at < b.len() {
        let tag = *b.get(at)?;
        let (len, h) = der_len(b, at + 1)?;
        let start = at + 1 + h;
        let content = b.get(start..start + len)?;
        if tag == 0x04 {
            last = Some(content);
        }
        at = start + len;
    }
    last
}

#[derive(Debug)]
struct Ring {
    active: SigningKey,
    previous: Vec<SigningKey>,
}

/// One active signing key plus previous keys still published for
/// verification. Cheap to clone; clones share the ring.
#[derive(Clone, Debug)]
pub struct KeyRing {
    inner: Arc<RwLock<Ring>>,
}

impl KeyRing {
    /// A ring whose active key is `key`.
    pub fn new(key: SigningKey) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Ring {
                active: key,
                previous: Vec::new(),
            })),
        }
    }

    /// Makes `key` the active signing key; the old one stays published.
    pub fn rotate(&self, key: SigningKey) {
        if let Ok(mut ring) = self.inner.write() {
            let old = std::mem::replace(&mut ring.active, key);
            ring.previous.insert(0, old);
        }
    }

    /// Stops publishing a previous key: tokens it signed stop verifying once
    /// verifiers refresh their key set.
    pub fn retire(&self, kid: &str) -> bool {
        match self.inner.write() {
            Ok(mut ring) => {
                let before = ring.previous.len();
                ring.previous.retain(|k| k.kid != kid);
                ring.previous.len() != before
            }
            Err(_) => false,
        }
    }

    /// The active signing key.
    pub fn active(&self) -> Option<SigningKey> {
        self.inner.read().ok().map(|r| r.active.clone())
    }

    /// The public JWKS document: the active key and every previous key.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = match self.inner.read() {
            Ok(ring) => std::iter::once(&ring.active)
                .chain(ring.previous.iter())
                .map(|k| k.jwk.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        serde_json::json!({ "keys": keys })
    }
}
