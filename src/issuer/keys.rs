//! Signing keys and the key ring: one active key signs, previous keys stay
//! published for verification until retired (rotation without downtime).

use crate::config::ConfigError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
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

/// PKCS#8 algorithm identifiers (RFC 8410, RFC 5480, RFC 8017).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl SigningAlgorithm {
    fn jose(self) -> Algorithm {
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
    fn of_pkcs8(info: &PrivateKeyInfo<'_>) -> Result<Self, ConfigError> {
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

/// A private signing key with its key id and public JWK.
///
/// `Debug` shows the key id and algorithm only, never key material.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: SigningAlgorithm,
    encoding: EncodingKey,
    /// The private key, PKCS#8 DER (what [`SigningKey::to_pkcs8_pem`] encodes).
    pkcs8: Arc<[u8]>,
    jwk: serde_json::Value,
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

/// The PEM label of an unencrypted PKCS#8 private key.
const PKCS8_LABEL: &str = "PRIVATE KEY";

/// The DER inside a PEM `PRIVATE KEY` block, with a hint for the usual
/// wrong formats.
fn pkcs8_der_from_pem(text: &str) -> Result<Vec<u8>, ConfigError> {
    let block = pem::parse(text).map_err(|e| {
        ConfigError::new(format!(
            "not a PEM private key ({e}); expected -----BEGIN {PKCS8_LABEL}-----"
        ))
    })?;
    match block.tag() {
        PKCS8_LABEL => Ok(block.into_contents()),
        tag @ ("RSA PRIVATE KEY" | "EC PRIVATE KEY") => Err(ConfigError::new(format!(
            "the PEM holds a {tag} (PKCS#1/SEC1); tollgate reads PKCS#8 \
             (-----BEGIN {PKCS8_LABEL}-----): convert it with \
             `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.p8.pem`"
        ))),
        "ENCRYPTED PRIVATE KEY" => Err(ConfigError::new(
            "the PEM holds an ENCRYPTED PRIVATE KEY; tollgate reads unencrypted PKCS#8 \
             (decrypt it with `openssl pkcs8 -in key.pem -out key.p8.pem`)",
        )),
        tag => Err(ConfigError::new(format!(
            "the PEM holds a {tag}, not a private key; expected -----BEGIN {PKCS8_LABEL}-----"
        ))),
    }
}

fn parse_pkcs8(der: &[u8]) -> Result<PrivateKeyInfo<'_>, ConfigError> {
    PrivateKeyInfo::try_from(der)
        .map_err(|e| ConfigError::new(format!("the private key is not valid PKCS#8 DER: {e}")))
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

#[derive(Debug)]
struct Ring {
    active: SigningKey,
    previous: Vec<SigningKey>,
}

/// One active signing key plus previous keys still published for
/// verification. Cheap to clone; clones share the ring: a [`Minter`] and
/// the JWKS route built from clones of one ring see every change made
/// through any clone ([`KeyRing::rotate`], [`KeyRing::retire`],
/// [`KeyRing::replace_all`]) at once.
///
/// [`Minter`]: super::Minter
#[derive(Clone, Debug)]
pub struct KeyRing {
    inner: Arc<RwLock<Ring>>,
}

/// `path: message` for a key file.
fn file_error(path: &Path, msg: impl fmt::Display) -> ConfigError {
    ConfigError::new(format!("signing key file {}: {msg}", path.display()))
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

    /// A ring loaded from PKCS#8 PEM files (`-----BEGIN PRIVATE KEY-----`,
    /// one key per file): the first file's key is active, the others stay
    /// published for verification, in the order given.
    ///
    /// Each key's algorithm is read from the key (Ed25519, P-256 or RSA)
    /// and its `kid` is its RFC 7638 JWK thumbprint, so every instance that
    /// mounts the same files signs and publishes under the same key ids,
    /// whatever the files are called. This is the way to share signing keys
    /// between instances without keeping private keys in Redis (see
    /// `RedisKeyStore` for the other way): rotate by deploying a new file
    /// first in the list and restarting (or calling
    /// [`KeyRing::replace_all`] with a reloaded ring).
    ///
    /// Fails, naming the file, when a file cannot be read, is not an
    /// unencrypted PKCS#8 PEM private key of a supported algorithm, or
    /// holds the same key as an earlier file; and when no file is given.
    pub fn from_pem_files<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Self, ConfigError> {
        let mut keys: Vec<(SigningKey, PathBuf)> = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path)
                .map_err(|e| file_error(path, format_args!("cannot be read: {e}")))?;
            let key = SigningKey::from_pem_auto(&text).map_err(|e| file_error(path, e))?;
            if let Some((_, first)) = keys.iter().find(|(k, _)| k.kid == key.kid) {
                return Err(file_error(
                    path,
                    format_args!("holds the same key as {}", first.display()),
                ));
            }
            keys.push((key, path.to_owned()));
        }
        let mut keys = keys.into_iter().map(|(k, _)| k);
        let active = keys
            .next()
            .ok_or_else(|| ConfigError::new("no signing key file given"))?;
        let ring = Self::new(active);
        ring.replace_published(keys.collect());
        Ok(ring)
    }

    /// A ring loaded from the `*.pem` files of `dir` (hidden files and
    /// subdirectories skipped; symlinks followed, so a Kubernetes secret
    /// volume works), sorted by file name, **last name first**: the file
    /// whose name sorts highest (`2025-06.pem` after `2025-01.pem`) holds
    /// the active key, the others stay published. See
    /// [`KeyRing::from_pem_files`] for key ids and errors; a directory
    /// without `*.pem` files is an error.
    pub fn from_pem_dir(dir: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let dir = dir.as_ref();
        let unreadable = |e: std::io::Error| {
            ConfigError::new(format!(
                "signing key directory {}: cannot be read: {e}",
                dir.display()
            ))
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let path = entry.map_err(unreadable)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_pem = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("pem"));
            if is_pem && !name.starts_with('.') && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(ConfigError::new(format!(
                "signing key directory {} holds no *.pem file",
                dir.display()
            )));
        }
        files.sort_unstable_by(|a, b| b.file_name().cmp(&a.file_name()));
        Self::from_pem_files(files)
    }

    /// Replaces the whole ring in place: `active` signs from now on and
    /// `published` (in this order, after the active key) are the previous
    /// keys still in the JWKS. Keys whose `kid` repeats an earlier one are
    /// dropped. Every clone of the ring sees the new state at once; readers
    /// see either the old or the new state, never a mix.
    pub fn replace_all(&self, active: SigningKey, published: Vec<SigningKey>) {
        let previous = dedup_after(&active, published);
        // A poisoned lock is replaced as a whole, so its contents do not matter.
        let mut ring = self.inner.write().unwrap_or_else(|p| p.into_inner());
        *ring = Ring { active, previous };
    }

    /// Replaces the previous keys, keeping the active one.
    fn replace_published(&self, published: Vec<SigningKey>) {
        let mut ring = self.inner.write().unwrap_or_else(|p| p.into_inner());
        ring.previous = dedup_after(&ring.active, published);
    }

    /// The key ids, active first, then the published previous keys.
    pub fn kids(&self) -> Vec<String> {
        match self.inner.read() {
            Ok(ring) => std::iter::once(&ring.active)
                .chain(ring.previous.iter())
                .map(|k| k.kid.clone())
                .collect(),
            Err(_) => Vec::new(),
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

/// `keys` without those whose kid repeats `first`'s or an earlier one's.
fn dedup_after(first: &SigningKey, keys: Vec<SigningKey>) -> Vec<SigningKey> {
    let mut seen = vec![first.kid.clone()];
    keys.into_iter()
        .filter(|k| {
            let new = !seen.contains(&k.kid);
            if new {
                seen.push(k.kid.clone());
            }
            new
        })
        .collect()
}
