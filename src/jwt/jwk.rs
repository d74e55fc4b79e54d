//! JWK and JWKS parsing into [`VerifyingKey`]s.
//!
//! The rules here are stricter on purpose than a generic JWK crate's: only
//! signature keys (`use` = `sig`, `key_ops` with `verify`), no private key
//! material, RSA moduli of at least 2048 bits, exact EC coordinate and
//! Ed25519 lengths, a declared `alg` that must agree with `kty`/`crv`, and
//! symmetric (`oct`) keys only from sources that allow them (never a remote
//! JWKS). A key that breaks a rule is skipped, not repaired.

use super::algorithms::{AlgSet, parse_alg};
use super::keys::{KeySet, VerifyingKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

impl KeySet {
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

pub(crate) fn parse_jwk(
    value: serde_json::Value,
    allow_symmetric: bool,
) -> Result<VerifyingKey, String> {
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
    use crate::jwt::keys::KeyLookup;

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
