//! Unit tests of the token syntax (`syntax.rs`) and of the source settings
//! (`sources.rs`).

use super::syntax::{is_b64token, is_b64token_byte};
use super::*;

const MAX: usize = DEFAULT_MAX_TOKEN_BYTES;

#[test]
fn bearer_syntax() {
    assert_eq!(
        parse_authorization(b"Bearer abc.def-_~+/==", MAX),
        Ok(Some("abc.def-_~+/=="))
    );
    assert_eq!(parse_authorization(b"bEaReR   abc  ", MAX), Ok(Some("abc")));
    assert_eq!(
        parse_authorization(b"Bearer", MAX),
        Err(CredentialsError::EmptyToken)
    );
    assert_eq!(
        parse_authorization(b"Bearer   ", MAX),
        Err(CredentialsError::EmptyToken)
    );
    assert_eq!(
        parse_authorization(b"Bearer ===", MAX),
        Err(CredentialsError::Malformed)
    );
    assert_eq!(
        parse_authorization(b"Bearer a=b", MAX),
        Err(CredentialsError::Malformed)
    );
    assert_eq!(
        parse_authorization(b"Bearer a b", MAX),
        Err(CredentialsError::Malformed)
    );
    assert_eq!(
        parse_authorization(b"Bearer a\xffb", MAX),
        Err(CredentialsError::Malformed)
    );
    assert_eq!(
        parse_authorization(b"", MAX),
        Err(CredentialsError::Malformed)
    );
    assert_eq!(
        parse_authorization(b"Basic abc", MAX),
        Err(CredentialsError::UnsupportedScheme)
    );
    assert_eq!(
        parse_authorization(b"Bearerx abc", MAX),
        Err(CredentialsError::UnsupportedScheme)
    );
    assert_eq!(
        parse_authorization(b"Bearer abcdef", 5),
        Err(CredentialsError::TooLarge)
    );
    assert_eq!(parse_authorization(b"Bearer abcde", 5), Ok(Some("abcde")));
}

#[test]
fn b64token_bytes_match_the_grammar() {
    for b in 0..=255u8 {
        let want = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
        assert_eq!(is_b64token_byte(b), want, "byte {b:#x}");
        // The chunked check: every byte in a chunk and in the remainder.
        for at in [0, 31, 32, 40] {
            let mut s = vec![b'a'; 42];
            s[at] = b;
            assert_eq!(is_b64token(&s), want, "byte {b:#x} at {at}");
        }
    }
}

#[test]
fn source_validation() {
    assert!(CredentialSources::default().validate().is_ok());
    let bad = CredentialSources {
        cookie: Some("a b".into()),
        ..CredentialSources::default()
    };
    assert!(bad.validate().is_err());
    let none = CredentialSources {
        authorization_header: false,
        ..CredentialSources::default()
    };
    assert!(none.validate().is_err());
    for bad in [
        CredentialSources::default().with_header("Authorization"),
        CredentialSources::default().with_header("bad header"),
        CredentialSources::default().with_websocket_protocol_prefix(""),
        CredentialSources::default().with_websocket_protocol_prefix("a,b"),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    let only_ws = CredentialSources::default()
        .with_authorization_header(false)
        .with_websocket_protocol_prefix("bearer.");
    assert!(only_ws.validate().is_ok());
}

#[test]
fn header_token_answers_as_the_two_pass_reading() {
    use super::syntax::{checked_token, trim_ows};
    // What `header_token` did before its one-pass fast path.
    fn reference(value: &[u8], max: usize) -> Result<Option<&str>, CredentialsError> {
        let trimmed = trim_ows(value);
        if trimmed.contains(&b' ') {
            return match parse_authorization(trimmed, max) {
                Err(CredentialsError::UnsupportedScheme) => Err(CredentialsError::Malformed),
                other => other,
            };
        }
        checked_token(trimmed, max).map(Some)
    }
    let values: &[&[u8]] = &[
        b"abc.def",
        b"  abc.def\t",
        b"abcde",
        b"abcdef",
        b"Bearer abcde",
        b"Bearer abcdef",
        b"bearer  abc",
        b"Basic abc",
        b"abc def",
        b"",
        b"   ",
        b"a=b",
        b"abc==",
        b"===",
        b"ab\xffc",
        b"a,b",
        b"Bearer",
    ];
    for value in values {
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(value) {
            h.insert("x-token", v);
        } else {
            continue;
        }
        assert_eq!(
            header_token(&h, "x-token", 5),
            reference(value, 5),
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
}
