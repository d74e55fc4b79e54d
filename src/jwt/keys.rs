//! Verification keys, each bound to the algorithms it may verify.
//!
//! The key decides the algorithm. A key's `kty` (and `crv`) fixes its family,
//! a declared `alg` narrows it to one algorithm, and a token whose header asks
//! for anything else is refused before any cryptography runs. HMAC keys are
//! only ever built from secrets configured as such, never from a public key
//! and never from a remote JWKS.

pub(crate) use super::algorithms::{AlgSet, parse_alg};
// Also used by the fuzzing harness (`crate::jwt::keys::ALL_ALGORITHMS`).
pub(crate) use super::algorithms::ALL_ALGORITHMS;
pub(crate) use super::jwk::looks_like_public_key;
use jsonwebtoken::{Algorithm, DecodingKey};
use std::fmt;

/// One verification key, pre-parsed, with the algorithms it may verify.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) algs: AlgSet,
    pub(crate) key: DecodingKey,
    /// The key parsed once into aws-lc's form, per algorithm, so the hot
    /// path does no key parsing (`jsonwebtoken` re-parses per verify).
    #[cfg(feature = "aws_lc_rs")]
    pub(crate) parsed: Option<super::fast::ParsedKey>,
}

impl VerifyingKey {
    pub(crate) fn new(kid: Option<Box<str>>, algs: AlgSet, key: DecodingKey) -> Self {
        Self {
            #[cfg(feature = "aws_lc_rs")]
            parsed: super::fast::ParsedKey::new(&key, algs),
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
}
