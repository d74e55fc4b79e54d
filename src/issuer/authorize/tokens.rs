//! The token endpoint's `authorization_code` (RFC 6749 §4.1.3) and
//! `refresh_token` (§6, rotating, RFC 9700 §4.14) grants, and RFC 7009
//! revocation of refresh tokens. The client is already authenticated (or
//! is a public client that named itself).

use super::super::clients::Client;
use super::super::grants::{Family, GrantStoreError, Redeemed, Rotation, grants_now};
use super::super::mint::{IdGrant, UserGrant};
use super::super::oauth_error::{OAuthError, json_response};
use super::super::pkce;
use super::CodeFlow;
use super::request::narrow_scope;
use bytes::Bytes;
use http::{Response, StatusCode};
use std::collections::HashMap;

/// Longest accepted code, verifier or refresh token.
const MAX_PARAM: usize = 512;

fn param<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
) -> Result<Option<&'a str>, OAuthError> {
    match params.get(name).map(String::as_str) {
        Some(v) if v.len() > MAX_PARAM => {
            Err(OAuthError::invalid_request("a parameter is too long"))
        }
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

/// What an ID token carries beyond the family: from the authorization request.
#[derive(Clone, Copy)]
struct IdToken<'a> {
    nonce: Option<&'a str>,
    auth_time: u64,
}

fn unavailable(_: GrantStoreError) -> OAuthError {
    OAuthError::unavailable("the grant store is unavailable; try again")
}

/// The access token's scope: the grant without `openid`.
fn api_scope(scope: &str) -> String {
    scope
        .split(' ')
        .filter(|s| !s.is_empty() && *s != "openid")
        .collect::<Vec<_>>()
        .join(" ")
}

