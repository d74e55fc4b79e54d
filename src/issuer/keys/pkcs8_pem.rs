//! The PKCS#8 PEM format of private keys: the DER inside a `PRIVATE KEY`
//! block (with hints for the usual wrong formats), parsed.

use crate::config::ConfigError;
use pkcs8::PrivateKeyInfo;

/// The PEM label of an unencrypted PKCS#8 private key.
pub(super) const PKCS8_LABEL: &str = "PRIVATE KEY";

/// The DER inside a PEM `PRIVATE KEY` block, with a hint for the usual
/// wrong formats.
pub(super) fn pkcs8_der_from_pem(text: &str) -> Result<Vec<u8>, ConfigError> {
    let block = pem::parse(text).map_err(|e| {
        ConfigError::new(format!(
            "not a PEM private key ({e}); expected -----BEGIN {PKCS8_LABEL}-----"
        ))
    })?;
    match block.tag() {
        PKCS8_LABEL => Ok(block.into_contents()),
        tag @ ("RSA PRIVATE KEY" | "EC PRIVATE KEY") => Err(ConfigError::new(format!(
            "the PEM holds a {tag} (PKCS#1/SEC1); tollgate reads PKCS#8 \
             (-----BEGIN {PKCS8_LABEL}-----): convert it with \
             `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.p8.pem`"
        ))),
        "ENCRYPTED PRIVATE KEY" => Err(ConfigError::new(
            "the PEM holds an ENCRYPTED PRIVATE KEY; tollgate reads unencrypted PKCS#8 \
             (decrypt it with `openssl pkcs8 -in key.pem -out key.p8.pem`)",
        )),
        tag => Err(ConfigError::new(format!(
            "the PEM holds a {tag}, not a private key; expected -----BEGIN {PKCS8_LABEL}-----"
        ))),
    }
}

pub(super) fn parse_pkcs8(der: &[u8]) -> Result<PrivateKeyInfo<'_>, ConfigError> {
    PrivateKeyInfo::try_from(der)
        .map_err(|e| ConfigError::new(format!("the private key is not valid PKCS#8 DER: {e}")))
}
