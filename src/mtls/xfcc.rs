//! Envoy's `X-Forwarded-Client-Cert`: one element, its `Cert="…"` field or
//! else its `Hash=…` field.

use super::header::{HeaderError, hex_digit, percent_decode, sha256};
use super::pem::pem_der;

/// Splits `s` on `sep` outside double quotes (`\"` inside quotes is kept).
fn split_unquoted(s: &[u8], sep: u8) -> Result<Vec<&[u8]>, HeaderError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            parts.push(s.get(start..i).ok_or(HeaderError::Malformed)?);
            start = i + 1;
        }
    }
    if quoted {
        return Err(HeaderError::Malformed);
    }
    parts.push(s.get(start..).ok_or(HeaderError::Malformed)?);
    Ok(parts)
}

/// Envoy's `x-forwarded-client-cert`: `Hash=<hex>;Cert="<url-encoded PEM>";…`.
pub(super) fn xfcc_thumbprint(value: &[u8]) -> Result<[u8; 32], HeaderError> {
    let elements = split_unquoted(value, b',')?;
    let [element] = elements.as_slice() else {
        return Err(HeaderError::Malformed);
    };
    let mut cert: Option<&[u8]> = None;
    let mut hash: Option<&[u8]> = None;
    for pair in split_unquoted(element, b';')? {
        let pair = pair.trim_ascii();
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            return Err(HeaderError::Malformed);
        };
        let (key, val) = pair.split_at(eq);
        let val = val.get(1..).ok_or(HeaderError::Malformed)?;
        let val = val
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(val);
        let slot = if key.eq_ignore_ascii_case(b"cert") {
            &mut cert
        } else if key.eq_ignore_ascii_case(b"hash") {
            &mut hash
        } else {
            continue;
        };
        if slot.replace(val).is_some() {
            return Err(HeaderError::Malformed);
        }
    }
    match (cert, hash) {
        (Some(cert), _) => pem_der(&percent_decode(cert)?).map(|der| sha256(&der)),
        (None, Some(hash)) => {
            if hash.len() != 64 {
                return Err(HeaderError::Malformed);
            }
            let mut out = [0u8; 32];
            for (slot, pair) in out.iter_mut().zip(hash.chunks_exact(2)) {
                let [hi, lo] = pair else {
                    return Err(HeaderError::Malformed);
                };
                *slot = hex_digit(*hi).ok_or(HeaderError::Malformed)? << 4
                    | hex_digit(*lo).ok_or(HeaderError::Malformed)?;
            }
            Ok(out)
        }
        (None, None) => Err(HeaderError::Malformed),
    }
}
