//! [`ConfigError`]: a configuration mistake, with its kind.

use std::fmt;

/// A configuration mistake, reported when the authenticator is built.
///
/// [`kind`](Self::kind) says what sort of mistake it is; the message
/// (`Display`) says exactly what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tollgate configuration: {msg}")]
pub struct ConfigError {
    kind: ConfigErrorKind,
    msg: String,
}

/// What sort of mistake a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// No issuer is configured, or an issuer lacks what it needs (its
    /// `issuer`, an audience, a key source).
    NoIssuer,
    /// A key (PEM, JWK, JWKS, secret) cannot be used.
    InvalidKey,
    /// An algorithm name is unknown, or an algorithm does not fit its key.
    InvalidAlgorithm,
    /// A claim name is empty or otherwise unusable.
    InvalidClaimName,
    /// A header name is not a valid HTTP header name.
    InvalidHeaderName,
    /// A URL is unparsable or not allowed (plain `http`, another scheme).
    InvalidUrl,
    /// The configuration asks for something a Cargo feature that is off
    /// provides (a JWKS URL without `remote`, for example).
    FeatureMissing,
    /// Any other invalid setting.
    Invalid,
}

impl ConfigError {
    /// A mistake of kind [`ConfigErrorKind::Invalid`].
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self::with_kind(ConfigErrorKind::Invalid, msg)
    }

    pub(crate) fn with_kind(kind: ConfigErrorKind, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
        }
    }

    /// `what` needs the Cargo feature `feature`, which is off.
    #[cfg_attr(feature = "remote", allow(dead_code))]
    pub(crate) fn feature_missing(what: impl fmt::Display, feature: &str) -> Self {
        Self::with_kind(
            ConfigErrorKind::FeatureMissing,
            format!("{what} needs the `{feature}` feature"),
        )
    }

    /// What sort of mistake this is.
    #[must_use]
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}
