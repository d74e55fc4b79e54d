//! `GET /login` (a new pending login, 302 to the authorization server) and
//! `GET /callback` (pending login checked and spent, code exchanged, tokens
//! verified, session created).

use super::cookies;
use super::error::error_code;
use super::flow::{LoginFlow, token_error};
use super::pending::{PENDING_TTL, PendingLogin};
use super::response::redirect;
use super::vault::StoredTokens;
use super::{LoginError, random_token};
use crate::session::{NewSession, SessionId, now_ms};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse as _,
};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Largest callback query string read.
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// What the callback's query carries.
#[derive(Default)]
struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

impl CallbackParams {
    fn parse(query: &str) -> Result<Self, LoginError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(LoginError::Malformed("the query is too large"));
        }
        let mut p = Self::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*k {
                "state" => &mut p.state,
                "code" => &mut p.code,
                "error" => &mut p.error,
                "iss" => &mut p.iss,
                _ => continue,
            };
            // RFC 6749 §3.1: parameters must not be repeated.
            if slot.replace(v.into_owned()).is_some() {
                return Err(LoginError::Malformed("a parameter is repeated"));
            }
        }
        Ok(p)
    }
}

impl LoginFlow {
    /// `GET /login`: remembers a new pending login and answers 302 to the
    /// authorization server.
    pub async fn login(&self, _request: &http::request::Parts) -> Response<Bytes> {
        match self.try_login().await {
            Ok(r) => r,
            Err(e) => self.failure(&e, Vec::new()),
        }
    }

    async fn try_login(&self) -> Result<Response<Bytes>, LoginError> {
        let inner = &*self.inner;
        let id = random_token()?;
        let state = random_token()?;
        let nonce = random_token()?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let st = state.clone();
        let (url, _) = inner
            .oauth
            .authorize_url(move || CsrfToken::new(st))
            .add_scopes(inner.config.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.clone())
            .url();
        let login = PendingLogin {
            state,
            pkce_verifier: verifier.into_secret(),
            nonce,
            created_at_ms: now_ms(),
        };
        inner.pending.put(&id, &login, PENDING_TTL).await?;
        let cookie = cookies::set(&inner.pending_cookie, &id, PENDING_TTL, inner.secure)?;
        Ok(redirect(StatusCode::FOUND, url.as_str(), vec![cookie]))
    }

    /// `GET /callback`: checks the pending login, exchanges the code,
    /// verifies the tokens, creates the session and answers 303 to the
    /// landing path with the session cookie; or a small error page.
    pub async fn callback(&self, request: &http::request::Parts) -> Response<Bytes> {
        let inner = &*self.inner;
        let mut set = Vec::new();
        if let Ok(c) = cookies::clear(&inner.pending_cookie, inner.secure) {
            set.push(c);
        }
        match self.try_callback(request).await {
            Ok(session_cookie) => {
                set.push(session_cookie);
                redirect(StatusCode::SEE_OTHER, &inner.config.landing_path, set)
            }
            Err(e) => {
                tracing::info!(error = %e, "tollgate: login callback refused");
                self.failure(&e, set)
            }
        }
    }

    async fn try_callback(
        &self,
        request: &http::request::Parts,
    ) -> Result<HeaderValue, LoginError> {
        let inner = &*self.inner;
        let params = CallbackParams::parse(request.uri.query().unwrap_or(""))?;
        let id = cookies::read(&request.headers, &inner.pending_cookie)?
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .ok_or(LoginError::NoPendingLogin)?;
        let pending = inner
            .pending
            .take(&id)
            .await?
            .ok_or(LoginError::NoPendingLogin)?;
        let state_ok = params
            .state
            .as_deref()
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
        if !state_ok {
            return Err(LoginError::StateMismatch);
        }
        if let (Some(expected), Some(got)) = (&inner.config.issuer, &params.iss)
            && expected != got
        {
            return Err(LoginError::IssuerMismatch);
        }
        if let Some(error) = &params.error {
            return Err(LoginError::Denied(error_code(error)));
        }
        let code = params
            .code
            .filter(|c| !c.is_empty())
            .ok_or(LoginError::Malformed("the callback carries no code"))?;
        let response = inner
            .oauth
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&inner.http)
            .await
            .map_err(token_error)?;
        let verified = self.verify_response(&response, None).await?;
        if let Some(id_token) = &response.extra_fields().id_token {
            self.check_id_token(id_token, &pending.nonce, &verified.customer)
                .await?;
        } else if inner.config.scopes.iter().any(|s| s == "openid") {
            return Err(LoginError::IdTokenRefused(
                "openid was requested but no ID token came back",
            ));
        }
        let mut new = NewSession::for_customer(
            verified.account.clone(),
            verified.customer.clone(),
            verified.scopes.clone(),
        );
        new.client_id = Some(inner.config.client_id.clone());
        new.ttl = inner.config.session_lifetime;
        let record = inner.sessions.create(new).await?;
        let tokens = StoredTokens {
            access_token: response.access_token().secret().clone(),
            access_expires_at_ms: verified.expires_at_ms,
            refresh_token: response.refresh_token().map(|r| r.secret().clone()),
            customer: verified.customer,
        };
        if let Err(e) = inner
            .vault
            .put(&record.id, &tokens, inner.config.session_lifetime)
            .await
        {
            let _ = inner.sessions.remove(&record.id).await;
            return Err(e.into());
        }
        // A session this browser already had is replaced, not left behind.
        let previous = cookies::read(&request.headers, &inner.session_cookie)
            .ok()
            .flatten()
            .and_then(|s| SessionId::parse(&s));
        if let Some(previous) = previous {
            let _ = self.end_and_revoke(&previous).await; // logged inside
        }
        let max_age = Duration::from_millis(record.expires_at_ms.saturating_sub(now_ms()))
            .min(crate::session::MAX_COOKIE_AGE);
        cookies::set(
            &inner.session_cookie,
            record.id.as_str(),
            max_age,
            inner.secure,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_params_refuse_repeats_and_size() {
        assert!(CallbackParams::parse("state=a&state=b").is_err());
        assert!(CallbackParams::parse(&"a".repeat(MAX_QUERY_BYTES + 1)).is_err());
        let p = CallbackParams::parse("state=s&code=c&x=1").unwrap();
        assert_eq!(p.state.as_deref(), Some("s"));
        assert_eq!(p.code.as_deref(), Some("c"));
    }
}
