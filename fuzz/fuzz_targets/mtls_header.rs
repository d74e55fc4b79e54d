//! A trusted proxy's client-certificate header (`crate::mtls::header_thumbprint`):
//! URL-encoded PEM, Envoy XFCC and base64 DER.
//!
//! Input: a format byte (`% 3`: PEM, XFCC, base64 DER), then the header value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&format, value)) = data.split_first() else {
        return;
    };
    let format = format % 3;
    let max = 16 * 1024;
    let got = tollgate::fuzzing::mtls_header(value, format, max);
    // A larger value is always refused before parsing.
    if value.len() > max {
        assert_eq!(got, None);
    }
    // The size limit only ever refuses more.
    if got.is_some() {
        assert_eq!(
            tollgate::fuzzing::mtls_header(value, format, value.len()),
            got
        );
    }
});
