//! Verification keys, each bound to the algorithms it may verify.
//!
//! The key decides the algorithm. A key's `kty` (and `crv`) fixes its family,
//! a declared `alg` narrows it to one algorithm, and a token whose header asks
//! for anything else is refused before any cryptography runs. HMAC keys are
//! only ever built from secrets configured as such, never from a public key
//! and never from a remote JWKS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use std::fmt;

/// All algorithms tollgate verifies, in a fixed order (bit positions of [`AlgSet`]).
pub(crate) const ALL_ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Parses a JOSE `alg` name exactly as registered (case-sensitive).
/// `none` and every unknown name yield `None`.
pub(crate) fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// A small set of algorithms.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgSet(u16);

impl AlgSet {
    pub(crate) const fn empty() -> Self {
        Self(0)
    }

    fn bit(alg: Algorithm) -> u16 {
        let idx = ALL_ALGORITHMS.iter().position(|a| *a == alg).unwrap_or(0);
        1 << idx
    }

    pub(crate) fn one(alg: Algorithm) -> Self {
        Self(Self::bit(alg))
    }

    pub(crate) fn of(algs: &[Algorithm]) -> Self {
        Self(algs.iter().fold(0, |acc, a| acc | Self::bit(*a)))
    }

    pub(crate) fn all() -> Self {
        Self::of(&ALL_ALGORITHMS)
    }

    pub(crate) fn asymmetric() -> Self {
        Self(Self::all().0 & !Self::hmac().0)
    }

    pub(crate) fn hmac() -> Self {
        Self::of(&[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512])
    }

    pub(crate) fn rsa() -> Self {
        Self::of(&[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ])
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & Self::bit(alg) != 0
    }

    pub(crate) fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for AlgSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(ALL_ALGORITHMS.iter().filter(|a| self.contains(**a)))
            .finish()
    }
}

/// One verification key, pre-parsed, with the algorithms it may verify.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) algs: AlgSet,
    pub(crate) key: DecodingKey,
    /// The key parsed once into aws-lc's form, per algorithm, so the hot
    /// path does no key parsing (`jsonwebtoken` re-parses per verify).
    #[cfg(feature = "aws_lc_rs")]
    pub(crate) parsed: Option<fast::ParsedKey>,
}

impl VerifyingKey {
    pub(crate) fn new(kid: Option<Box<str>>, algs: AlgSet, key: DecodingKey) -> Self {
        Self {
            #[cfg(feature = "aws_lc_rs")]
            parsed: fast::ParsedKey::new(&key, algs),
            kid,
            algs,
            key,
        }
    }

    /// Verifies `signature_b64` over `message` with `alg` (which the caller
    /// has checked this key allows). Signatures are checked only by vetted
    /// libraries: aws-lc with the pre-parsed key, else `jsonwebtoken`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature_b64: &str) -> bool {
        #[cfg(feature = "aws_lc_rs")]
        if let Some(parsed) = &self.parsed
            && let Some(ok) = parsed.verify(alg, message, signature_b64)
        {
            return ok;
        }
        matches!(
            jsonwebtoken::crypto::verify(signature_b64, message, &self.key, alg),
            Ok(true)
        )
    }
}

#[cfg(feature = "aws_lc_rs")]
pub(crate) mod fast {
    //! Pre-parsed aws-lc keys.

    use super::{ALL_ALGORITHMS, AlgSet};
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
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material: HMAC keys are secrets.
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algs", &self.algs)
            .finish_non_exhaustive()
    }
}

/// An immutable set of verification keys. Replaced whole on refresh.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<VerifyingKey>,
}

/// The outcome of looking a token's key up in a set.
pub(crate) enum KeyLookup<'a> {
    Found(&'a VerifyingKey),
    /// The token names a `kid` this set does not hold.
    UnknownKid,
    /// The `kid` is known but not for this algorithm, or no `kid` was given
    /// and the set does not hold exactly one key.
    NoMatch,
}

impl KeySet {
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup<'_> {
        match kid {
            Some(kid) => {
                let mut known = false;
                for key in &self.keys {
                    if key.kid.as_deref() == Some(kid) {
                        known = true;
                        if key.algs.contains(alg) {
                            return KeyLookup::Found(key);
                        }
                    }
                }
                if known {
                    KeyLookup::NoMatch
                } else {
                    KeyLookup::UnknownKid
                }
            }
            // Without a `kid`, only an unambiguous key will do: exactly one
            // key in the set may verify this algorithm.
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.algs.contains(alg));
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => KeyLookup::Found(only),
                    _ => KeyLookup::NoMatch,
                }
            }
        }
    }

    /// Parses a JWKS document. Keys that are not for signatures, whose `alg`
    /// conflicts with their type, that cannot be parsed or that are not
    /// supported are skipped with a log line; the rest of the set stands.
    /// Symmetric (`oct`) keys are only accepted when `allow_symmetric`.
    pub(crate) fn from_jwks(json: &[u8], allow_symmetric: bool) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc =
            serde_json::from_slice(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut set = KeySet::default();
        for (i, value) in doc.keys.into_iter().enumerate() {
            match parse_jwk(value, allow_symmetric) {
                Ok(key) => set.keys.push(key),
                Err(reason) => tracing::warn!(index = i, %reason, "tollgate: skipping JWKS key"),
            }
        }
        Ok(set)
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
    d: Option<String>,
}

