//! Property tests: arbitrary header bytes and token strings never panic and
//! never authenticate.

mod common;

use common::*;
use proptest::prelude::*;
use tollgate::{AuthErrorKind, Authenticator};

fn auth() -> Authenticator {
    all_keys_auth()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_authorization_bytes_never_authenticate(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let auth = auth();
        let rt = runtime();
        if let Ok(value) = http::HeaderValue::from_bytes(&bytes) {
            let mut headers = http::HeaderMap::new();
            headers.insert("authorization", value);
            let result = rt.block_on(auth.authenticate(&headers));
            match result {
                Ok(None) => {}
                Ok(Some(ctx)) => prop_assert!(false, "authenticated: {ctx:?}"),
                Err(e) => prop_assert!(matches!(
                    e.kind(),
                    AuthErrorKind::InvalidRequest | AuthErrorKind::InvalidToken | AuthErrorKind::Missing
                ), "{e:?}"),
            }
        }
    }

    #[test]
    fn arbitrary_token_strings_never_authenticate(token in "[A-Za-z0-9_.~+/=-]{0,300}") {
        let auth = auth();
        let rt = runtime();
        let result = rt.block_on(auth.verify_access_token(&token));
        prop_assert!(result.is_err());
        prop_assert_eq!(result.unwrap_err().status(), 401);
    }

    #[test]
    fn jwt_shaped_garbage_never_authenticates(
        header in proptest::collection::vec(any::<u8>(), 0..120),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
        sig in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let auth = auth();
        let rt = runtime();
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&sig));
        prop_assert!(rt.block_on(auth.verify_access_token(&token)).is_err());
    }

    #[test]
    fn valid_header_and_claims_with_random_signature_never_authenticate(
        alg in prop::sample::select(vec!["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA", "none"]),
        kid in prop::option::of("[a-z0-9]{0,8}"),
        sig in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let auth = auth();
        let rt = runtime();
        let mut header = serde_json::json!({"alg": alg});
        if let Some(k) = kid { header["kid"] = k.into(); }
        let token = format!("{}.{}.{}", b64(header.to_string()), b64(claims().to_string()), b64(&sig));
        prop_assert!(rt.block_on(auth.verify_access_token(&token)).is_err());
    }
}
