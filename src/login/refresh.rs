//! [`LoginFlow::access_token`]: the stored upstream access token, refreshed
//! (one refresh per session at a time in this process) and the rotated
//! refresh token stored; a refused refresh ends the session.

use super::LoginError;
use super::flow::{LoginFlow, REFRESH_MARGIN, REFRESH_STRIPES, token_error};
use super::vault::StoredTokens;
use crate::session::{SessionId, now_ms};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, TokenResponse as _};
use std::time::Duration;

impl LoginFlow {
    /// The upstream access token of `session`, refreshed first when it
    /// expires within [`REFRESH_MARGIN`] (the rotated refresh token is
    /// stored). A refused refresh (`invalid_grant`) ends the session:
    /// [`LoginError::SessionEnded`].
    pub async fn access_token(&self, session: &SessionId) -> Result<String, LoginError> {
        let inner = &*self.inner;
        if inner.sessions.get(session).await?.is_none() {
            let _ = inner.vault.take(session).await;
            return Err(LoginError::NoSession);
        }
        let margin = u64::try_from(REFRESH_MARGIN.as_millis()).unwrap_or(0);
        let fresh = |t: &StoredTokens| t.access_expires_at_ms > now_ms().saturating_add(margin);
        let tokens = inner
            .vault
            .get(session)
            .await?
            .ok_or(LoginError::NoSession)?;
        if fresh(&tokens) {
            return Ok(tokens.access_token);
        }
        // One refresh per session at a time (in this process): a rotated
        // refresh token must not be presented twice.
        let _guard = match inner.refresh_locks.get(stripe(session)) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        let tokens = inner
            .vault
            .get(session)
            .await?
            .ok_or(LoginError::NoSession)?;
        if fresh(&tokens) {
            return Ok(tokens.access_token);
        }
        let Some(refresh) = tokens.refresh_token.clone() else {
            self.end_session(session).await;
            return Err(LoginError::SessionEnded);
        };
        let refresh = RefreshToken::new(refresh);
        let answer = inner
            .oauth
            .exchange_refresh_token(&refresh)
            .request_async(&inner.http)
            .await;
        let response = match answer {
            Ok(r) => r,
            Err(RequestTokenError::ServerResponse(e))
                if *e.error() == BasicErrorResponseType::InvalidGrant =>
            {
                tracing::info!("tollgate: refresh token refused; ending the session");
                self.end_session(session).await;
                return Err(LoginError::SessionEnded);
            }
            Err(e) => return Err(token_error(e)),
        };
        let verified = match self
            .verify_response(&response, Some(&tokens.customer))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.end_session(session).await;
                return Err(e);
            }
        };
        let record = inner
            .sessions
            .get(session)
            .await?
            .ok_or(LoginError::NoSession)?;
        let ttl = Duration::from_millis(record.deadline_ms().saturating_sub(now_ms()));
        let updated = StoredTokens {
            access_token: response.access_token().secret().clone(),
            access_expires_at_ms: verified.expires_at_ms,
            refresh_token: response
                .refresh_token()
                .map(|r| r.secret().clone())
                .or(tokens.refresh_token),
            customer: tokens.customer,
        };
        inner.vault.put(session, &updated, ttl).await?;
        Ok(updated.access_token)
    }

    pub(super) async fn end_session(&self, session: &SessionId) {
        let _ = self.inner.vault.take(session).await;
        if let Err(e) = self.inner.sessions.remove(session).await {
            tracing::warn!(error = %e, "tollgate: ending a login session failed");
        }
    }
}

fn stripe(session: &SessionId) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    session.as_str().hash(&mut h);
    usize::try_from(h.finish() % REFRESH_STRIPES as u64).unwrap_or(0)
}