fn b64_field(v: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let s = v.as_deref().ok_or_else(|| format!("missing `{name}`"))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| format!("`{name}` is not base64url"))
}

fn parse_jwk(value: serde_json::Value, allow_symmetric: bool) -> Result<VerifyingKey, String> {
    let raw: RawJwk = serde_json::from_value(value).map_err(|e| format!("malformed JWK: {e}"))?;
    let kid = raw.kid.clone().map(String::into_boxed_str);
    if let Some(u) = raw.use_.as_deref()
        && u != "sig"
    {
        return Err(format!("kid {kid:?}: use is {u:?}, not \"sig\""));
    }
    if let Some(ops) = &raw.key_ops
        && !ops.iter().any(|o| o == "verify")
    {
        return Err(format!("kid {kid:?}: key_ops does not include \"verify\""));
    }
    if raw.d.is_some() {
        // A published private key is a misconfigured issuer; do not use it.
        return Err(format!("kid {kid:?}: contains private key material"));
    }
    let declared = match raw.alg.as_deref() {
        None => None,
        Some(name) => {
            Some(parse_alg(name).ok_or_else(|| format!("kid {kid:?}: unsupported alg {name:?}"))?)
        }
    };
    let (family, key) = match raw.kty.as_str() {
        "RSA" => {
            let n = b64_field(&raw.n, "n")?;
            let e = b64_field(&raw.e, "e")?;
            let n_bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if n_bits < 2048 {
                return Err(format!("kid {kid:?}: RSA modulus shorter than 2048 bits"));
            }
            if e.is_empty() {
                return Err(format!("kid {kid:?}: empty RSA exponent"));
            }
            (AlgSet::rsa(), DecodingKey::from_rsa_raw_components(&n, &e))
        }
        "EC" => {
            let family = match raw.crv.as_deref() {
                Some("P-256") => AlgSet::one(Algorithm::ES256),
                Some("P-384") => AlgSet::one(Algorithm::ES384),
                other => return Err(format!("kid {kid:?}: unsupported EC curve {other:?}")),
            };
            let x = b64_field(&raw.x, "x")?;
            let y = b64_field(&raw.y, "y")?;
            let len = if family.contains(Algorithm::ES256) {
                32
            } else {
                48
            };
            if x.len() != len || y.len() != len {
                return Err(format!("kid {kid:?}: EC coordinates have the wrong length"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (family, DecodingKey::from_ec_der(&point))
        }
        "OKP" => {
            if raw.crv.as_deref() != Some("Ed25519") {
                return Err(format!("kid {kid:?}: unsupported OKP curve {:?}", raw.crv));
            }
            let x = b64_field(&raw.x, "x")?;
            if x.len() != 32 {
                return Err(format!("kid {kid:?}: Ed25519 key has the wrong length"));
            }
            (AlgSet::one(Algorithm::EdDSA), DecodingKey::from_ed_der(&x))
        }
        "oct" => {
            if !allow_symmetric {
                return Err(format!(
                    "kid {kid:?}: symmetric keys are not accepted from this source"
                ));
            }
            let k = b64_field(&raw.k, "k")?;
            if k.len() < 32 {
                return Err(format!("kid {kid:?}: HMAC key shorter than 256 bits"));
            }
            (AlgSet::hmac(), DecodingKey::from_secret(&k))
        }
        other => return Err(format!("kid {kid:?}: unsupported kty {other:?}")),
    };
    let algs = match declared {
        Some(alg) if family.contains(alg) => AlgSet::one(alg),
        Some(alg) => {
            return Err(format!("kid {kid:?}: alg {alg:?} conflicts with kty/crv"));
        }
        None => family,
    };
    Ok(VerifyingKey::new(kid, algs, key))
}

/// Whether bytes look like a public key (PEM or DER `SubjectPublicKeyInfo`),
/// so they are never used as an HMAC secret.
pub(crate) fn looks_like_public_key(bytes: &[u8]) -> bool {
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| bytes.get(i..))
        .unwrap_or_default();
    if trimmed.starts_with(b"-----BEGIN") || trimmed.starts_with(b"ssh-") {
        return true;
    }
    // DER SEQUENCE with a long-form length, as every SPKI and PKCS#1 key
    // of useful size starts.
    matches!(bytes, [0x30, 0x81..=0x83, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_are_exact() {
        for alg in ALL_ALGORITHMS {
            let name = format!("{alg:?}");
            assert_eq!(parse_alg(&name), Some(alg));
        }
        for bad in [
            "none", "None", "NONE", "nOnE", "hs256", "RS1", "", "ES512", "EDDSA",
        ] {
            assert_eq!(parse_alg(bad), None, "{bad}");
        }
    }

    #[test]
    fn alg_sets() {
        assert!(AlgSet::rsa().contains(Algorithm::PS512));
        assert!(!AlgSet::rsa().contains(Algorithm::HS256));
        assert!(!AlgSet::asymmetric().contains(Algorithm::HS512));
        assert!(AlgSet::asymmetric().contains(Algorithm::EdDSA));
        assert!(AlgSet::empty().is_empty());
    }

    #[test]
    fn jwks_skips_bad_keys_without_poisoning_the_set() {
        let good_ed: serde_json::Value = serde_json::json!({"kty":"OKP","crv":"Ed25519","x": URL_SAFE_NO_PAD.encode([7u8;32]),"kid":"ed","use":"sig"});
        let doc = serde_json::json!({"keys":[
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"short"},
            {"kty":"EC","crv":"P-521","x":"AA","y":"AA","kid":"p521"},
            {"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"edshort"},
            {"kty":"oct","k": URL_SAFE_NO_PAD.encode([1u8;32]),"kid":"hmac"},
            {"kty":"OKP","crv":"Ed25519","x": URL_SAFE_NO_PAD.encode([7u8;32]),"kid":"enc","use":"enc"},
            {"kty":"OKP","crv":"Ed25519","x": URL_SAFE_NO_PAD.encode([7u8;32]),"kid":"conflict","alg":"RS256"},
            {"kty":"weird"},
            "not an object",
            good_ed,
        ]});
        let set = KeySet::from_jwks(doc.to_string().as_bytes(), false).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("ed"));
        assert!(matches!(
            set.lookup(Some("ed"), Algorithm::EdDSA),
            KeyLookup::Found(_)
        ));
        assert!(matches!(
            set.lookup(Some("ed"), Algorithm::HS256),
            KeyLookup::NoMatch
        ));
        assert!(matches!(
            set.lookup(Some("hmac"), Algorithm::HS256),
            KeyLookup::UnknownKid
        ));
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            KeyLookup::Found(_)
        ));

        let mut set = KeySet::from_jwks(doc.to_string().as_bytes(), true).unwrap();
        assert_eq!(set.keys.len(), 2, "inline JWKS may carry oct keys");
        // One candidate per algorithm: still unambiguous without a kid.
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            KeyLookup::Found(_)
        ));
        set.keys.push(parse_jwk(good_ed2(), false).unwrap());
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            KeyLookup::NoMatch
        ));
    }

    fn good_ed2() -> serde_json::Value {
        serde_json::json!({"kty":"OKP","crv":"Ed25519","x": URL_SAFE_NO_PAD.encode([9u8;32]),"kid":"ed2"})
    }

    #[cfg(feature = "aws_lc_rs")]
    #[test]
    fn pkcs1_der_encoding() {
        // n with the high bit set gets a 0x00 pad; leading zeros are dropped.
        let der = super::fast::rsa_pkcs1_der(&[0, 0, 0x80, 1], &[1, 0, 1]).unwrap();
        assert_eq!(
            der,
            [
                0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
        // Lengths past 64 KiB are encoded in full (the hand-written encoder
        // this replaced truncated them).
        let big = vec![0x7f; 70_000];
        let der = super::fast::rsa_pkcs1_der(&big, &[1, 0, 1]).unwrap();
        assert_eq!(&der[..2], &[0x30, 0x83]);
    }

    #[test]
    fn garbage_is_not_a_jwks() {
        assert!(KeySet::from_jwks(b"<html>", false).is_err());
        assert!(KeySet::from_jwks(b"{\"keys\": 5}", false).is_err());
        assert!(
            KeySet::from_jwks(b"{\"keys\": []}", false)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn public_keys_are_recognised() {
        assert!(looks_like_public_key(b"-----BEGIN PUBLIC KEY-----\n"));
        assert!(looks_like_public_key(b"\n -----BEGIN RSA PUBLIC KEY-----"));
        assert!(looks_like_public_key(&[0x30, 0x82, 0x01, 0x22]));
        assert!(!looks_like_public_key(
            b"a perfectly ordinary long secret value!!"
        ));
    }
}
