//! Strict parsing of a compact JWS before any key is touched.
//!
//! The token must be exactly three non-empty base64url segments (no padding,
//! no whitespace); a five-segment JWE is named as such. The header must be a
//! JSON object with no duplicate members, a registered `alg` (case-sensitive,
//! never `none`) and no `crit` (tollgate understands no extensions, so any
//! `crit` header rejects the token, RFC 7515 §4.1.11). `jku`, `x5u`, `jwk`
//! and `x5c` are ignored: keys come only from configuration.

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::claims::Picked;
use super::keys::parse_alg;
use crate::context::ClaimSet;

/// Why a token could not even be parsed. Each maps to `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    Shape,
    Encrypted,
    Encoding,
    Header,
    Algorithm,
    Critical,
    Payload,
}

impl ParseError {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Shape => "the token is not a compact JWS (three dot-separated parts)",
            Self::Encrypted => "encrypted tokens (JWE) are not accepted",
            Self::Encoding => "the token is not valid base64url",
            Self::Header => "the token header is malformed",
            Self::Algorithm => "the token algorithm is not accepted",
            Self::Critical => "the token requires an unsupported critical extension",
            Self::Payload => "the token payload is not a JSON object",
        }
    }
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    kid: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    typ: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
    /// RFC 7797 unencoded payloads change what is signed; refuse them.
    #[serde(default)]
    b64: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    zip: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    enc: Option<serde::de::IgnoredAny>,
}

/// A parsed, not yet verified token.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'t> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    /// `header.payload`, the signed message.
    pub(crate) message: &'t str,
    pub(crate) signature: &'t str,
    /// Every claim (its map built on demand).
    pub(crate) claims: ClaimSet,
    /// The registered claims and those asked for by name, as parsed.
    pub(crate) picked: Picked,
}

/// A base64url byte or the segment separator, branch-free.
fn is_b64url_or_dot(b: u8) -> bool {
    let folded = b | 0x20; // ASCII letters to lower case
    // '-' '.' '/' and the digits are 0x2D..=0x39; '/' is not base64url.
    (folded.wrapping_sub(b'a') < 26) | ((b.wrapping_sub(b'-') < 13) & (b != b'/')) | (b == b'_')
}

/// Whether every byte is base64url or a dot: without an early exit, over
/// 32-byte chunks, so that the compiler vectorizes it (this runs on every
/// uncached token).
fn all_b64url_or_dot(bytes: &[u8]) -> bool {
    let chunks = bytes.chunks_exact(32);
    let mut bad = chunks
        .remainder()
        .iter()
        .fold(0u8, |acc, &b| acc | u8::from(!is_b64url_or_dot(b)));
    for chunk in chunks {
        bad |= chunk
            .iter()
            .fold(0u8, |acc, &b| acc | u8::from(!is_b64url_or_dot(b)));
    }
    bad == 0
}

/// Where the token's two dots are, or why it has not exactly two: three
/// SIMD searches over the token (`memchr`), not a count of every byte.
fn dots(bytes: &[u8]) -> Result<(usize, usize), ParseError> {
    let after = |from: usize| {
        bytes
            .get(from..)
            .and_then(|rest| memchr::memchr(b'.', rest))
            .map(|i| from + i)
    };
    let first = after(0).ok_or(ParseError::Shape)?;
    let second = after(first + 1).ok_or(ParseError::Shape)?;
    if after(second + 1).is_some() {
        // More than two: a five-part token is a JWE.
        return Err(if memchr::memchr_iter(b'.', bytes).count() == 4 {
            ParseError::Encrypted
        } else {
            ParseError::Shape
        });
    }
    Ok((first, second))
}

/// Longest base64url header decoded onto the stack (larger ones, say with
/// an `x5c` chain, are decoded onto the heap).
const STACK_HEADER: usize = 512;

pub(crate) fn parse(token: &str) -> Result<UnverifiedToken<'_>, ParseError> {
    parse_picking(token, &[])
}

/// [`parse`], also keeping the claims named in `names` as values
/// ([`Picked::named`], in the same order).
pub(crate) fn parse_picking<'t>(
    token: &'t str,
    names: &[&str],
) -> Result<UnverifiedToken<'t>, ParseError> {
    let bytes = token.as_bytes();
    let (first, second) = dots(bytes)?;
    if !all_b64url_or_dot(bytes) {
        return Err(ParseError::Encoding);
    }
    let (Some(h64), Some(p64), Some(s64), Some(message)) = (
        token.get(..first),
        token.get(first + 1..second),
        token.get(second + 1..),
        token.get(..second),
    ) else {
        return Err(ParseError::Shape);
    };
    if h64.is_empty() || p64.is_empty() || s64.is_empty() {
        return Err(ParseError::Shape);
    }

    let mut stack = [0u8; STACK_HEADER];
    let header_json: std::borrow::Cow<'_, [u8]> =
        match super::b64::decode_into(h64.as_bytes(), &mut stack) {
            Some(n) => std::borrow::Cow::Borrowed(stack.get(..n).ok_or(ParseError::Encoding)?),
            None => std::borrow::Cow::Owned(
                super::b64::decode(h64.as_bytes()).ok_or(ParseError::Encoding)?,
            ),
        };
    let header: RawHeader<'_> =
        serde_json::from_slice(&header_json).map_err(|_| ParseError::Header)?;
    let alg = parse_alg(&header.alg).ok_or(ParseError::Algorithm)?;
    if header.crit.is_some() || header.b64.is_some() || header.zip.is_some() {
        return Err(ParseError::Critical);
    }
    if header.enc.is_some() {
        return Err(ParseError::Encrypted);
    }
    let kid = header.kid.map(|k| k.into_owned());
    let typ = header.typ.map(|t| t.into_owned());

    let payload_json = super::b64::decode(p64.as_bytes()).ok_or(ParseError::Encoding)?;
    let (claims, picked) = super::claims::parse(payload_json, names).ok_or(ParseError::Payload)?;

    Ok(UnverifiedToken {
        alg,
        kid,
        typ,
        message,
        signature: s64,
        claims,
        picked,
    })
}

