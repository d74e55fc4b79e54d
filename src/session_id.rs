//! [`SessionId`]: the opaque session credential. Its own module, below both
//! the context (which carries one) and the session stores (which key on
//! it), so neither needs the other to exist.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

/// Prefix of every session ID.
pub const SESSION_ID_PREFIX: &str = "sess_";
/// Random bytes in a session ID (256 bits).
const SESSION_ID_RANDOM_BYTES: usize = 32;
/// Length of the base64url text of the random part.
const SESSION_ID_TEXT_LEN: usize = 43;
/// An opaque session ID: `sess_` + 256 random bits from the OS CSPRNG,
/// base64url. Compared in constant time; `Debug` shows only a prefix.
#[derive(Clone)]
pub struct SessionId(Box<str>);

impl SessionId {
    /// A fresh ID from the operating system's CSPRNG (fails only when the
    /// OS cannot provide randomness).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; SESSION_ID_RANDOM_BYTES];
        getrandom::fill(&mut bytes)?;
        let mut s = String::with_capacity(SESSION_ID_PREFIX.len() + SESSION_ID_TEXT_LEN);
        s.push_str(SESSION_ID_PREFIX);
        URL_SAFE_NO_PAD.encode_string(bytes, &mut s);
        Ok(Self(s.into_boxed_str()))
    }

    /// Checks the format before anything looks the ID up.
    pub fn parse(s: &str) -> Option<Self> {
        Self::is_well_formed(s).then(|| Self(s.into()))
    }

    /// Whether `s` has the shape of a session ID.
    pub fn is_well_formed(s: &str) -> bool {
        let Some(rest) = s.strip_prefix(SESSION_ID_PREFIX) else {
            return false;
        };
        rest.len() == SESSION_ID_TEXT_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            // The last character carries 2 padding bits that must be zero
            // for the encoding to be canonical.
            && URL_SAFE_NO_PAD.decode(rest).is_ok()
    }

    /// The full ID. Treat it as a secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fixed-size key for in-process caches: the first 32 characters of
    /// the random part (192 bits of entropy), so no hashing is needed.
    pub(crate) fn cache_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        if let Some(random) = self
            .0
            .as_bytes()
            .get(SESSION_ID_PREFIX.len()..SESSION_ID_PREFIX.len() + 32)
        {
            key.copy_from_slice(random);
        }
        key
    }

    /// A short, non-secret prefix for logs.
    pub fn redacted(&self) -> &str {
        self.0
            .get(..SESSION_ID_PREFIX.len() + 4)
            .unwrap_or(SESSION_ID_PREFIX)
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SessionId {}

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.redacted())
    }
}

impl Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("malformed session id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_well_formed_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let id = SessionId::generate().unwrap();
            assert!(SessionId::is_well_formed(id.as_str()), "{}", id.as_str());
            assert!(seen.insert(id.as_str().to_owned()));
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        let good = SessionId::generate().unwrap();
        let s = good.as_str();
        assert!(SessionId::parse(s).is_some());
        for bad in [
            "",
            "sess_",
            &s[..s.len() - 1],
            &format!("{s}A"),
            &s.replace("sess_", "sesh_"),
            &format!("sess_{}", "!".repeat(43)),
            &format!("sess_{}", "A".repeat(42) + "B"), // non-canonical last char
            "../../etc/passwd",
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_id() {
        let id = SessionId::generate().unwrap();
        let dbg = format!("{id:?}");
        assert!(!dbg.contains(&id.as_str()[10..]), "{dbg}");
    }
}
