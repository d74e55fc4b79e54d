//! Keyed digests of high-entropy secrets (API client secrets, till secrets).
//!
//! Platform-generated API secrets carry 128+ bits of entropy, so a
//! memory-hard password hash buys nothing against guessing and costs tens of
//! milliseconds and megabytes per request, which is what let a flood of bad
//! requests exhaust memory. They are stored instead as HMAC-SHA-256 under a
//! random 256-bit key that lives only in this process (a "pepper"): a
//! dumped store is useless without the key, each check costs about a
//! microsecond, and the comparison is constant time. Human passwords are a
//! different matter: see `issuer::PasswordHasher` (Argon2id in a capped pool).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// A digest of one secret under a [`SecretDigester`]'s key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretDigest(pub(crate) [u8; 32]);

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(******)")
    }
}

/// HMAC-SHA-256 under a per-process random key. Cheap to clone.
#[derive(Clone)]
pub(crate) struct SecretDigester {
    key: Arc<[u8; 32]>,
}

impl fmt::Debug for SecretDigester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigester(******)")
    }
}

impl SecretDigester {
    /// A digester with a fresh random key from the OS.
    pub(crate) fn random() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self { key: Arc::new(key) })
    }

    /// The digest of `secret`.
    pub(crate) fn digest(&self, secret: &[u8]) -> SecretDigest {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail here.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key[..]) {
            Ok(m) => m,
            Err(_) => return SecretDigest([0u8; 32]),
        };
        mac.update(secret);
        SecretDigest(mac.finalize().into_bytes().into())
    }

    /// Whether `secret` matches `stored`, in constant time. With `None`
    /// (unknown user) the same work is done and the answer is false.
    pub(crate) fn verify(&self, secret: &[u8], stored: Option<&SecretDigest>) -> bool {
        let presented = self.digest(secret);
        let (stored, known) = match stored {
            Some(s) => (&s.0, true),
            None => (&[0u8; 32], false),
        };
        let equal: bool = presented.0.ct_eq(stored).into();
        equal && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_verify_only_their_secret_and_never_show() {
        let d = SecretDigester::random().unwrap();
        let stored = d.digest(b"correct horse battery staple");
        assert!(d.verify(b"correct horse battery staple", Some(&stored)));
        assert!(!d.verify(b"correct horse battery stapl", Some(&stored)));
        assert!(!d.verify(b"", Some(&stored)));
        assert!(!d.verify(b"correct horse battery staple", None));
        // Another process (another key) cannot use this digest.
        let other = SecretDigester::random().unwrap();
        assert!(!other.verify(b"correct horse battery staple", Some(&stored)));
        assert_eq!(format!("{stored:?}"), "SecretDigest(******)");
        assert_eq!(format!("{d:?}"), "SecretDigester(******)");
    }
}
