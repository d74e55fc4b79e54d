//! PKCE (RFC 7636): the `S256` challenge and its verifier. `plain` is not
//! accepted anywhere (RFC 9700 §2.1.1).
//!
//! Hand-written on purpose: the checks are a few lines, and they are stricter
//! than a general-purpose client crate needs to be (exact lengths and
//! alphabets before any hashing).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A checked `S256` code challenge: 43 characters of base64url (a SHA-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge(String);

impl Challenge {
    /// Parses a challenge sent with `code_challenge_method=S256`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(s).is_ok_and(|d| d.len() == 32);
        ok.then(|| Self(s.to_owned()))
    }

    /// The challenge text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `verifier` (RFC 7636 §4.1: 43–128 unreserved characters) hashes
/// to `challenge`. Compared in constant time.
pub(crate) fn verifies(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example() {
        assert!(Challenge::parse(CHALLENGE).is_some());
        assert!(verifies(CHALLENGE, VERIFIER));
    }

    #[test]
    fn wrong_or_malformed_verifiers_fail() {
        assert!(!verifies(CHALLENGE, &VERIFIER.replace('d', "e")));
        assert!(!verifies(CHALLENGE, "short"));
        assert!(!verifies(CHALLENGE, &"a".repeat(129)));
        assert!(!verifies(CHALLENGE, &format!("{}!", &VERIFIER[..43])));
        // `plain`: the challenge itself as verifier.
        assert!(!verifies(CHALLENGE, CHALLENGE));
    }

    #[test]
    fn malformed_challenges_are_refused() {
        for bad in [
            "",
            "abc",
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
        ] {
            assert!(Challenge::parse(bad).is_none(), "{bad}");
        }
    }
}
