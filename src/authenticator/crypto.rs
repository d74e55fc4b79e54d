//! The crypto backend: installing `jsonwebtoken`'s process-wide provider
//! and probing whether an already installed one can verify.

use crate::config::{ConfigError, CryptoBackend};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Installs `backend` as `jsonwebtoken`'s process-wide crypto provider.
///
/// Called by [`Authenticator::from_config`](super::Authenticator::from_config); call it yourself before using
/// `jsonwebtoken` directly (e.g. to mint tokens) in a process that enables
/// both backends. Fails if the backend is not compiled in or a different
/// provider is already installed.
// With neither backend feature every arm of the first `match` returns.
#[cfg_attr(
    not(any(feature = "aws_lc_rs", feature = "rust_crypto")),
    allow(unreachable_code, unused_variables)
)]
pub fn install_crypto_backend(backend: CryptoBackend) -> Result<(), ConfigError> {
    use jsonwebtoken::crypto::CryptoProvider;
    let provider: &'static CryptoProvider = match backend {
        #[cfg(feature = "aws_lc_rs")]
        CryptoBackend::AwsLcRs => &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
        #[cfg(feature = "rust_crypto")]
        CryptoBackend::RustCrypto => &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
        #[allow(unreachable_patterns)]
        other => {
            return Err(ConfigError::with_kind(
                crate::config::ConfigErrorKind::FeatureMissing,
                format!(
                    "crypto backend {other:?} is not compiled in: enable tollgate's `{}` feature",
                    match other {
                        CryptoBackend::AwsLcRs => "aws_lc_rs",
                        CryptoBackend::RustCrypto => "rust_crypto",
                    }
                ),
            ));
        }
    };
    if let Some(installed) = INSTALLED_BACKEND.get() {
        return if *installed == backend {
            Ok(())
        } else {
            Err(ConfigError::new(format!(
                "crypto backend {installed:?} is already installed in this process (wanted \
                 {backend:?}); jsonwebtoken allows one per process"
            )))
        };
    }
    match provider.install_default() {
        Ok(()) => {
            let _ = INSTALLED_BACKEND.set(backend);
            Ok(())
        }
        // Something used or installed jsonwebtoken's provider before us. With
        // exactly one backend compiled in that is a working provider; with
        // both or neither (Cargo feature unification), jsonwebtoken installed
        // a stand-in that panics on first use. Find out now, not per request.
        Err(_) if provider_verifies() => Ok(()),
        Err(_) => Err(ConfigError::new(
            "jsonwebtoken's process-wide crypto provider was initialised before tollgate could \
             choose one, and it cannot verify (both or neither of its `aws_lc_rs` and \
             `rust_crypto` features are enabled): call tollgate::install_crypto_backend() \
             before any other use of jsonwebtoken",
        )),
    }
}

/// The backend tollgate installed, if it did.
static INSTALLED_BACKEND: std::sync::OnceLock<CryptoBackend> = std::sync::OnceLock::new();

/// Whether the installed provider can verify at all (the stand-in panics).
fn provider_verifies() -> bool {
    let probe = || {
        let key = DecodingKey::from_secret(b"tollgate-provider-probe");
        jsonwebtoken::crypto::verify("AAAA", b"probe", &key, Algorithm::HS256)
    };
    std::panic::catch_unwind(probe).is_ok()
}
