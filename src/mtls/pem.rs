//! One PEM `CERTIFICATE` block to DER, and the minimal DER check every
//! decoded certificate passes.

use super::header::HeaderError;
use base64::Engine as _;

const PEM_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END: &[u8] = b"-----END CERTIFICATE-----";

/// The DER of exactly one PEM `CERTIFICATE` block (whitespace around and
/// inside the base64 body is ignored).
pub(super) fn pem_der(pem: &[u8]) -> Result<Vec<u8>, HeaderError> {
    let body = pem
        .trim_ascii()
        .strip_prefix(PEM_BEGIN)
        .and_then(|b| b.strip_suffix(PEM_END))
        .ok_or(HeaderError::Malformed)?;
    let b64: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| HeaderError::Malformed)?;
    check_der(&der)?;
    Ok(der)
}

/// A DER `SEQUENCE` whose length covers exactly the input: enough to refuse
/// garbage, not a certificate parser.
pub(super) fn check_der(der: &[u8]) -> Result<(), HeaderError> {
    let (&tag, rest) = der.split_first().ok_or(HeaderError::Malformed)?;
    let (&first, rest) = rest.split_first().ok_or(HeaderError::Malformed)?;
    if tag != 0x30 {
        return Err(HeaderError::Malformed);
    }
    let (len, content) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(HeaderError::Malformed);
        }
        let (bytes, content) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, content)
    };
    if len == content.len() {
        Ok(())
    } else {
        Err(HeaderError::Malformed)
    }
}
