//! `POST /logout`, and ending a session with its upstream tokens revoked
//! (RFC 7009, best effort, bounded).

use super::flow::LoginFlow;
use super::response::{page, redirect};
use super::vault::StoredTokens;
use super::{LoginError, cookies};
use crate::session::SessionId;
use bytes::Bytes;
use http::{Response, StatusCode, header};
use oauth2::{RefreshToken, StandardRevocableToken};

impl LoginFlow {
    /// `POST /logout`: revokes the refresh token upstream (best effort,
    /// bounded by the revoke timeout), deletes the stored tokens and the
    /// session, clears the cookie and answers 303 to `/`. A cross-origin
    /// `Origin` header is refused (403).
    pub async fn logout(&self, request: &http::request::Parts) -> Response<Bytes> {
        let inner = &*self.inner;
        if let Some(origin) = request.headers.get(header::ORIGIN)
            && origin.as_bytes() != inner.origin.as_bytes()
        {
            return page(
                StatusCode::FORBIDDEN,
                "Logout refused",
                "This logout request did not come from this site.",
                Vec::new(),
            );
        }
        let mut set = Vec::new();
        if let Ok(c) = cookies::clear(&inner.session_cookie, inner.secure) {
            set.push(c);
        }
        let sid = cookies::read(&request.headers, &inner.session_cookie)
            .ok()
            .flatten()
            .and_then(|s| SessionId::parse(&s));
        if let Some(sid) = sid
            && let Err(e) = self.end_and_revoke(&sid).await
        {
            return self.failure(&LoginError::Store(e), set);
        }
        redirect(StatusCode::SEE_OTHER, "/", set)
    }

    /// Revokes the session's refresh token upstream (bounded), then deletes
    /// its tokens and the session.
    pub(super) async fn end_and_revoke(
        &self,
        sid: &SessionId,
    ) -> Result<(), crate::session::StoreError> {
        let inner = &*self.inner;
        match inner.vault.take(sid).await {
            Ok(Some(tokens)) => self.revoke(tokens).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "tollgate: token vault unavailable at logout"),
        }
        inner.sessions.remove(sid).await.map(|_| ()).map_err(|e| {
            tracing::warn!(error = %e, "tollgate: removing a session failed");
            e
        })
    }

    async fn revoke(&self, tokens: StoredTokens) {
        let inner = &*self.inner;
        let token = match tokens.refresh_token {
            Some(r) => StandardRevocableToken::RefreshToken(RefreshToken::new(r)),
            None => {
                StandardRevocableToken::AccessToken(oauth2::AccessToken::new(tokens.access_token))
            }
        };
        let Some(url) = inner.oauth.revocation_url() else {
            return; // no revocation endpoint configured
        };
        let ok = if url.url().scheme() == "https" {
            let Ok(request) = inner.oauth.revoke_token(token) else {
                return;
            };
            let call = request.request_async(&inner.http);
            tokio::time::timeout(inner.config.revoke_timeout, call)
                .await
                .map(|r| r.is_ok())
        } else {
            // oauth2 refuses plain-http revocation URLs; these are loopback
            // only (checked at build), so development and tests post the
            // RFC 7009 form directly.
            let call = self.revoke_loopback(url.url().as_str(), token);
            tokio::time::timeout(inner.config.revoke_timeout, call).await
        };
        match ok {
            Ok(true) => {}
            Ok(false) => tracing::warn!("tollgate: token revocation failed at logout"),
            Err(_) => tracing::warn!("tollgate: token revocation timed out at logout"),
        }
    }

    /// RFC 7009 §2.1 by hand, with client authentication as oauth2 does it
    /// (HTTP Basic over form-encoded id and secret; public clients send
    /// `client_id`).
    async fn revoke_loopback(&self, url: &str, token: StandardRevocableToken) -> bool {
        use base64::Engine as _;
        use oauth2::RevocableToken as _;
        let inner = &*self.inner;
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let public = inner.config.client_secret.is_none();
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", token.secret());
            if let Some(hint) = token.type_hint() {
                form.append_pair("token_type_hint", hint);
            }
            if public {
                form.append_pair("client_id", &inner.config.client_id);
            }
            form.finish()
        };
        let mut req = inner
            .http
            .0
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(secret) = &inner.config.client_secret {
            let creds = format!(
                "{}:{}",
                enc(&inner.config.client_id),
                enc(&String::from_utf8_lossy(secret.as_bytes()))
            );
            let b64 = base64::engine::general_purpose::STANDARD.encode(creds);
            req = req.header(header::AUTHORIZATION, format!("Basic {b64}"));
        }
        req.body(body)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}
