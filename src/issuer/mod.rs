//! The platform side (feature `issuer`): signing keys and a key ring, the
//! JWKS document and OIDC discovery, minting access and customer tokens, an
//! API-client registry with keyed-digest secrets, and the RFC 6749 §4.4
//! client-credentials token endpoint, and the endpoints a commerce platform
//! offers its apps and frontends: customer login to a customer token
//! ([`CustomerTokenEndpoint`]) and customer sessions ([`CustomerSessions`]).
//! Every endpoint is a framework-free handler with a thin axum adapter
//! ([`router`], [`customer_token_routes`], [`customer_sessions_router`]) and
//! an actix-web one (`issuer::actix`, feature `actix`).
//!
//! An app that embeds tollgate can be the issuer of the credentials it
//! verifies, without a separate identity server:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tollgate::issuer::{KeyRing, Minter, SigningAlgorithm, SigningKey, InMemoryClients, NewClient};
//!
//! # fn main() -> Result<(), tollgate::ConfigError> {
//! let ring = KeyRing::new(SigningKey::generate(SigningAlgorithm::Ed25519)?);
//! let minter = Minter::new("https://shop.example", "shop-api", ring);
//! let clients = Arc::new(InMemoryClients::default());
//! clients.register(
//!     NewClient::confidential("backend", "a-long-random-client-secret", "acct-1", "orders:read orders:write")
//!         .with_lifetime(Duration::from_secs(3600)),
//! )?;
//! let routes: axum::Router = tollgate::issuer::router(minter, clients, Default::default());
//! # let _ = routes; Ok(()) }
//! ```
//!
//! Deactivating a client ([`InMemoryClients::set_active`]) makes the token
//! endpoint refuse it at once; verifiers built with
//! [`AuthenticatorBuilder::client_status`](crate::AuthenticatorBuilder::client_status)
//! reject its unexpired tokens on the next request (the in-memory registry
//! is consulted per request, cached tokens included: no delay).

#[cfg(feature = "actix")]
pub mod actix;
mod authorize;
mod clients;
mod customer;
mod endpoint;
mod grants;
mod introspect;
mod key_store;
mod keys;
mod mint;
mod oauth_error;
mod password;
mod pkce;
#[cfg(feature = "redis")]
mod redis_state;
#[cfg(feature = "axum")]
#[cfg(feature = "axum")]
mod routes;
mod sessions;
mod throttle;

pub use authorize::{CodeFlow, CodeFlowSettings};
pub use clients::{Client, ClientRegistry, DEFAULT_MAX_LIFETIME, InMemoryClients, NewClient};
pub use customer::{
    CustomerDirectory, CustomerTokenEndpoint, CustomerTokenSettings, DirectoryError,
};
pub use endpoint::{TokenEndpoint, TokenEndpointSettings};
pub use grants::{
    CODE_LEN, CodeGrant, CodeStore, DEFAULT_TOMBSTONE_TTL, FAMILY_ID_LEN, Family, FamilyId,
    GrantStoreError, MAX_SPENT, MemoryCodes, MemoryRefreshTokens, REFRESH_TOKEN_LEN, Redeemed,
    RefreshStore, Rotation, grants_now,
};
#[cfg(feature = "redis")]
pub use grants::{RedisCodes, RedisRefreshTokens};
#[cfg(feature = "redis")]
pub use key_store::{KeyStoreError, RedisKeyStore};
pub use keys::{KeyRing, SigningAlgorithm, SigningKey};
pub use mint::{
    ACCESS_TOKEN_TYP, AccessGrant, CUSTOMER_MARKER, CustomerGrant, IdGrant, Minted, Minter,
    UserGrant,
};
pub use password::{Busy, PasswordHasher};
#[cfg(feature = "redis")]
pub use redis_state::{RedisClientStatus, RedisThrottle};
#[cfg(feature = "axum")]
#[cfg(feature = "axum")]
pub use routes::{
    bind_session, create_session, current_session, customer_login, customer_logout,
    customer_sessions_router, customer_token_routes, customer_tokens_router, revoke_session,
    router,
};
pub use sessions::{CustomerSessionSettings, CustomerSessions};
pub use throttle::{
    ClientAddr, MemoryThrottle, Throttle, ThrottleRule, address_key, request_address, throttle_key,
};

impl crate::authenticator::ClientStatus for InMemoryClients {
    fn is_active(&self, client_id: &str) -> bool {
        self.get(client_id).is_some_and(|c| c.active)
    }
}

impl crate::authenticator::AttributionPolicy for InMemoryClients {
    fn resolve(
        &self,
        client_id: &str,
        requested: Option<&str>,
    ) -> Result<Option<String>, crate::authenticator::AttributionRefused> {
        let client = self
            .get(client_id)
            .ok_or(crate::authenticator::AttributionRefused)?;
        match requested {
            None => Ok(client.default_attribution),
            Some(r)
                if client.default_attribution.as_deref() == Some(r)
                    || client.allowed_attributions.iter().any(|a| a == r) =>
            {
                Ok(Some(r.to_owned()))
            }
            Some(_) => Err(crate::authenticator::AttributionRefused),
        }
    }
}
