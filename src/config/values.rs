//! Small typed values of the configuration: the crypto backend, a secret
//! (never printed or serialized in clear), the expired status.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which `jsonwebtoken` crypto backend verifies signatures.
///
/// It is installed explicitly when the authenticator is built, so a build
/// where Cargo feature unification enabled both (or neither) backend fails
/// there with a clear error instead of panicking at the first request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CryptoBackend {
    /// aws-lc-rs (feature `aws_lc_rs`, default): about 9× faster RS256 here.
    #[default]
    AwsLcRs,
    /// RustCrypto (feature `rust_crypto`): pure Rust.
    RustCrypto,
}

/// A secret whose bytes never appear in `Debug` output or in serialized
/// configuration: it serializes as [`Secret::REDACTED`], and loading that
/// marker back is refused, so a dumped configuration can never be reloaded
/// with a placeholder silently standing in for the real secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// What a secret serializes as.
    pub const REDACTED: &'static str = "<redacted>";
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Self::REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == Self::REDACTED {
            return Err(serde::de::Error::custom(
                "a redacted secret cannot be loaded: supply the real secret",
            ));
        }
        Ok(Self(s))
    }
}

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(******)")
    }
}

/// The status for expired tokens: 401 (RFC 6750, the default) or 498, which
/// some platforms' clients expect. Nothing else is legal, so nothing else can
/// be configured. Serialized as the number; a file saying anything but 401
/// or 498 is refused when it is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiredStatus {
    /// 401 with `error="invalid_token"` (RFC 6750 §3.1).
    #[default]
    Status401,
    /// 498 ("token expired/invalid", used by some commerce platforms).
    Status498,
}

impl ExpiredStatus {
    /// The HTTP status.
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::Status401 => http::StatusCode::UNAUTHORIZED,
            Self::Status498 => {
                http::StatusCode::from_u16(498).unwrap_or(http::StatusCode::UNAUTHORIZED)
            }
        }
    }
}

impl TryFrom<u16> for ExpiredStatus {
    type Error = ConfigError;
    fn try_from(code: u16) -> Result<Self, ConfigError> {
        match code {
            401 => Ok(Self::Status401),
            498 => Ok(Self::Status498),
            other => Err(ConfigError::new(format!(
                "expired_status must be 401 or 498, not {other}"
            ))),
        }
    }
}

impl Serialize for ExpiredStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.status().as_u16())
    }
}

impl<'de> Deserialize<'de> for ExpiredStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = u16::deserialize(d)?;
        Self::try_from(code).map_err(serde::de::Error::custom)
    }
}
