//! [`SigningKey`]: one private signing key, generated or loaded from PEM,
//! with its key id (given, or the RFC 7638 thumbprint) and public JWK.

use super::SigningAlgorithm;
use super::pkcs8_pem::{PKCS8_LABEL, parse_pkcs8, pkcs8_der_from_pem};
use crate::config::ConfigError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::Arc;

/// A private signing key with its key id and public JWK.
///
/// `Debug` shows the key id and algorithm only, never key material.
#[derive(Clone)]
pub struct SigningKey {
    pub(super) kid: String,
    alg: SigningAlgorithm,
    encoding: EncodingKey,
    /// The private key, PKCS#8 DER (what [`SigningKey::to_pkcs8_pem`] encodes).
    pkcs8: Arc<[u8]>,
    pub(super) jwk: serde_json::Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print private key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg.jose())
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
                Self::from_pkcs8_der(pkcs8.as_ref(), alg, Some(kid))
            }
            SigningAlgorithm::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &rng,
                )
                .map_err(|_| fail("P-256"))?;
                Self::from_pkcs8_der(pkcs8.as_ref(), alg, Some(kid))
            }
            SigningAlgorithm::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| fail("RSA-2048"))?;
                let der =
                    aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(
                        &pair,
                    )
                    .map_err(|_| fail("RSA-2048"))?;
                Self::from_pkcs8_der(der.as_ref(), alg, Some(kid))
            }
        }
    }

    /// Loads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`) of
    /// algorithm `alg` under key id `kid`.
    ///
    /// Reads what [`SigningKey::to_pkcs8_pem`] writes: the same `kid` gives
    /// back the same key (same public JWK).
    pub fn from_pem(
        pem: &str,
        alg: SigningAlgorithm,
        kid: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let der = pkcs8_der_from_pem(pem)?;
        let found = SigningAlgorithm::of_pkcs8(&parse_pkcs8(&der)?)?;
        if found != alg {
            return Err(ConfigError::new(format!(
                "the private key is an {} key, not {}",
                found.jose_name(),
                alg.jose_name()
            )));
        }
        Self::from_pkcs8_der(&der, alg, Some(kid.into()))
    }

    /// Loads a PKCS#8 PEM private key, taking the algorithm from the key
    /// itself (Ed25519, P-256 or RSA) and its RFC 7638 JWK thumbprint
    /// (SHA-256, base64url) as key id: every instance that loads the same
    /// key file gets the same `kid`.
    pub fn from_pem_auto(pem: &str) -> Result<Self, ConfigError> {
        let der = pkcs8_der_from_pem(pem)?;
        let alg = SigningAlgorithm::of_pkcs8(&parse_pkcs8(&der)?)?;
        Self::from_pkcs8_der(&der, alg, None)
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF
    /// line endings), for persisting it; [`SigningKey::from_pem`] with the
    /// same algorithm and `kid` reads it back.
    ///
    /// This is the secret: store it where only the issuer can read it.
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new(PKCS8_LABEL, self.pkcs8.to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// `kid`: `Some` for a given key id, `None` for the RFC 7638 thumbprint.
    fn from_pkcs8_der(
        der: &[u8],
        alg: SigningAlgorithm,
        kid: Option<String>,
    ) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(format!(
                "the {} private key cannot be read (PKCS#8 expected)",
                alg.jose_name()
            ))
        };
        // `thumbprint_input` is the RFC 7638 canonical JSON: the required
        // members only, in lexicographic order, no whitespace (the values
        // are base64url, so they need no escaping).
        let (encoding, jwk, thumbprint_input) = match alg {
            SigningAlgorithm::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|_| bad())?;
                let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
                (
                    EncodingKey::from_ed_der(der),
                    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                    format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
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
                let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
                (
                    EncodingKey::from_ec_der(der),
                    serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                    format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                )
            }
            SigningAlgorithm::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(|_| bad())?;
                let public = pair.public_key();
                let n = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
                let (n, e) = (URL_SAFE_NO_PAD.encode(&n.n), URL_SAFE_NO_PAD.encode(&n.e));
                // jsonwebtoken signs RSA with the PKCS#1 RSAPrivateKey, which
                // PKCS#8 carries as its `privateKey` OCTET STRING.
                let pkcs1 = parse_pkcs8(der)?.private_key;
                (
                    EncodingKey::from_rsa_der(pkcs1),
                    serde_json::json!({"kty": "RSA", "n": n, "e": e}),
                    format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
                )
            }
        };
        let kid = kid
            .unwrap_or_else(|| URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes())));
        let mut jwk = jwk;
        if let Some(obj) = jwk.as_object_mut() {
            obj.insert("kid".into(), kid.clone().into());
            obj.insert("use".into(), "sig".into());
            obj.insert("alg".into(), alg.jose_name().into());
        }
        Ok(Self {
            kid,
            alg,
            encoding,
            pkcs8: Arc::from(der),
            jwk,
        })
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JOSE algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg.jose()
    }

    /// The signing algorithm.
    pub fn signing_algorithm(&self) -> SigningAlgorithm {
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
