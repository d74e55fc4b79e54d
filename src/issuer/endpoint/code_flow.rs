//! The entry points that exist only with a code flow: `GET /oauth/authorize`,
//! its login and consent posts, and RFC 7009 revocation (404 without one).

use super::form::{form_params, require_form};
use super::{PublicClients, TokenEndpoint};
use crate::issuer::oauth_error::{OAuthError, json_response};
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};

impl TokenEndpoint {
    /// `GET /oauth/authorize` (the query string without `?`): the login
    /// page, or an error page or redirect; 404 without a code flow.
    pub fn authorize(&self, query: Option<&str>) -> Response<Bytes> {
        match &self.settings.code_flow {
            Some(flow) => flow.authorize(self, query),
            None => not_found(),
        }
    }

    /// `POST /oauth/authorize/login` (the login form, at most the code
    /// flow's `max_request_bytes`); 404 without a code flow.
    pub async fn authorize_login(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        match &self.settings.code_flow {
            Some(flow) => flow.login(self, headers, body, addr).await,
            None => not_found(),
        }
    }

    /// `POST /oauth/authorize/consent`; 404 without a code flow.
    pub async fn authorize_consent(&self, headers: &HeaderMap, body: &[u8]) -> Response<Bytes> {
        match &self.settings.code_flow {
            Some(flow) => flow.consent(self, headers, body).await,
            None => not_found(),
        }
    }

    /// The most a code-flow form may hold (the adapters' body limit for
    /// the login and consent posts).
    pub fn max_form_bytes(&self) -> usize {
        self.settings
            .code_flow
            .as_ref()
            .map_or(self.settings.max_body_bytes, |f| {
                f.settings.max_request_bytes
            })
    }

    /// `POST /oauth/revoke` (RFC 7009); 404 without a code flow.
    pub async fn revoke(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let result = async {
            let Some(flow) = &self.settings.code_flow else {
                return Err(OAuthError::new(
                    StatusCode::NOT_FOUND,
                    "invalid_request",
                    "revocation is not enabled",
                ));
            };
            require_form(headers)?;
            let mut params = form_params(body)?;
            let client = self
                .authenticate_client(headers, &mut params, addr, PublicClients::Allowed)
                .await?;
            flow.revoke(&client, &params).await
        }
        .await;
        match result {
            Ok(()) => json_response(StatusCode::OK, &serde_json::json!({})),
            Err(e) => e.into_http(),
        }
    }
}

fn not_found() -> Response<Bytes> {
    let mut res = Response::new(Bytes::new());
    *res.status_mut() = StatusCode::NOT_FOUND;
    res
}
