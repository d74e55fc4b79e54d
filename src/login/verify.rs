//! Checking what the token endpoint returned: the access token through the
//! app's own authenticator (a customer, an account, this client), and the
//! ID token's `nonce` and `sub` (signature, `iss`, `aud`, `exp` too when an
//! ID-token issuer is configured).

use super::LoginError;
use super::flow::{LoginFlow, TokenResponse};
use crate::context::AuthContext;
use crate::session::now_ms;
use oauth2::TokenResponse as _;
use oauth2::basic::BasicTokenType;
use subtle::ConstantTimeEq;

/// Largest ID token decoded without a verifier.
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// A verified login: what the session is created from.
pub(super) struct Verified {
    pub(super) account: String,
    pub(super) customer: String,
    pub(super) scopes: String,
    pub(super) expires_at_ms: u64,
}

impl LoginFlow {
    /// Verifies a token response's access token with the app's
    /// authenticator; on refresh, it must name `same_customer`.
    pub(super) async fn verify_response(
        &self,
        response: &TokenResponse,
        same_customer: Option<&str>,
    ) -> Result<Verified, LoginError> {
        let inner = &*self.inner;
        if *response.token_type() != BasicTokenType::Bearer {
            return Err(LoginError::NotACustomer("the token type is not Bearer"));
        }
        let ctx = inner
            .authenticator
            .verify_access_token(response.access_token().secret())
            .await
            .map_err(LoginError::TokenRefused)?;
        let customer = customer_of(&ctx).ok_or(LoginError::NotACustomer("no customer claim"))?;
        if same_customer.is_some_and(|c| c != customer) {
            return Err(LoginError::NotACustomer(
                "the refreshed token names another customer",
            ));
        }
        if ctx.client_id().is_some_and(|c| c != inner.config.client_id) {
            return Err(LoginError::NotACustomer(
                "the token was issued to another client",
            ));
        }
        let account = ctx
            .account()
            .ok_or(LoginError::NotACustomer("no account claim"))?
            .to_owned();
        let scopes = match ctx.raw_claims().get("scope") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => response
                .scopes()
                .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        };
        let now = now_ms();
        let expires_at_ms = match (ctx.expires_at(), response.expires_in()) {
            (Some(exp), _) => exp.saturating_mul(1000),
            (None, Some(d)) => now.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            (None, None) => now.saturating_add(300_000),
        };
        Ok(Verified {
            account,
            customer: customer.to_owned(),
            scopes,
            expires_at_ms,
        })
    }

    /// The ID token's `nonce` must equal the pending login's and its `sub`
    /// the customer; with an ID-token issuer configured, its signature,
    /// `iss`, `aud` (= client id) and `exp` are verified by the engine first.
    pub(super) async fn check_id_token(
        &self,
        id_token: &str,
        nonce: &str,
        customer: &str,
    ) -> Result<(), LoginError> {
        let inner = &*self.inner;
        let claims = match &inner.id_tokens {
            Some(verifier) => verifier
                .verify_access_token(id_token)
                .await
                .map_err(|_| LoginError::IdTokenRefused("the ID token does not verify"))?
                .raw_claims()
                .clone(),
            None => unverified_claims(id_token)
                .ok_or(LoginError::IdTokenRefused("the ID token is malformed"))?,
        };
        let got = claims.get("nonce").and_then(|v| v.as_str()).unwrap_or("");
        if !bool::from(got.as_bytes().ct_eq(nonce.as_bytes())) {
            return Err(LoginError::IdTokenRefused("the nonce does not match"));
        }
        if claims.get("sub").and_then(|v| v.as_str()) != Some(customer) {
            return Err(LoginError::IdTokenRefused("the subject does not match"));
        }
        if inner.id_tokens.is_none() {
            let aud_ok = match claims.get("aud") {
                Some(serde_json::Value::String(a)) => *a == inner.config.client_id,
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .any(|v| v.as_str() == Some(&inner.config.client_id)),
                _ => false,
            };
            if !aud_ok {
                return Err(LoginError::IdTokenRefused(
                    "the audience is not this client",
                ));
            }
            if let Some(iss) = &inner.config.issuer
                && claims.get("iss").and_then(|v| v.as_str()) != Some(iss)
            {
                return Err(LoginError::IdTokenRefused("the issuer does not match"));
            }
            let exp = claims.get("exp").and_then(|v| v.as_f64()).unwrap_or(0.0);
            if exp * 1000.0 <= now_ms() as f64 {
                return Err(LoginError::IdTokenRefused("the ID token has expired"));
            }
        }
        Ok(())
    }
}

/// The customer of a verified access token: the context's customer, else
/// the `customer_id` claim, else `sub` when it is not the client itself.
fn customer_of(ctx: &AuthContext) -> Option<&str> {
    if let Some(c) = ctx.customer() {
        return Some(c);
    }
    let claims = ctx.raw_claims();
    if let Some(c) = claims.get("customer_id").and_then(|v| v.as_str()) {
        return (!c.is_empty()).then_some(c);
    }
    let sub = ctx.subject()?;
    (Some(sub) != ctx.client_id()).then_some(sub)
}

/// The payload of a compact JWS, not verified.
fn unverified_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine as _;
    if jwt.len() > MAX_ID_TOKEN_BYTES {
        return None;
    }
    let mut parts = jwt.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_claims_parse_only_three_parts() {
        use base64::Engine as _;
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"nonce":"n"}"#);
        let jwt = format!("h.{p}.s");
        assert_eq!(unverified_claims(&jwt).unwrap().get("nonce").unwrap(), "n");
        assert!(unverified_claims(&format!("{jwt}.x")).is_none());
        assert!(unverified_claims("a.b").is_none());
    }
}
