//! A trusted issuer: [`IssuerConfig`] and where its keys come from
//! ([`KeySource`]).

use super::Secret;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

/// Where an issuer's verification keys come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum KeySource {
    /// A shared HMAC secret (`HS256` unless `algorithm` says otherwise).
    /// RFC 7518 §3.2 requires at least as many bytes as the hash output;
    /// shorter secrets are refused unless `allow_short` is set.
    HmacSecret {
        /// The secret.
        secret: Secret,
        /// `HS256`, `HS384` or `HS512`.
        #[serde(default)]
        algorithm: Option<Algorithm>,
        /// Accept a secret shorter than RFC 7518 requires (demo use only).
        #[serde(default)]
        allow_short: bool,
    },
    /// A PEM public key bound to one algorithm.
    PublicKeyPem {
        /// The PEM text (`PUBLIC KEY` or `RSA PUBLIC KEY`).
        pem: String,
        /// The algorithm this key verifies.
        algorithm: Algorithm,
        /// Optional key id; tokens with another `kid` do not use this key.
        #[serde(default)]
        kid: Option<String>,
    },
    /// A DER public key (base64, standard alphabet) bound to one algorithm:
    /// PKCS#1 for RSA, the uncompressed point for EC, the raw 32 bytes for Ed25519.
    PublicKeyDer {
        /// The DER bytes, base64-encoded.
        der_base64: String,
        /// The algorithm this key verifies.
        algorithm: Algorithm,
        /// Optional key id.
        #[serde(default)]
        kid: Option<String>,
    },
    /// An inline JWKS document.
    Jwks {
        /// The document (`{"keys": [...]}`).
        jwks: serde_json::Value,
    },
    /// A remote JWKS URL, cached and refreshed.
    JwksUrl {
        /// The URL.
        url: String,
    },
    /// OIDC discovery from the issuer URL.
    Discovery,
}

/// One trusted issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted audiences; a token's `aud` must contain one.
    pub audiences: Vec<String>,
    /// Key sources (static sources and at most one remote source).
    pub keys: Vec<KeySource>,
    /// Algorithm allow-list; defaults to what the keys allow. In a file,
    /// the JOSE names (`["RS256", "ES256"]`); an unknown name is refused
    /// when the configuration is read.
    #[serde(default)]
    pub algorithms: Option<Vec<Algorithm>>,
    /// Required `typ` header (e.g. `at+jwt`, RFC 9068).
    #[serde(default)]
    pub typ: Option<String>,
    /// Clock-skew leeway for `exp` and `nbf`, in seconds (default 60, at
    /// most [`MAX_LEEWAY_SECS`]).
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

/// The largest clock-skew leeway an issuer can be configured with, in
/// seconds (5 minutes). Revocation lists keep a revoked `jti` this long
/// past the token's `exp`, since a verifier accepts the token that long.
pub const MAX_LEEWAY_SECS: u64 = 300;

fn default_leeway() -> u64 {
    60
}

impl IssuerConfig {
    /// A new issuer with no audience and no keys yet.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: Vec::new(),
            keys: Vec::new(),
            algorithms: None,
            typ: None,
            leeway_secs: default_leeway(),
        }
    }

    /// Adds an accepted audience.
    #[must_use]
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Adds a key source.
    #[must_use]
    pub fn key(mut self, source: KeySource) -> Self {
        self.keys.push(source);
        self
    }

    /// Adds an HS256 secret.
    #[must_use]
    pub fn hmac_secret(self, secret: impl Into<String>) -> Self {
        self.key(KeySource::HmacSecret {
            secret: Secret::new(secret),
            algorithm: None,
            allow_short: false,
        })
    }

    /// Adds a PEM public key for `algorithm` (e.g. [`Algorithm::RS256`]).
    #[must_use]
    pub fn public_key_pem(self, pem: impl Into<String>, algorithm: Algorithm) -> Self {
        self.key(KeySource::PublicKeyPem {
            pem: pem.into(),
            algorithm,
            kid: None,
        })
    }

    /// Adds an inline JWKS document.
    #[must_use]
    pub fn jwks(self, jwks: serde_json::Value) -> Self {
        self.key(KeySource::Jwks { jwks })
    }

    /// Adds a remote JWKS URL.
    #[must_use]
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.key(KeySource::JwksUrl { url: url.into() })
    }

    /// Discovers the JWKS URL from `<issuer>/.well-known/openid-configuration`.
    #[must_use]
    pub fn discovery(self) -> Self {
        self.key(KeySource::Discovery)
    }

    /// Restricts the accepted algorithms.
    #[must_use]
    pub fn algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algs.into_iter().collect());
        self
    }

    /// Requires this `typ` header.
    #[must_use]
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets the clock-skew leeway.
    #[must_use]
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.leeway_secs = secs;
        self
    }
}
