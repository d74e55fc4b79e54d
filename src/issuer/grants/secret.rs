//! The secret of a code or a refresh token: 32 random bytes, base64url,
//! stored only as its SHA-256 digest.

use super::GrantStoreError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;

/// Length of the secret half of a refresh token: base64url of 32 bytes.
pub(super) const SECRET_LEN: usize = 43;

/// 32 random bytes, base64url (43 chars).
pub(crate) fn random_secret() -> Result<String, GrantStoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| GrantStoreError::Rng)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of `s`.
pub(crate) fn digest(s: &str) -> [u8; 32] {
    sha2::Sha256::digest(s.as_bytes()).into()
}

/// Whether `s` is 43 canonical base64url chars of 32 bytes.
pub(super) fn is_secret(s: &str) -> bool {
    if s.len() != SECRET_LEN {
        return false;
    }
    let mut bytes = [0u8; 32];
    matches!(URL_SAFE_NO_PAD.decode_slice(s, &mut bytes), Ok(32))
}
