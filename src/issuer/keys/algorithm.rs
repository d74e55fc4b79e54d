//! [`SigningAlgorithm`]: the algorithms tollgate signs with, their JOSE
//! names, and which one a PKCS#8 key is for.

use crate::config::ConfigError;
use jsonwebtoken::Algorithm;
use pkcs8::{ObjectIdentifier, PrivateKeyInfo};

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

/// PKCS#8 algorithm identifiers (RFC 8410, RFC 5480, RFC 8017).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl SigningAlgorithm {
    pub(super) fn jose(self) -> Algorithm {
        match self {
            Self::Ed25519 => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }

    /// The JOSE name (`EdDSA`, `ES256`, `RS256`).
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Ed25519 => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// The algorithm whose JOSE name is `name`.
    pub fn from_jose_name(name: &str) -> Option<Self> {
        [Self::Ed25519, Self::Es256, Self::Rs256]
            .into_iter()
            .find(|a| a.jose_name() == name)
    }

    /// The algorithm a PKCS#8 key is for, from its `AlgorithmIdentifier`.
    pub(super) fn of_pkcs8(info: &PrivateKeyInfo<'_>) -> Result<Self, ConfigError> {
        let oid = info.algorithm.oid;
        if oid == OID_ED25519 {
            Ok(Self::Ed25519)
        } else if oid == OID_RSA {
            Ok(Self::Rs256)
        } else if oid == OID_EC_PUBLIC_KEY {
            match info.algorithm.parameters_oid() {
                Ok(curve) if curve == OID_P256 => Ok(Self::Es256),
                Ok(curve) => Err(ConfigError::new(format!(
                    "the EC private key is on curve {curve}; tollgate signs with P-256 (1.2.840.10045.3.1.7) only"
                ))),
                Err(_) => Err(ConfigError::new(
                    "the EC private key names no curve in its PKCS#8 AlgorithmIdentifier",
                )),
            }
        } else {
            Err(ConfigError::new(format!(
                "the private key is of algorithm {oid}; tollgate signs with Ed25519, ECDSA P-256 and RSA keys"
            )))
        }
    }
}
