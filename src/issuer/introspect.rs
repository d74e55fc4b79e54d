//! `POST /oauth/introspect` (RFC 7662): an authenticated client asks
//! whether a token is active. The answer comes from the app's own
//! [`Authenticator`](crate::Authenticator) (signature, issuer, audience,
//! expiry, client status and revocations: exactly what a request would
//! meet), so an introspection never says "active" for a token the API would
//! refuse.
//!
//! Who may ask: a confidential client (public clients cannot authenticate,
//! §2.1). A client may introspect the tokens issued to itself; a client
//! granted the scope `tokens:read` (a resource server) may introspect any.
//! Anything else, and any token that does not verify, is `{"active": false}`
//! (§2.2: no reason is given).

use super::clients::Client;
use super::endpoint::TokenEndpoint;
use super::oauth_error::{OAuthError, json_response};
use crate::scope::{ScopeRules, ScopeSet};
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use std::collections::HashMap;

/// Longest token introspected (longer ones are inactive).
const MAX_TOKEN: usize = 16 * 1024;
/// The scope that lets a client introspect every token.
pub(crate) const INTROSPECT_ANY: &str = "tokens:read";

fn may_introspect_any(client: &Client) -> bool {
    let rules = ScopeRules::default();
    let granted = ScopeSet::parse_delimited(&client.scopes, &rules);
    ScopeSet::parse_delimited(INTROSPECT_ANY, &rules)
        .iter()
        .all(|s| granted.iter().any(|g| g.as_str() == s.as_str()))
}

fn inactive() -> Response<Bytes> {
    json_response(StatusCode::OK, &serde_json::json!({"active": false}))
}

impl TokenEndpoint {
    /// `POST /oauth/introspect` (RFC 7662); 404 unless
    /// [`with_introspection`](super::TokenEndpointSettings::with_introspection).
    pub async fn introspect(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let Some(auth) = &self.settings.introspection else {
            return OAuthError::new(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "introspection is not enabled",
            )
            .into_http();
        };
        let result: Result<(Client, HashMap<String, String>), OAuthError> = async {
            super::endpoint::require_form(headers)?;
            let mut params = super::endpoint::form_params(body)?;
            let client = self
                .authenticate_confidential(headers, &mut params, addr)
                .await?;
            Ok((client, params))
        }
        .await;
        let (client, params) = match result {
            Ok(v) => v,
            Err(e) => return e.into_http(),
        };
        let Some(token) = params.get("token").filter(|t| !t.is_empty()) else {
            return OAuthError::invalid_request("token is required").into_http();
        };
        if token.len() > MAX_TOKEN {
            return inactive();
        }
        let ctx = match auth.verify_access_token(token).await {
            Ok(ctx) => ctx,
            Err(e) if e.kind() == crate::AuthErrorKind::Unavailable => {
                return OAuthError::unavailable("the issuer's keys are unavailable").into_http();
            }
            Err(_) => return inactive(),
        };
        if !may_introspect_any(&client) && ctx.client_id() != Some(client.id.as_str()) {
            return inactive();
        }
        let claims = ctx.raw_claims();
        let mut out = serde_json::Map::new();
        out.insert("active".into(), true.into());
        let scope: Vec<&str> = ctx.scopes().iter().map(|s| s.as_str()).collect();
        out.insert("scope".into(), scope.join(" ").into());
        out.insert(
            "token_type".into(),
            if claims.contains_key("cnf") {
                "DPoP"
            } else {
                "Bearer"
            }
            .into(),
        );
        for name in [
            "client_id",
            "sub",
            "aud",
            "iss",
            "exp",
            "iat",
            "nbf",
            "jti",
            "cnf",
            "customer_id",
            "account_id",
        ] {
            if let Some(v) = claims.get(name) {
                out.insert(name.into(), v.clone());
            }
        }
        json_response(StatusCode::OK, &serde_json::Value::Object(out))
    }
}
