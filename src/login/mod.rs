//! The app side of authorization-code login (feature `login`): `/login`
//! sends the customer to the authorization server with `state`, a PKCE
//! (S256) challenge and an OIDC `nonce`; `/callback` checks them, exchanges
//! the code, verifies the access token with the app's own [`Authenticator`]
//! and creates a customer session (cookie `__Host-<name>`); the upstream
//! tokens stay server-side in a [`TokenVault`], refreshed (and rotated) by
//! [`LoginFlow::access_token`]; `/logout` revokes and ends it all.
//!
//! RFC 6749 §4.1, RFC 7636 (PKCE), RFC 9700 (security BCP), RFC 9207
//! (`iss` in the callback, checked when configured), OIDC Core (`nonce`).
//!
//! The core ([`LoginFlow::login`], [`LoginFlow::callback`],
//! [`LoginFlow::logout`]) maps `http::request::Parts` to
//! `http::Response<Bytes>`; [`axum::router`] and (feature `actix`)
//! `actix::configure` only translate.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tollgate::login::{LoginConfig, LoginFlow};
//! use tollgate::{Authenticator, IssuerConfig, MemoryStore, SessionSources, SessionStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LoginConfig::discover(
//!     "https://auth.example",
//!     "shop-web",
//!     "https://shop.example/callback",
//! )
//! .await?
//! .with_scopes(["openid", "orders:read"]);
//! let sessions: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
//! let auth = Authenticator::builder()
//!     .issuer(IssuerConfig::new("https://auth.example").audience("shop-api").discovery())
//!     .session_store(sessions.clone())
//!     .session_sources(SessionSources::default().with_cookie(config.session_cookie_name()))
//!     .build()?;
//! let flow = LoginFlow::new(config, Arc::new(auth), sessions)?;
//! let app: axum::Router = tollgate::login::axum::router(flow);
//! # let _ = app; Ok(()) }
//! ```
//!
//! [`Authenticator`]: crate::Authenticator

mod bounded;
mod callback;
mod config;
mod cookies;
mod error;
mod flow;
mod http_client;
mod logout;
mod pending;
mod refresh;
mod response;
mod vault;
mod verify;

#[cfg(feature = "axum")]
pub mod axum;

#[cfg(feature = "actix")]
pub mod actix;

/// Path of the login route (both adapters).
pub const LOGIN_PATH: &str = "/login";
/// Path of the logout route (both adapters).
pub const LOGOUT_PATH: &str = "/logout";

pub use config::{DEFAULT_PENDING_COOKIE, DEFAULT_SESSION_COOKIE, LoginConfig};
pub use error::LoginError;
pub use flow::{LoginFlow, LoginFlowBuilder, REFRESH_MARGIN};
#[cfg(feature = "redis")]
pub use pending::RedisPendingLogins;
pub use pending::{
    DEFAULT_MAX_PENDING, MemoryPendingLogins, PENDING_TTL, PendingLogin, PendingLogins,
};
#[cfg(feature = "redis")]
pub use vault::RedisTokenVault;
pub use vault::{DEFAULT_MAX_VAULT_ENTRIES, MemoryTokenVault, StoredTokens, TokenVault};

/// Random bytes, base64url: ids, `state`, `nonce`.
fn random_token() -> Result<String, LoginError> {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| {
        LoginError::Store(crate::session::StoreError::Backend("OS RNG failed".into()))
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// `<prefix><kind><hex of SHA-256(id)>`: a bounded key that does not hold
/// the id in clear.
#[cfg(feature = "redis")]
fn digest_key(prefix: &str, kind: &str, id: &str) -> String {
    use sha2::Digest;
    use std::fmt::Write as _;
    let digest = sha2::Sha256::digest(id.as_bytes());
    let mut key = String::with_capacity(prefix.len() + kind.len() + 64);
    key.push_str(prefix);
    key.push_str(kind);
    for b in digest {
        let _ = write!(key, "{b:02x}");
    }
    key
}
