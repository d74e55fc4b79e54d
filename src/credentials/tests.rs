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

/// Header values both readings are compared over: bare and `Bearer`
/// tokens, other schemes, spaces, padding, bytes outside `b64token`, and
/// values over the tests' 5-byte cap.
const HEADER_VALUES: &[&[u8]] = &[
    b"abc.def",
    b"  abc.def\t",
    b"abcde",
    b"abcdef",
    b"Bearer abcde",
    b"Bearer abcdef",
    b"bearer  abc",
    b"DPoP abcde",
    b"dpop abc,d",
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
    b"Bearer a b",
    b"Bearer a\xffb",
    b"bearer.abc",
    b"Basic abcdef",
    b"Bearer\tabc",
    b"Bearerx abc",
    b"BEARER abc ",
    b"Basic abcdefgh",
    b"abcdefgh ijk",
    b"Bearer ab\xff",
    b"x y\x7f",
];

/// Deferring the syntax check changes nothing once the token is checked:
/// for every value (in `Authorization`, a cookie, a custom header, a
/// websocket offer, and the customer-token header), [`Deferred`] reading
/// then [`RawToken::checked`] succeeds exactly when [`Checked`] reading
/// does, with the same token. (Which error it fails with may differ: the
/// engine answers any failure by reading again [`Checked`].)
#[test]
fn deferred_then_checked_reads_as_checked() {
    use super::{Checked, Deferred, RawToken, extract_with, header_value_token};
    let values = HEADER_VALUES;
    let max = 5;
    let sources = CredentialSources::default()
        .with_cookie("at")
        .with_header("x-token")
        .with_websocket_protocol_prefix("bearer.")
        .with_max_token_bytes(max);
    let checked_text = |t: RawToken<'_>| t.checked(max).map(|c| c.into_owned());
    for value in values {
        for (header, prefix) in [
            ("authorization", &b""[..]),
            ("cookie", b"at="),
            ("x-token", b""),
            ("sec-websocket-protocol", b""),
        ] {
            let Ok(v) = http::HeaderValue::from_bytes(&[prefix, value].concat()) else {
                continue;
            };
            let mut h = http::HeaderMap::new();
            h.insert(header, v);
            let label = format!("{header}: {:?}", String::from_utf8_lossy(value));
            let checked = extract_with::<Checked, _>(&h, &sources).map(|f| {
                (
                    f.bearer.map(|b| b.into_owned()),
                    f.other_scheme,
                    f.dpop_scheme,
                )
            });
            let deferred = extract_with::<Deferred, _>(&h, &sources).and_then(|f| {
                let bearer = f.bearer.map(checked_text).transpose()?;
                Ok((bearer, f.other_scheme, f.dpop_scheme))
            });
            assert_eq!(deferred.ok(), checked.ok(), "{label}");
            // The dedicated header the customer token comes in.
            let checked = header_token(&h, header, max).map(|t| t.map(str::to_owned));
            let deferred = header_value_token::<Deferred, _>(&h, header, max)
                .and_then(|t| t.map(checked_text).transpose());
            assert_eq!(deferred.ok(), checked.ok(), "{label} (dedicated header)");
        }
    }
}

/// A configured header name parsed once (`http::HeaderName`) reads what
/// its text reads: one value, two values (refused), none, and any case of
/// the configured name; through a `HeaderMap`, a `Request` and `Parts`, and
/// a request type that only implements `visit_header`.
#[test]
fn parsed_header_names_read_as_their_text() {
    use super::headers::{session_id, unique_header};
    struct TextOnly(http::HeaderMap);
    impl RequestParts for TextOnly {
        fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
            self.0.visit_header(name, visit);
        }
    }
    let max = 64;
    for configured in ["x-customer-token", "X-Customer-Token"] {
        let parsed = http::HeaderName::from_bytes(configured.as_bytes()).unwrap();
        let text = configured.to_ascii_lowercase();
        for values in [
            &[][..],
            &[&b"Bearer abc"[..]],
            &[b"abc"],
            &[b"abc", b"def"],
            &[b"a b c"],
        ] {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append(
                    "x-customer-token",
                    http::HeaderValue::from_bytes(v).unwrap(),
                );
            }
            let label = format!("{configured}: {values:?}");
            let want = header_token(&h, text.as_str(), max).map(|t| t.map(str::to_owned));
            let (parts, ()) = {
                let mut r = http::Request::new(());
                *r.headers_mut() = h.clone();
                r.into_parts()
            };
            let mut req = http::Request::new(());
            *req.headers_mut() = h.clone();
            let text_only = TextOnly(h.clone());
            for got in [
                header_token(&h, &parsed, max),
                header_token(&parts, &parsed, max),
                header_token(&req, &parsed, max),
                header_token(&text_only, &parsed, max),
            ] {
                assert_eq!(got.map(|t| t.map(str::to_owned)), want, "{label}");
            }
            assert_eq!(
                unique_header(&h, &parsed).map(|v| v.map(<[u8]>::to_vec)),
                unique_header(&h, text.as_str()).map(|v| v.map(<[u8]>::to_vec)),
                "{label}"
            );
            assert_eq!(
                session_id(&h, Some(&parsed), None).map(|v| v.map(str::to_owned)),
                session_id(&h, Some(text.as_str()), None).map(|v| v.map(str::to_owned)),
                "{label}"
            );
        }
    }
}

/// `header_token` reads only a value's first 7 bytes for a `Bearer `
/// prefix; it answers as the reading that splits any value at its first
/// space (what it did before).
#[test]
fn header_token_answers_as_the_split_at_the_first_space_reading() {
    use super::syntax::{checked_token, trim_ows};
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
    let values = HEADER_VALUES;
    for value in values {
        let Ok(v) = http::HeaderValue::from_bytes(value) else {
            continue;
        };
        let mut h = http::HeaderMap::new();
        h.insert("x-token", v);
        assert_eq!(
            header_token(&h, "x-token", 5),
            reference(value, 5),
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
}
