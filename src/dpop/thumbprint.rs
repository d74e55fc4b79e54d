//! RFC 7638 JWK thumbprints (SHA-256), the `jkt` a DPoP-bound token names.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded
/// without padding.
///
/// Only the members RFC 7638 §3.2 requires for the key type take part, in
/// lexicographic order (`EC`: `crv`, `kty`, `x`, `y`; `RSA`: `e`, `kty`,
/// `n`; `OKP`: `crv`, `kty`, `x`). `None` for another key type or a missing
/// or non-string member.
///
/// ```
/// let jwk = serde_json::json!({
///     "kty": "OKP", "crv": "Ed25519",
///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
/// });
/// assert_eq!(
///     tollgate::dpop::jwk_thumbprint(&jwk).as_deref(),
///     Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"),
/// );
/// ```
pub fn jwk_thumbprint(jwk: &serde_json::Value) -> Option<String> {
    let obj = jwk.as_object()?;
    let members: &[&str] = match obj.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::with_capacity(160);
    canonical.push('{');
    for (i, name) in members.iter().enumerate() {
        let value = obj.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        // serde_json escapes exactly as RFC 7638 §3.3 (RFC 7159 strings).
        canonical.push_str(&serde_json::to_string(name).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// base64url(SHA-256(`token`)): the `ath` claim of a proof (RFC 9449 §4.2).
pub(crate) fn token_hash(token: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn unknown_or_incomplete_keys() {
        assert!(jwk_thumbprint(&serde_json::json!({"kty":"oct","k":"AA"})).is_none());
        assert!(jwk_thumbprint(&serde_json::json!({"kty":"EC","crv":"P-256","x":"AA"})).is_none());
        assert!(jwk_thumbprint(&serde_json::json!("x")).is_none());
    }
}
