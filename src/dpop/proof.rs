//! Parsing and verifying one DPoP proof JWT (RFC 9449 §4.2–4.3).
//!
//! The checks, each refusing with `invalid_dpop_proof`: the proof fits the
//! size cap; it is a compact JWS (the crate's strict parser: no `crit`, no
//! `none`) with `typ: dpop+jwt` and an asymmetric `alg`; its `jwk` header is
//! a public signature key (no private member, parsed by the crate's JWK
//! rules) that verifies the signature; `jti` is a string of at most 256
//! bytes; `htm` and `htu` name this request; `iat` is within the window;
//! `ath` hashes the presented access token. Replay (the `jti`) and the
//! token's `cnf.jkt` are checked by the caller, which knows the token and
//! the cache.

use super::replay::ReplayKey;
use super::thumbprint::{jwk_thumbprint, token_hash};
use crate::jwt::{jwk, token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;

/// Default cap on a proof's size: 8 KiB.
pub const DEFAULT_MAX_PROOF_BYTES: usize = 8 * 1024;

/// The algorithms a proof may use, as advertised in `WWW-Authenticate:
/// DPoP algs="…"` (asymmetric only: never `none` or HMAC).
pub const PROOF_ALGORITHMS: &str = "ES256 ES384 EdDSA RS256 RS384 RS512 PS256 PS384 PS512";

/// Members of a JWK that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const MAX_JTI_BYTES: usize = 256;

/// Why a proof was refused. Each maps to `invalid_dpop_proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProofError {
    Missing,
    Duplicate,
    TooLarge,
    Malformed,
    Type,
    Algorithm,
    Key,
    PrivateKey,
    Signature,
    Jti,
    Method,
    Uri,
    UnknownUri,
    IssuedAt,
    TokenHash,
    Replayed,
    KeyMismatch,
}

impl ProofError {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Missing => "the DPoP proof is missing",
            Self::Duplicate => "more than one DPoP header",
            Self::TooLarge => "the DPoP proof exceeds the size limit",
            Self::Malformed => "the DPoP proof is not a well-formed JWS",
            Self::Type => "the DPoP proof typ is not dpop+jwt",
            Self::Algorithm => "the DPoP proof algorithm is not accepted",
            Self::Key => "the DPoP proof jwk is not an acceptable public key",
            Self::PrivateKey => "the DPoP proof jwk contains private key material",
            Self::Signature => "the DPoP proof signature is invalid",
            Self::Jti => "the DPoP proof jti is missing or malformed",
            Self::Method => "the DPoP proof htm does not match the request method",
            Self::Uri => "the DPoP proof htu does not match the request URI",
            Self::UnknownUri => "the request URI cannot be determined",
            Self::IssuedAt => "the DPoP proof iat is outside the accepted window",
            Self::TokenHash => "the DPoP proof ath does not match the access token",
            Self::Replayed => "the DPoP proof was already used",
            Self::KeyMismatch => "the DPoP proof key does not match the token binding",
        }
    }
}

/// What a proof must name.
pub(crate) struct ProofTarget<'a> {
    /// The request method (`htm`).
    pub(crate) method: &'a str,
    /// The normalised request URI (`htu`), see [`super::htu`].
    pub(crate) htu: &'a str,
    /// The access token presented with the proof (`ath`), if any.
    pub(crate) access_token: Option<&'a [u8]>,
}

/// A proof that passed every check but replay.
#[derive(Debug)]
pub(crate) struct VerifiedProof {
    /// The proof key's RFC 7638 thumbprint.
    pub(crate) jkt: String,
    /// The proof's identity in the replay cache.
    pub(crate) replay: ReplayKey,
}

fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Verifies the `DPoP` header value `raw` for `target` at `now` (seconds),
/// accepting `iat` within `window_secs` either side.
pub(crate) fn verify(
    raw: &[u8],
    target: &ProofTarget<'_>,
    window_secs: u64,
    max_bytes: usize,
    now: f64,
) -> Result<VerifiedProof, ProofError> {
    if raw.len() > max_bytes {
        return Err(ProofError::TooLarge);
    }
    let raw = std::str::from_utf8(raw)
        .map_err(|_| ProofError::Malformed)?
        .trim_matches([' ', '\t']);
    let tok = token::parse(raw).map_err(|e| match e {
        token::ParseError::Algorithm => ProofError::Algorithm,
        _ => ProofError::Malformed,
    })?;
    if !is_asymmetric(tok.alg) {
        return Err(ProofError::Algorithm);
    }
    if !tok
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(ProofError::Type);
    }
    // The parser ignores `jwk`; read it from the (already validated) header.
    let header_b64 = raw.split('.').next().ok_or(ProofError::Malformed)?;
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(ProofError::Malformed)?;
    let jwk_value = header
        .get("jwk")
        .filter(|v| v.is_object())
        .ok_or(ProofError::Key)?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk_value.get(m).is_some()) {
        return Err(ProofError::PrivateKey);
    }
    let key = jwk::parse_jwk(jwk_value.clone(), false).map_err(|_| ProofError::Key)?;
    if !key.algs.contains(tok.alg) {
        return Err(ProofError::Algorithm);
    }
    if !key.verify(tok.alg, tok.message.as_bytes(), tok.signature) {
        return Err(ProofError::Signature);
    }
    let jkt = jwk_thumbprint(jwk_value).ok_or(ProofError::Key)?;

    let claims = tok.claims.map();
    let jti = match claims.get("jti") {
        Some(serde_json::Value::String(j)) if !j.is_empty() && j.len() <= MAX_JTI_BYTES => j,
        _ => return Err(ProofError::Jti),
    };
    if claims.get("htm").and_then(|v| v.as_str()) != Some(target.method) {
        return Err(ProofError::Method);
    }
    let htu = claims
        .get("htu")
        .and_then(|v| v.as_str())
        .and_then(super::htu::normalize)
        .ok_or(ProofError::Uri)?;
    if htu != target.htu {
        return Err(ProofError::Uri);
    }
    let iat = match claims.get("iat") {
        Some(serde_json::Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()),
        _ => None,
    }
    .ok_or(ProofError::IssuedAt)?;
    let window = window_secs as f64;
    if iat < now - window || iat > now + window {
        return Err(ProofError::IssuedAt);
    }
    if let Some(token) = target.access_token {
        let want = token_hash(token);
        let ok = claims
            .get("ath")
            .and_then(|v| v.as_str())
            .is_some_and(|ath| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    ath.as_bytes(),
                    want.as_bytes(),
                ))
            });
        if !ok {
            return Err(ProofError::TokenHash);
        }
    }
    Ok(VerifiedProof {
        replay: ReplayKey::new(&jkt, jti),
        jkt,
    })
}

/// The single `DPoP` header of a request: `Ok(None)` when absent, `Err` when
/// repeated (RFC 9449 §4.3 check 1).
pub(crate) fn proof_header<R: crate::credentials::RequestParts + ?Sized>(
    req: &R,
) -> Result<Option<&[u8]>, ProofError> {
    crate::credentials::unique_header(req, "dpop").map_err(|_| ProofError::Duplicate)
}

/// Whether two thumbprints are equal, in constant time.
pub(crate) fn same_jkt(a: &str, b: &str) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()))
}
