//! The strict compact-JWS parser (`crate::jwt::token::parse`).
//!
//! Input: the token text (invalid UTF-8 is replaced, so every input reaches
//! the parser).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    if let Some((message, signature)) = tollgate::fuzzing::jws_parse(&token) {
        // An accepted token is exactly `message.signature`, three non-empty
        // base64url segments.
        assert_eq!(format!("{message}.{signature}"), token);
        assert_eq!(token.matches('.').count(), 2);
        assert!(!signature.is_empty());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        );
    }
});
