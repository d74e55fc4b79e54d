//! The jsonwebtoken crypto backend is selected when the authenticator is
//! built, failing there with a clear error, never panicking at verify time.
//! Runs in its own process, so nothing else has installed a provider yet.

use tollgate::{Authenticator, CryptoBackend, IssuerConfig};

const SECRET: &str = "backend-test-secret-of-at-least-32-bytes";

fn build(backend: CryptoBackend) -> Result<Authenticator, tollgate::ConfigError> {
    Authenticator::builder()
        .issuer(
            IssuerConfig::new("https://iss")
                .audience("aud")
                .hmac_secret(SECRET),
        )
        .crypto_backend(backend)
        .build()
}

#[tokio::test]
async fn backend_is_chosen_at_build_time_with_clear_errors() {
    if !cfg!(feature = "rust_crypto") {
        let err = build(CryptoBackend::RustCrypto).unwrap_err().to_string();
        assert!(
            err.contains("not compiled in") && err.contains("rust_crypto"),
            "{err}"
        );
    }
    // With one or both backends compiled in (feature unification), building
    // installs the chosen one explicitly, so verification cannot panic.
    let auth = build(CryptoBackend::AwsLcRs).unwrap();
    let claims = serde_json::json!({"iss": "https://iss", "aud": "aud", "exp": 4_000_000_000u64});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert!(auth.verify_access_token(&token).await.is_ok());
    // Building again with the same backend is fine.
    build(CryptoBackend::AwsLcRs).unwrap();
    if cfg!(feature = "rust_crypto") {
        let err = build(CryptoBackend::RustCrypto).unwrap_err().to_string();
        assert!(err.contains("already installed"), "{err}");
    }
}
