//! Minting access tokens and customer tokens with the key ring's active key.

use super::keys::KeyRing;
use crate::config::ConfigError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `typ` header of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The claim and value marking customer tokens (the verifier's default
/// [`TokenMarker`](crate::config::TokenMarker)).
pub const CUSTOMER_MARKER: (&str, &str) = ("token_use", "customer");

/// Signs tokens for one issuer and audience.
#[derive(Clone, Debug)]
pub struct Minter {
    issuer: String,
    audience: String,
    ring: KeyRing,
}

/// A minted token.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Minted {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// The token id (`jti`).
    pub jti: String,
}

/// What an access token says.
#[derive(Clone, Debug)]
pub struct AccessGrant<'a> {
    /// The client (`client_id`, also `sub`).
    pub client_id: &'a str,
    /// The account (`account_id`).
    pub account: &'a str,
    /// Granted scopes, space-delimited.
    pub scope: &'a str,
    /// Lifetime.
    pub lifetime: Duration,
    /// The RFC 7638 thumbprint of the client's DPoP key: the token is then
    /// DPoP-bound (`cnf: {"jkt": …}`, RFC 9449 §6).
    pub jkt: Option<&'a str>,
}

/// What a customer token says.
#[derive(Clone, Debug)]
pub struct CustomerGrant<'a> {
    /// The customer (`customer_id`, also `sub`).
    pub customer_id: &'a str,
    /// The app it was minted for (`client_id`).
    pub client_id: &'a str,
    /// The account (`account_id`).
    pub account: &'a str,
    /// The customer grant, space-delimited.
    pub scope: &'a str,
    /// Lifetime.
    pub lifetime: Duration,
}

/// What an access token issued through a customer's login says (a "user
/// token": RFC 9068 with `sub` = the customer).
#[derive(Clone, Debug)]
pub struct UserGrant<'a> {
    /// The customer (`sub` and `customer_id`).
    pub customer_id: &'a str,
    /// The client the customer authorized (`client_id`).
    pub client_id: &'a str,
    /// The account (`account_id`).
    pub account: &'a str,
    /// What the customer consented to, within the client's scopes.
    pub scope: &'a str,
    /// Lifetime.
    pub lifetime: Duration,
    /// The RFC 7638 thumbprint of the client's DPoP key: the token is then
    /// DPoP-bound (`cnf: {"jkt": …}`, RFC 9449 §6).
    pub jkt: Option<&'a str>,
}

/// What an OpenID Connect ID token says.
#[derive(Clone, Debug)]
pub struct IdGrant<'a> {
    /// The customer (`sub`).
    pub customer_id: &'a str,
    /// The client (`aud` and `azp`).
    pub client_id: &'a str,
    /// The `nonce` of the authorization request, if any.
    pub nonce: Option<&'a str>,
    /// When the customer logged in (`auth_time`, seconds since the epoch).
    pub auth_time: u64,
    /// Lifetime.
    pub lifetime: Duration,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Adds `cnf: {"jkt": …}` (RFC 9449 §6.1) when the token is DPoP-bound.
fn with_cnf(mut claims: serde_json::Value, jkt: Option<&str>) -> serde_json::Value {
    if let (Some(jkt), Some(obj)) = (jkt, claims.as_object_mut()) {
        obj.insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
    }
    claims
}

fn jti() -> Result<String, ConfigError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ConfigError::new(format!("OS RNG failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

impl Minter {
    /// A minter for `issuer` and `audience`, signing with `ring`'s active key.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, ring: KeyRing) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            ring,
        }
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience (`aud`).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key ring.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    fn sign(
        &self,
        typ: Option<&str>,
        mut claims: serde_json::Value,
        lifetime: Duration,
    ) -> Result<Minted, ConfigError> {
        let key = self
            .ring
            .active()
            .ok_or_else(|| ConfigError::new("the key ring has no active key"))?;
        let iat = now();
        let expires_in = lifetime.as_secs().max(1);
        let jti = jti()?;
        if let Some(obj) = claims.as_object_mut() {
            obj.insert("iss".into(), self.issuer.clone().into());
            // An ID token brings its own audience (the client).
            obj.entry("aud")
                .or_insert_with(|| self.audience.clone().into());
            obj.insert("iat".into(), iat.into());
            obj.insert("exp".into(), (iat + expires_in).into());
            obj.insert("jti".into(), jti.clone().into());
        }
        let mut header = Header::new(key.algorithm());
        header.kid = Some(key.kid().to_owned());
        header.typ = typ.map(str::to_owned);
        let token = jsonwebtoken::encode(&header, &claims, key.encoding_key())
            .map_err(|e| ConfigError::new(format!("signing failed: {e}")))?;
        Ok(Minted {
            token,
            expires_in,
            expires_at: iat + expires_in,
            jti,
        })
    }

    /// An access token (`typ: at+jwt`), DPoP-bound when the grant names a
    /// key thumbprint.
    pub fn access_token(&self, grant: &AccessGrant<'_>) -> Result<Minted, ConfigError> {
        self.sign(
            Some(ACCESS_TOKEN_TYP),
            with_cnf(
                serde_json::json!({
                    "sub": grant.client_id,
                    "client_id": grant.client_id,
                    "account_id": grant.account,
                    "scope": grant.scope,
                }),
                grant.jkt,
            ),
            grant.lifetime,
        )
    }

    /// An access token issued to `client_id` on behalf of a customer
    /// (`typ: at+jwt`, `sub` = the customer): the verifier's context names
    /// both, and is customer-scoped.
    pub fn user_token(&self, grant: &UserGrant<'_>) -> Result<Minted, ConfigError> {
        self.sign(
            Some(ACCESS_TOKEN_TYP),
            with_cnf(
                serde_json::json!({
                    "sub": grant.customer_id,
                    "customer_id": grant.customer_id,
                    "client_id": grant.client_id,
                    "account_id": grant.account,
                    "scope": grant.scope,
                }),
                grant.jkt,
            ),
            grant.lifetime,
        )
    }

    /// An OpenID Connect ID token (`aud` = the client, never the API's
    /// audience, so it cannot pass as an access token).
    pub fn id_token(&self, grant: &IdGrant<'_>) -> Result<Minted, ConfigError> {
        let mut claims = serde_json::json!({
            "sub": grant.customer_id,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "auth_time": grant.auth_time,
        });
        if let (Some(nonce), Some(obj)) = (grant.nonce, claims.as_object_mut()) {
            obj.insert("nonce".into(), nonce.into());
        }
        self.sign(Some("JWT"), claims, grant.lifetime)
    }

    /// A customer token, marked `token_use: "customer"`.
    pub fn customer_token(&self, grant: &CustomerGrant<'_>) -> Result<Minted, ConfigError> {
        let (marker, value) = CUSTOMER_MARKER;
        self.sign(
            None,
            serde_json::json!({
                "sub": grant.customer_id,
                "customer_id": grant.customer_id,
                "client_id": grant.client_id,
                "account_id": grant.account,
                "scope": grant.scope,
                marker: value,
            }),
            grant.lifetime,
        )
    }
}
