//! Client authentication (RFC 6749 §2.3): Basic or form credentials, public
//! clients, and the throttling of failures per (client id, address) and per
//! address.

use super::{PublicClients, TokenEndpoint};
use crate::issuer::clients::Client;
use crate::issuer::oauth_error::OAuthError;
use crate::issuer::throttle::{ThrottleRule, throttle_key};
use crate::telemetry;
use http::{HeaderMap, StatusCode, header};
use std::collections::HashMap;

impl TokenEndpoint {
    /// Authenticates a confidential client (a public one cannot: 401).
    pub(crate) async fn authenticate_confidential(
        &self,
        headers: &HeaderMap,
        params: &mut HashMap<String, String>,
        addr: &[u8; 16],
    ) -> Result<Client, OAuthError> {
        match self
            .authenticate_client(headers, params, addr, PublicClients::Refused)
            .await
        {
            Err(e) if e.code == "unauthorized_client" => Err(OAuthError::invalid_client(
                "client authentication is required",
            )),
            other => other,
        }
    }

    /// Authenticates the client (RFC 6749 §2.3): Basic or form credentials,
    /// or, when `public` allows it, a public client's bare `client_id`.
    /// Failures are throttled per (client id, address) and per address.
    pub(super) async fn authenticate_client(
        &self,
        headers: &HeaderMap,
        params: &mut HashMap<String, String>,
        addr: &[u8; 16],
        public: PublicClients,
    ) -> Result<Client, OAuthError> {
        let basic = basic_credentials(headers)?;
        let post_id = params.remove("client_id");
        let post_secret = params.remove("client_secret");
        let (client_id, secret) = match (basic, post_id, post_secret) {
            (Some(_), _, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            (Some((id, secret)), post_id, None) => {
                if post_id.is_some_and(|p| p != id) {
                    return Err(OAuthError::invalid_request(
                        "client_id does not match the credentials",
                    ));
                }
                (id, Some(secret))
            }
            (None, Some(id), secret) => (id, secret),
            (None, None, _) => {
                return Err(OAuthError::invalid_client(
                    "client authentication is required",
                ));
            }
        };
        let settings = &self.settings;
        let pair_rule = ThrottleRule::new(settings.max_failures, settings.failure_window);
        let addr_rule =
            ThrottleRule::new(settings.max_failures_per_address, settings.failure_window);
        let pair_key = throttle_key(&[b"token", client_id.as_bytes(), addr]);
        let addr_key = throttle_key(&[b"token-addr", addr]);
        let limited = match settings.throttle.check(&pair_key, pair_rule).await {
            Some(after) => Some(after),
            None => settings.throttle.check(&addr_key, addr_rule).await,
        };
        if let Some(after) = limited {
            telemetry::throttled("client_auth");
            return Err(OAuthError::throttled(after));
        }
        let lookup = self.clients.get(&client_id);
        let ok = match (&lookup, &secret) {
            // A public client has no secret to check; one that sends a
            // secret anyway is refused (it is not what was registered).
            (Some(c), None) => c.is_public() && public == PublicClients::Allowed,
            // A keyed digest (about a microsecond): the same work for unknown ids.
            (Some(c), Some(secret)) => c.verify_secret(secret),
            (None, secret) => {
                if let Some(d) = &self.dummy {
                    let _ = d.verify(secret.as_deref().unwrap_or("").as_bytes(), None);
                }
                false
            }
        };
        let client = match lookup {
            Some(c) if ok => c,
            Some(c) if c.is_public() && secret.is_none() => {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "a public client may not use this grant",
                ));
            }
            _ => {
                settings.throttle.fail(&pair_key, pair_rule).await;
                settings.throttle.fail(&addr_key, addr_rule).await;
                return Err(OAuthError::invalid_client("unknown client or wrong secret"));
            }
        };
        let active = client.active
            && settings
                .client_status
                .as_ref()
                .is_none_or(|st| st.is_active(&client.id));
        if !active {
            return Err(OAuthError::invalid_client("the client is deactivated"));
        }
        Ok(client)
    }
}

/// `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    // The same RFC 7617 decoding the engine uses for tills.
    let (id, secret) = crate::basic::decode(value.as_bytes())
        .ok_or_else(|| OAuthError::invalid_client("use Basic client authentication"))?;
    // Each part is form-encoded (`+` is a space, `%XX` a byte): decode it
    // whole. A raw `&` or `=` is not part of that encoding; it is refused
    // rather than cutting the value short.
    let unescape = |s: &str| -> Result<String, OAuthError> {
        if s.contains(['&', '=']) {
            return Err(OAuthError::invalid_client(
                "client credentials must be form-encoded",
            ));
        }
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|v| v.into_owned())
            .map_err(|_| OAuthError::invalid_client("client credentials must be UTF-8"))
    };
    Ok(Some((unescape(&id)?, unescape(&secret)?)))
}