/// Compares a `typ` header with the expected media type, per RFC 7515
/// §4.1.9: case-insensitive, `application/` prefix optional.
pub(crate) fn typ_matches(actual: Option<&str>, expected: &str) -> bool {
    fn strip(s: &str) -> &str {
        if s.len() > 12
            && s.get(..12)
                .is_some_and(|p| p.eq_ignore_ascii_case("application/"))
        {
            s.get(12..).unwrap_or(s)
        } else {
            s
        }
    }
    actual.is_some_and(|a| strip(a).eq_ignore_ascii_case(strip(expected)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn b64url_bytes_match_the_alphabet() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || b"-_.".contains(&b);
            assert_eq!(is_b64url_or_dot(b), want, "byte {b:#x}");
            // Every position of a chunked and a remainder run.
            for at in [0, 31, 32, 40] {
                let mut s = vec![b'a'; 41];
                s[at] = b;
                assert_eq!(all_b64url_or_dot(&s), want, "byte {b:#x} at {at}");
            }
        }
    }

    /// `dots` answers as counting every dot would, for every string of up
    /// to 9 bytes over `a` and `.`.
    #[test]
    fn dots_match_a_full_count() {
        for len in 0..=9u32 {
            for bits in 0..(1u32 << len) {
                let s: Vec<u8> = (0..len)
                    .map(|i| if bits >> i & 1 == 1 { b'.' } else { b'a' })
                    .collect();
                let at: Vec<usize> = (0..s.len()).filter(|&i| s[i] == b'.').collect();
                let want = match at.len() {
                    2 => Ok((at[0], at[1])),
                    4 => Err(ParseError::Encrypted),
                    _ => Err(ParseError::Shape),
                };
                assert_eq!(dots(&s), want, "{:?}", String::from_utf8_lossy(&s));
            }
        }
    }

    /// Headers past the stack buffer are decoded onto the heap, with the
    /// same answers.
    #[test]
    fn long_headers_parse_as_short_ones() {
        for pad in [0, 300, 600, 5000] {
            let header = format!(r#"{{"alg":"RS256","kid":"k1","x":"{}"}}"#, "p".repeat(pad));
            let t = tok(&header, r#"{"iss":"x"}"#);
            let p = parse(&t).unwrap();
            assert_eq!(p.kid.as_deref(), Some("k1"), "pad {pad}");
            let bad = header.replace("RS256", "none");
            assert_eq!(
                parse(&tok(&bad, r#"{"iss":"x"}"#)).unwrap_err(),
                ParseError::Algorithm,
                "pad {pad}"
            );
        }
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn tok(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    #[test]
    fn accepts_well_formed() {
        let t = tok(
            r#"{"alg":"RS256","kid":"k1","typ":"at+jwt"}"#,
            r#"{"iss":"x"}"#,
        );
        let p = parse(&t).unwrap();
        assert_eq!(p.alg, Algorithm::RS256);
        assert_eq!(p.kid.as_deref(), Some("k1"));
        assert_eq!(p.signature, "c2ln");
        assert!(t.starts_with(p.message));
    }

    #[test]
    fn shapes() {
        assert_eq!(parse("a.b").unwrap_err(), ParseError::Shape);
        assert_eq!(parse("a.b.c.d").unwrap_err(), ParseError::Shape);
        assert_eq!(parse("a.b.c.d.e").unwrap_err(), ParseError::Encrypted);
        assert_eq!(parse("..").unwrap_err(), ParseError::Shape);
        let t = tok(r#"{"alg":"RS256"}"#, "{}");
        let no_sig = t.rsplit_once('.').unwrap().0.to_string() + ".";
        assert_eq!(parse(&no_sig).unwrap_err(), ParseError::Shape);
        assert_eq!(parse(&format!("{t}=")).unwrap_err(), ParseError::Encoding);
        assert_eq!(
            parse(&t.replacen('.', "+.", 1)).unwrap_err(),
            ParseError::Encoding
        );
    }

    #[test]
    fn none_and_unknown_algs() {
        for alg in ["none", "None", "NONE", "nOnE", "HS1", "rs256"] {
            let t = tok(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            assert_eq!(parse(&t).unwrap_err(), ParseError::Algorithm, "{alg}");
        }
        let t = tok(r#"{"typ":"JWT"}"#, "{}");
        assert_eq!(parse(&t).unwrap_err(), ParseError::Header);
    }

    #[test]
    fn crit_and_duplicates_rejected() {
        let t = tok(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, "{}");
        assert_eq!(parse(&t).unwrap_err(), ParseError::Critical);
        let t = tok(r#"{"alg":"RS256","b64":false}"#, "{}");
        assert_eq!(parse(&t).unwrap_err(), ParseError::Critical);
        let t = tok(r#"{"alg":"RS256","alg":"none"}"#, "{}");
        assert_eq!(parse(&t).unwrap_err(), ParseError::Header);
        let t = tok(r#"{"alg":"RS256"}"#, r#"[1,2]"#);
        assert_eq!(parse(&t).unwrap_err(), ParseError::Payload);
    }

    #[test]
    fn typ_comparison() {
        assert!(typ_matches(Some("at+jwt"), "at+jwt"));
        assert!(typ_matches(Some("application/AT+JWT"), "at+jwt"));
        assert!(!typ_matches(Some("JWT"), "at+jwt"));
        assert!(!typ_matches(None, "at+jwt"));
    }
}
