//! With both backends compiled in (as Cargo feature unification can do to a
//! user), jsonwebtoken panics at first use unless a provider is installed.
//! If something touched jsonwebtoken before tollgate could install one,
//! building the authenticator fails with a clear error instead of the first
//! request panicking. Own process: nothing has installed a provider yet.
#![cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]

#[test]
fn unusable_provider_is_reported_at_build_time() {
    // Another library uses jsonwebtoken first: it gets the panicking stand-in.
    let early = std::panic::catch_unwind(|| {
        let key = jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        jsonwebtoken::crypto::verify("AAAA", b"x", &key, jsonwebtoken::Algorithm::HS256)
    });
    assert!(
        early.is_err(),
        "jsonwebtoken panics without a provider when both backends are on"
    );

    let err = tollgate::Authenticator::builder()
        .issuer(
            tollgate::IssuerConfig::new("https://iss")
                .audience("aud")
                .hmac_secret("backend-test-secret-of-at-least-32-bytes"),
        )
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("install_crypto_backend"), "{err}");
}
