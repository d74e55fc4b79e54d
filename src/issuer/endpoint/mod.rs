//! The OAuth 2.0 token endpoint (RFC 6749 §4.4 client credentials; with a
//! [`CodeFlow`](super::CodeFlow) also §4.1.3 authorization code and §6
//! refresh), RFC 7009 revocation, the JWKS document and OIDC discovery:
//! framework-free handlers from `http` types to `http::Response<Bytes>`.
//! The axum routes are in `routes.rs`.

mod client_auth;
mod code_flow;
mod discovery;
mod form;
mod settings;
mod token;

pub(crate) use form::{form_params, require_form};
pub use settings::TokenEndpointSettings;

use super::clients::ClientRegistry;
use super::mint::Minter;
use crate::secret_digest::SecretDigester;
use std::fmt;
use std::sync::Arc;

/// The issuer's OAuth endpoints as framework-free handlers: each takes the
/// request's headers, its body (already read, at most
/// [`max_body_bytes`](TokenEndpointSettings::max_body_bytes)) and the
/// caller's throttle address ([`address_key`](super::address_key) of the
/// client IP), and answers an `http::Response<Bytes>`. The axum
/// [`router`](super::router) and the actix-web services (`issuer::actix`)
/// are thin adapters over these; an app on another framework calls them
/// the same way.
///
/// ```
/// # async fn demo() -> Result<(), tollgate::ConfigError> {
/// use std::sync::Arc;
/// use tollgate::issuer::{InMemoryClients, KeyRing, Minter, SigningAlgorithm, SigningKey,
///     TokenEndpoint, TokenEndpointSettings, address_key};
///
/// let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519)?);
/// let minter = Minter::new("https://auth.example", "orders-api", ring);
/// let clients = Arc::new(InMemoryClients::default());
/// let ep = TokenEndpoint::new(minter, clients, TokenEndpointSettings::default());
/// let jwks = ep.jwks();
/// assert_eq!(jwks.status(), 200);
/// let mut headers = http::HeaderMap::new();
/// headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
/// let addr = address_key("192.0.2.1".parse().unwrap());
/// let res = ep.token(&headers, b"grant_type=client_credentials", &addr).await;
/// assert_eq!(res.status(), 401); // no client credentials
/// # Ok(()) }
/// ```
pub struct TokenEndpoint {
    pub(crate) minter: Minter,
    pub(crate) clients: Arc<dyn ClientRegistry>,
    pub(crate) settings: TokenEndpointSettings,
    /// Digests against nothing for unknown client ids, so response time
    /// does not reveal which ids exist.
    dummy: Option<SecretDigester>,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint").finish_non_exhaustive()
    }
}

/// Which grants may be used by a public client (no secret).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PublicClients {
    Allowed,
    Refused,
}

impl TokenEndpoint {
    /// The endpoints of `minter`'s issuer for the clients of `clients`.
    pub fn new(
        minter: Minter,
        clients: Arc<dyn ClientRegistry>,
        settings: TokenEndpointSettings,
    ) -> Self {
        Self {
            minter,
            clients,
            settings,
            dummy: SecretDigester::random().ok(),
        }
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &TokenEndpointSettings {
        &self.settings
    }
}
