//! oauth2's asynchronous HTTP client, over the crate's reqwest 0.13: no
//! redirects followed, a timeout on every call, response bodies capped.

use super::LoginError;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Largest token-endpoint response read (bytes).
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A reqwest client that never follows redirects.
pub(crate) fn build(timeout: Duration) -> Result<reqwest::Client, LoginError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|_| LoginError::Config("the HTTP client could not be built".into()))
}

/// Reads at most `cap` bytes of a body; a longer body is an error.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, HttpError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(HttpError("the response is too large"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| HttpError("reading the response failed"))?
    {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(HttpError("the response is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure, described without URL, header or body.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpError(pub(crate) &'static str);

/// Plugs reqwest 0.13 into oauth2 5.
#[derive(Debug, Clone)]
pub(crate) struct OAuthHttp(pub(crate) reqwest::Client);

type Call = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send>>;

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpError;
    type Future = Call;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let mut req = client.request(parts.method, url).body(body);
            for (name, value) in &parts.headers {
                req = req.header(name, value);
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    HttpError("the request timed out")
                } else {
                    HttpError("the request failed")
                }
            })?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = read_capped(resp, MAX_RESPONSE_BYTES).await?;
            let mut out = http::Response::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}
