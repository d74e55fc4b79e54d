//! JWK set parsing (`crate::jwt::keys::KeySet::from_jwks`), with and
//! without symmetric keys allowed, then a key lookup and a signature check
//! against the parsed set.
//!
//! Input: a JWKS document, optionally followed by a NUL byte and a compact
//! JWS to verify against it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::fuzzing::{jwks_parse, jwks_verify};

fuzz_target!(|data: &[u8]| {
    let (json, token) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let strict = jwks_parse(json, false);
    let lenient = jwks_parse(json, true);
    assert_eq!(strict.is_some(), lenient.is_some());
    if let (Some(strict), Some(lenient)) = (strict, lenient) {
        assert_eq!(strict.symmetric, 0, "symmetric key from a strict source");
        assert_eq!(strict.without_algorithms, 0);
        assert_eq!(lenient.without_algorithms, 0);
        assert_eq!(
            strict.keys,
            lenient.keys - lenient.symmetric,
            "allowing symmetric keys changed which asymmetric keys are kept"
        );
    }
    if let Some(token) = token {
        let token = String::from_utf8_lossy(token);
        let _ = jwks_verify(json, false, &token);
        let _ = jwks_verify(json, true, &token);
    }
});
