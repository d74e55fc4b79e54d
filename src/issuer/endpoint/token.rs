//! `POST /oauth/token`: the grant dispatch (client credentials here; the
//! authorization-code and refresh grants in the code flow), with the
//! token request's DPoP proof.

use super::form::{form_params, require_form};
use super::{PublicClients, TokenEndpoint};
use crate::issuer::clients::Client;
use crate::issuer::mint::AccessGrant;
use crate::issuer::oauth_error::{OAuthError, json_response};
use crate::scope::{ScopeRules, ScopeSet};
use crate::telemetry;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use std::collections::HashMap;

impl TokenEndpoint {
    /// `POST /oauth/token`.
    pub async fn token(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let timer = telemetry::Timer::start();
        let mut grant = "other";
        let result = self.issue_token(headers, body, addr, &mut grant).await;
        timer.stop(telemetry::Timed::TokenEndpoint);
        telemetry::token_endpoint(grant, result.as_ref().map_or_else(|e| e.code, |_| "ok"));
        match result {
            Ok(res) => res,
            Err(e) => e.into_http(),
        }
    }
}

impl TokenEndpoint {
    async fn issue_token(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
        grant_label: &mut &'static str,
    ) -> Result<Response<Bytes>, OAuthError> {
        require_form(headers)?;
        let mut params = form_params(body)?;
        // The grant is checked before the client, so that an unsupported
        // grant costs no secret check.
        let grant = match params.get("grant_type").map(String::as_str) {
            None => return Err(OAuthError::invalid_request("grant_type is required")),
            Some(g @ ("client_credentials" | "authorization_code" | "refresh_token")) => {
                *grant_label = match g {
                    "client_credentials" => "client_credentials",
                    "authorization_code" => "authorization_code",
                    _ => "refresh_token",
                };
                g.to_owned()
            }
            Some(_) => return Err(unsupported_grant()),
        };
        let flow = match (grant.as_str(), &self.settings.code_flow) {
            ("client_credentials", _) => None,
            (_, Some(flow)) => Some(flow),
            (_, None) => return Err(unsupported_grant()),
        };
        let public = if flow.is_some() {
            PublicClients::Allowed
        } else {
            PublicClients::Refused
        };
        let client = self
            .authenticate_client(headers, &mut params, addr, public)
            .await?;
        let jkt = self.dpop_proof(headers).await?;
        let jkt = jkt.as_deref();
        match (grant.as_str(), flow) {
            ("authorization_code", Some(flow)) => {
                flow.exchange_code(self, &client, &params, jkt).await
            }
            ("refresh_token", Some(flow)) => flow.refresh(self, &client, &params, jkt).await,
            _ => self.client_credentials(&client, &params, jkt),
        }
    }

    /// RFC 9449 §5: a `DPoP` proof sent to the token endpoint (method POST,
    /// `htu` the token endpoint under the issuer URL, no `ath`) binds the
    /// token to its key. `Ok(None)` without a proof; an invalid or replayed
    /// proof is `400 invalid_dpop_proof`.
    async fn dpop_proof(&self, headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
        use crate::dpop::proof::{self, ProofError, ProofTarget};
        let bad = |e: ProofError| OAuthError::invalid_dpop_proof(e.description());
        let Some(raw) = proof::proof_header(headers).map_err(bad)? else {
            return Ok(None);
        };
        let base = self.minter.issuer().trim_end_matches('/');
        let htu = crate::dpop::normalize_htu(&format!("{base}/oauth/token"))
            .ok_or(bad(ProofError::UnknownUri))?;
        let target = ProofTarget {
            method: "POST",
            htu: &htu,
            access_token: None,
        };
        let window = self.settings.dpop_iat_window;
        let verified = proof::verify(
            raw,
            &target,
            window.as_secs(),
            crate::dpop::DEFAULT_MAX_PROOF_BYTES,
            crate::jwt::now_secs(),
        )
        .map_err(bad)?;
        match self
            .settings
            .dpop_replay
            .insert(verified.replay, window.saturating_mul(2))
            .await
        {
            Ok(true) => Ok(Some(verified.jkt)),
            Ok(false) => Err(bad(ProofError::Replayed)),
            Err(_) => Err(OAuthError::unavailable(
                "the DPoP replay cache is unavailable",
            )),
        }
    }

    fn client_credentials(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
        jkt: Option<&str>,
    ) -> Result<Response<Bytes>, OAuthError> {
        let rules = ScopeRules::default();
        let allowed = ScopeSet::parse_delimited(&client.scopes, &rules);
        let granted = match params.get("scope") {
            None => allowed,
            Some(requested) => {
                let requested = ScopeSet::parse_delimited(requested, &rules);
                let narrowed = requested.intersection(&allowed, &rules);
                if narrowed.is_empty() {
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "none of the requested scopes is allowed for this client",
                    ));
                }
                narrowed
            }
        };
        let scope = granted
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let minted = self
            .minter
            .access_token(&AccessGrant {
                client_id: &client.id,
                account: &client.account,
                scope: &scope,
                lifetime: client.lifetime,
                jkt,
            })
            .map_err(|_| OAuthError::unavailable("cannot sign"))?;
        let body = serde_json::json!({
            "access_token": minted.token,
            "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": minted.expires_in,
            "scope": scope,
        });
        Ok(json_response(StatusCode::OK, &body))
    }
}

fn unsupported_grant() -> OAuthError {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "this grant type is not supported",
    )
}
