//! `Authorization: Basic` decoding (`crate::basic::decode`, RFC 7617).
//!
//! Input: the header value.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((user, secret)) = tollgate::fuzzing::basic_decode(data) {
        assert!(!user.contains(':'), "user id holds a colon: {user:?}");
        // The value is `Basic <base64 of user:secret>`: re-encoding gives
        // back the same credentials.
        let again = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
        );
        assert_eq!(
            tollgate::fuzzing::basic_decode(again.as_bytes()),
            Some((user, secret))
        );
    }
});
