//! One fetch of the key set over HTTP: discovery of `jwks_uri`, the
//! conditional request, the size-capped body, and the response's freshness
//! (HTTP cache semantics).

use super::location::{RemoteLocation, check_url};
use super::{RemoteKeySettings, RemoteKeys};
use crate::jwt::keys::KeySet;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Most bytes read from a JWKS or discovery response.
#[cfg(feature = "remote")]
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Why a fetch did not produce keys.
#[cfg(feature = "remote")]
#[derive(Debug)]
pub(crate) enum FetchError {
    Http(String),
    Status(u16),
    Timeout,
    Garbage(String),
    Empty,
}

#[cfg(feature = "remote")]
impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(e) => write!(f, "request failed: {e}"),
            Self::Status(s) => write!(f, "unexpected HTTP status {s}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Garbage(e) => write!(f, "unusable response: {e}"),
            Self::Empty => f.write_str("no usable keys in the set"),
        }
    }
}

impl RemoteKeySettings {
    /// Freshness of a key-set response (RFC 9111 §4.2.1, as a private
    /// cache): `no-cache`/`no-store` → refetch soon; else `max-age` less the
    /// `Age` the response already spent in caches; else the default; then
    /// clamped to the configured bounds. `s-maxage` is for shared caches and
    /// does not apply here. Parsed by the `headers` crate; an unparsable
    /// `Cache-Control` counts as absent.
    #[cfg(feature = "remote")]
    fn ttl_from(&self, headers: &http::HeaderMap) -> Duration {
        use headers::HeaderMapExt as _;
        let age = headers
            .typed_get::<headers::Age>()
            .map_or(0, |a| a.as_secs());
        let ttl = match headers.typed_get::<headers::CacheControl>() {
            Some(cc) if cc.no_cache() || cc.no_store() => 0,
            Some(cc) => cc
                .max_age()
                .map_or(self.default_ttl_secs, |m| m.as_secs().saturating_sub(age)),
            None => self.default_ttl_secs,
        };
        Duration::from_secs(ttl.clamp(self.min_ttl_secs, self.max_ttl_secs))
    }
}

impl RemoteKeys {
    /// One fetch. `Ok(None)` means 304 Not Modified.
    pub(super) async fn fetch(&self) -> Result<Option<(KeySet, Duration)>, FetchError> {
        let url = self.jwks_url().await?;
        let etag = self.state.lock().ok().and_then(|s| s.etag.clone());
        let mut req = self
            .client
            .get(&url)
            .header(http::header::ACCEPT, "application/json");
        if let (Some(etag), true) = (&etag, self.keys.load().is_some()) {
            req = req.header(http::header::IF_NONE_MATCH, etag.as_str());
        }
        self.fetch_count.fetch_add(1, Ordering::Relaxed);
        let (status, headers, body) = self.send(req).await?;
        let ttl = self.settings.ttl_from(&headers);
        if status == http::StatusCode::NOT_MODIFIED {
            self.schedule(ttl);
            return Ok(None);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let set = KeySet::from_jwks(&body, false).map_err(FetchError::Garbage)?;
        if set.is_empty() {
            return Err(FetchError::Empty);
        }
        let new_etag = headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Ok(mut st) = self.state.lock() {
            st.etag = new_etag;
        }
        Ok(Some((set, ttl)))
    }

    async fn jwks_url(&self) -> Result<String, FetchError> {
        match &self.location {
            RemoteLocation::Jwks(url) => Ok(url.clone()),
            RemoteLocation::Discovery { issuer } => {
                if let Some(uri) = self.state.lock().ok().and_then(|s| s.jwks_uri.clone()) {
                    return Ok(uri);
                }
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let req = self
                    .client
                    .get(&url)
                    .header(http::header::ACCEPT, "application/json");
                let (status, _, body) = self.send(req).await?;
                if !status.is_success() {
                    return Err(FetchError::Status(status.as_u16()));
                }
                #[derive(Deserialize)]
                struct Discovery {
                    issuer: String,
                    jwks_uri: String,
                }
                let doc: Discovery = serde_json::from_slice(&body)
                    .map_err(|e| FetchError::Garbage(format!("discovery document: {e}")))?;
                // OpenID Connect Discovery §4.3: the document must name the
                // issuer it was fetched for.
                if doc.issuer != *issuer {
                    return Err(FetchError::Garbage(
                        "discovery document names a different issuer".into(),
                    ));
                }
                check_url(&doc.jwks_uri, self.settings.allow_insecure_http)
                    .map_err(|e| FetchError::Garbage(format!("jwks_uri: {e}")))?;
                if let Ok(mut st) = self.state.lock() {
                    st.jwks_uri = Some(doc.jwks_uri.clone());
                }
                Ok(doc.jwks_uri)
            }
        }
    }

    /// Sends a request and reads at most [`MAX_DOCUMENT_BYTES`], all within
    /// the fetch timeout.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(http::StatusCode, http::HeaderMap, Vec<u8>), FetchError> {
        let work = async {
            let mut resp = req
                .send()
                .await
                .map_err(|e| FetchError::Http(e.to_string()))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| FetchError::Http(e.to_string()))?
            {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(FetchError::Garbage("document too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, headers, body))
        };
        tokio::time::timeout(self.settings.fetch_timeout(), work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "remote")]
    #[test]
    fn ttl_honours_max_age_and_age_within_bounds() {
        let s = RemoteKeySettings::default();
        let ttl = |pairs: &[(&str, &str)]| {
            let mut h = http::HeaderMap::new();
            for (k, v) in pairs {
                h.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            s.ttl_from(&h)
        };
        let cc = |v: &str| ttl(&[("cache-control", v)]);
        assert_eq!(ttl(&[]), Duration::from_secs(600));
        assert_eq!(cc("public, max-age=3600"), Duration::from_secs(3600));
        assert_eq!(cc("max-age=5"), Duration::from_secs(60));
        assert_eq!(cc("max-age=99999999"), Duration::from_secs(86_400));
        assert_eq!(cc("no-cache"), Duration::from_secs(60));
        assert_eq!(cc("max-age=3600, no-store"), Duration::from_secs(60));
        assert_eq!(cc("max-age=abc"), Duration::from_secs(600));
        // Age already spent in caches counts against max-age.
        assert_eq!(
            ttl(&[("cache-control", "max-age=3600"), ("age", "600")]),
            Duration::from_secs(3000)
        );
        assert_eq!(
            ttl(&[("cache-control", "max-age=3600"), ("age", "7200")]),
            Duration::from_secs(60)
        );
        // s-maxage is for shared caches; a private cache uses max-age.
        assert_eq!(
            cc("max-age=1200, s-maxage=86400"),
            Duration::from_secs(1200)
        );
    }
}
