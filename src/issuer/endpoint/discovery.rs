//! The published documents: the JWKS and the discovery metadata (RFC 8414 /
//! OIDC discovery).

use super::TokenEndpoint;
use bytes::Bytes;
use http::{HeaderValue, Response, header};

impl TokenEndpoint {
    /// `GET /.well-known/jwks.json`.
    pub fn jwks(&self) -> Response<Bytes> {
        let body = serde_json::to_vec(&self.minter.ring().jwks()).unwrap_or_default();
        let mut res = Response::new(Bytes::from(body));
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        res
    }

    /// `GET /.well-known/openid-configuration` (RFC 8414 / OIDC discovery).
    pub fn discovery(&self) -> Response<Bytes> {
        let issuer = self.minter.issuer();
        let base = issuer.trim_end_matches('/');
        let mut doc = serde_json::json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/oauth/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
            "dpop_signing_alg_values_supported": crate::dpop::PROOF_ALGORITHMS.split(' ').collect::<Vec<_>>(),
        });
        if let (Some(_), Some(obj)) = (&self.settings.code_flow, doc.as_object_mut()) {
            let alg = self
                .minter
                .ring()
                .active()
                .map(|k| format!("{:?}", k.algorithm()));
            for (k, v) in [
                (
                    "authorization_endpoint",
                    format!("{base}/oauth/authorize").into(),
                ),
                ("revocation_endpoint", format!("{base}/oauth/revoke").into()),
                (
                    "grant_types_supported",
                    serde_json::json!([
                        "client_credentials",
                        "authorization_code",
                        "refresh_token"
                    ]),
                ),
                ("response_types_supported", serde_json::json!(["code"])),
                ("response_modes_supported", serde_json::json!(["query"])),
                (
                    "code_challenge_methods_supported",
                    serde_json::json!(["S256"]),
                ),
                (
                    "token_endpoint_auth_methods_supported",
                    serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
                ),
                (
                    "revocation_endpoint_auth_methods_supported",
                    serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
                ),
                ("subject_types_supported", serde_json::json!(["public"])),
                (
                    "id_token_signing_alg_values_supported",
                    serde_json::json!([alg]),
                ),
                ("scopes_supported", serde_json::json!(["openid"])),
                (
                    "authorization_response_iss_parameter_supported",
                    true.into(),
                ),
            ] {
                obj.insert(k.to_owned(), v);
            }
        }
        if let (Some(_), Some(obj)) = (&self.settings.introspection, doc.as_object_mut()) {
            obj.insert(
                "introspection_endpoint".into(),
                format!("{base}/oauth/introspect").into(),
            );
            obj.insert(
                "introspection_endpoint_auth_methods_supported".into(),
                serde_json::json!(["client_secret_basic", "client_secret_post"]),
            );
        }
        let mut res = Response::new(Bytes::from(doc.to_string()));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}