impl CodeFlow {
    /// `grant_type=authorization_code`.
    pub(crate) async fn exchange_code(
        &self,
        ep: &super::super::endpoint::TokenEndpoint,
        client: &Client,
        params: &HashMap<String, String>,
        jkt: Option<&str>,
    ) -> Result<Response<Bytes>, OAuthError> {
        let code = param(params, "code")?.ok_or(OAuthError::invalid_request("code is required"))?;
        let redirect_uri = param(params, "redirect_uri")?
            .ok_or(OAuthError::invalid_request("redirect_uri is required"))?;
        let verifier = param(params, "code_verifier")?;
        let (grant, family) = match self.codes.redeem(code).await.map_err(unavailable)? {
            Redeemed::Fresh { grant, family } => (grant, family),
            Redeemed::Replayed { family } => {
                // RFC 6749 §4.1.2: a code used twice revokes what it gave.
                self.revoke_family(&family).await;
                return Err(OAuthError::invalid_grant(
                    "the authorization code was already used",
                ));
            }
            Redeemed::Unknown => {
                return Err(OAuthError::invalid_grant(
                    "the authorization code is invalid or expired",
                ));
            }
        };
        if grant.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if grant.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&grant.code_challenge, verifier) {
            (Some(challenge), Some(v)) if pkce::verifies(challenge, v) => {}
            (Some(_), _) => {
                return Err(OAuthError::invalid_grant(
                    "the code_verifier does not match the code_challenge",
                ));
            }
            // A verifier for a code issued without a challenge: a PKCE
            // downgrade attempt (RFC 9700 §2.1.1).
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "the authorization request had no code_challenge",
                ));
            }
            (None, None) => {}
        }
        // The client's scopes may have shrunk since the login.
        let scope = narrow_scope(
            Some(&grant.scope),
            &client.scopes,
            &self.settings.customer_grant,
        )
        .ok_or(OAuthError::invalid_grant(
            "the client may no longer be granted these scopes",
        ))?;
        let mut record = Family::new(
            family.clone(),
            &grant,
            grants_now(),
            self.settings.refresh_lifetime.as_secs(),
            self.settings.refresh_idle.as_secs(),
        );
        record.scope = scope.clone();
        let refresh_token = match self.refresh.start(&record).await {
            Ok(t) => t,
            Err(GrantStoreError::Revoked) => {
                return Err(OAuthError::invalid_grant(
                    "the authorization code was already used",
                ));
            }
            Err(e) => return Err(unavailable(e)),
        };
        let id_token = IdToken {
            nonce: grant.nonce.as_deref(),
            auth_time: grant.auth_time,
        };
        self.tokens(ep, client, &record, refresh_token, Some(id_token), jkt)
            .await
    }

    /// Mints the access token of `family` for its `scope` (and, with
    /// `id_token` and `openid` in scope, an ID token) and answers.
    async fn tokens(
        &self,
        ep: &super::super::endpoint::TokenEndpoint,
        client: &Client,
        family: &Family,
        refresh_token: String,
        id_token: Option<IdToken<'_>>,
        jkt: Option<&str>,
    ) -> Result<Response<Bytes>, OAuthError> {
        let scope = family.scope.as_str();
        let access_scope = api_scope(scope);
        let minted = ep
            .minter
            .user_token(&UserGrant {
                customer_id: &family.customer_id,
                client_id: &client.id,
                account: &family.account,
                scope: &access_scope,
                lifetime: self.settings.access_lifetime.min(client.lifetime),
                jkt,
            })
            .map_err(|_| OAuthError::unavailable("cannot sign"))?;
        match self
            .refresh
            .record_access_token(&family.id, &minted.jti, minted.expires_at)
            .await
        {
            Ok(()) => {}
            // Revoked meanwhile (a replayed code or reused refresh token).
            Err(GrantStoreError::Revoked | GrantStoreError::UnknownFamily) => {
                return Err(OAuthError::invalid_grant("the grant was revoked"));
            }
            // Without the record a later family revocation could not reach
            // this token: do not hand it out.
            Err(e) => return Err(unavailable(e)),
        }
        let mut body = serde_json::json!({
            "access_token": minted.token,
            "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": minted.expires_in,
            "refresh_token": refresh_token,
            "scope": scope,
        });
        if let Some(id_token) = id_token.filter(|_| scope.split(' ').any(|s| s == "openid")) {
            let id = ep
                .minter
                .id_token(&IdGrant {
                    customer_id: &family.customer_id,
                    client_id: &client.id,
                    nonce: id_token.nonce,
                    auth_time: id_token.auth_time,
                    lifetime: self.settings.id_token_lifetime,
                })
                .map_err(|_| OAuthError::unavailable("cannot sign"))?;
            if let Some(obj) = body.as_object_mut() {
                obj.insert("id_token".into(), id.token.into());
            }
        }
        Ok(json_response(StatusCode::OK, &body))
    }

    /// `grant_type=refresh_token`: rotates the refresh token.
    pub(crate) async fn refresh(
        &self,
        ep: &super::super::endpoint::TokenEndpoint,
        client: &Client,
        params: &HashMap<String, String>,
        jkt: Option<&str>,
    ) -> Result<Response<Bytes>, OAuthError> {
        let presented = param(params, "refresh_token")?
            .ok_or(OAuthError::invalid_request("refresh_token is required"))?;
        let (mut family, refresh_token) = match self
            .refresh
            .rotate(presented, &client.id)
            .await
            .map_err(unavailable)?
        {
            Rotation::Rotated {
                family,
                refresh_token,
            } => (family, refresh_token),
            Rotation::Reused {
                family,
                access_tokens,
            } => {
                self.revoke_access_tokens(access_tokens).await;
                tracing::warn!(family = %family, "tollgate: refresh token reused; the family is revoked");
                return Err(OAuthError::invalid_grant(
                    "the refresh token was already used",
                ));
            }
            Rotation::Invalid => {
                return Err(OAuthError::invalid_grant(
                    "the refresh token is invalid, expired or revoked",
                ));
            }
        };
        // RFC 6749 §6: a narrower scope may be asked, never a wider one.
        let mut scope = narrow_scope(
            Some(&family.scope),
            &client.scopes,
            &self.settings.customer_grant,
        )
        .ok_or(OAuthError::invalid_grant(
            "the client may no longer be granted these scopes",
        ))?;
        if let Some(requested) = param(params, "scope")? {
            let family_scopes: Vec<&str> = family.scope.split(' ').collect();
            if requested
                .split(' ')
                .any(|s| !s.is_empty() && !family_scopes.contains(&s))
            {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a refresh cannot widen the granted scopes",
                ));
            }
            scope = narrow_scope(
                Some(requested),
                &client.scopes,
                &self.settings.customer_grant,
            )
            .ok_or(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "no scope is left",
            ))?;
        }
        // The family keeps its granted scope; this token gets `scope`.
        family.scope = scope;
        self.tokens(ep, client, &family, refresh_token, None, jkt)
            .await
    }

    /// RFC 7009: revokes a refresh token's family (and its access tokens).
    /// Unknown tokens are not an error (§2.2).
    pub(crate) async fn revoke(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<(), OAuthError> {
        let token =
            param(params, "token")?.ok_or(OAuthError::invalid_request("token is required"))?;
        if let Some(family) = self
            .refresh
            .family_of(token, &client.id)
            .await
            .map_err(unavailable)?
        {
            self.revoke_family(&family).await;
        }
        Ok(())
    }
}
