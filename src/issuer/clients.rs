//! API clients: id, secret (stored only as a keyed digest), account,
//! allowed scopes, token lifetime (capped), default attribution, active flag.
//!
//! Client secrets are platform-generated, high-entropy API secrets (generate
//! them with at least 128 random bits), not passwords: they are kept as
//! HMAC-SHA-256 under a per-registry random key (see `secret_digest`), which
//! costs about a microsecond per check. A memory-hard hash here is what let
//! a flood of wrong secrets take a process to gigabytes of memory.

use crate::config::ConfigError;
use crate::scope::{ScopeRules, ScopeSet};
use crate::secret_digest::{SecretDigest, SecretDigester};
use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

/// Default cap on access-token lifetimes: 60 minutes.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// A registered API client. The secret is held only as a keyed digest.
#[derive(Clone)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// `None` for a public client (RFC 6749 §2.1: it cannot keep a secret).
    secret: Option<SecretDigest>,
    digester: SecretDigester,
    /// The account (tenant) the client belongs to.
    pub account: String,
    /// Scopes the client may be granted (space-delimited).
    pub scopes: String,
    /// Access-token lifetime (already capped).
    pub lifetime: Duration,
    /// The attribution writes default to (e.g. a store or till).
    pub default_attribution: Option<String>,
    /// Attributions the client may name explicitly.
    pub allowed_attributions: Vec<String>,
    /// Whether the client may obtain and use tokens.
    pub active: bool,
    /// Redirect URIs registered for the authorization-code flow, compared
    /// exactly (no prefix, wildcard or normalisation: RFC 9700 §4.1.3).
    pub redirect_uris: Vec<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("scopes", &self.scopes)
            .field("lifetime", &self.lifetime)
            .field("active", &self.active)
            .field("public", &self.is_public())
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Checks a presented secret against the stored digest, in constant
    /// time. A public client has no secret: this is always `false` for it
    /// (the same work is done either way).
    pub fn verify_secret(&self, secret: &str) -> bool {
        self.digester
            .verify(secret.as_bytes(), self.secret.as_ref())
    }

    /// Whether this is a public client (no secret; PKCE is required).
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    /// Whether `uri` is exactly one of the registered redirect URIs
    /// (byte-for-byte, RFC 9700 §4.1.3).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

/// What to register: [`NewClient::confidential`] or [`NewClient::public`],
/// then the `with_*` methods.
#[derive(Clone)]
#[non_exhaustive]
pub struct NewClient {
    /// The client id.
    pub id: String,
    /// The secret (hashed on registration, then dropped); `None` for a
    /// public client.
    pub secret: Option<String>,
    /// The account.
    pub account: String,
    /// Allowed scopes, space-delimited.
    pub scopes: String,
    /// Requested token lifetime (capped by the registry; default 1 h).
    pub lifetime: Duration,
    /// Default attribution.
    pub default_attribution: Option<String>,
    /// Attributions the client may name.
    pub allowed_attributions: Vec<String>,
    /// Redirect URIs for the authorization-code flow (exact match).
    pub redirect_uris: Vec<String>,
}

impl NewClient {
    /// A confidential client: it authenticates with `secret` (at least 16
    /// characters; generate at least 128 random bits).
    pub fn confidential(
        id: impl Into<String>,
        secret: impl Into<String>,
        account: impl Into<String>,
        scopes: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            secret: Some(secret.into()),
            account: account.into(),
            scopes: scopes.into(),
            lifetime: DEFAULT_MAX_LIFETIME,
            default_attribution: None,
            allowed_attributions: Vec::new(),
            redirect_uris: Vec::new(),
        }
    }

    /// A public client (a browser or mobile app that cannot keep a secret):
    /// it may only use the authorization-code flow, with PKCE.
    pub fn public(
        id: impl Into<String>,
        account: impl Into<String>,
        scopes: impl Into<String>,
    ) -> Self {
        Self {
            secret: None,
            ..Self::confidential(id, String::new(), account, scopes)
        }
    }

    /// Sets the requested token lifetime (capped by the registry).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the default attribution.
    #[must_use]
    pub fn with_default_attribution(mut self, attribution: impl Into<String>) -> Self {
        self.default_attribution = Some(attribution.into());
        self
    }

    /// Sets the attributions the client may name.
    #[must_use]
    pub fn with_allowed_attributions(mut self, allowed: Vec<String>) -> Self {
        self.allowed_attributions = allowed;
        self
    }

    /// Sets the redirect URIs (exact match; `https`, or `http` on loopback).
    #[must_use]
    pub fn with_redirect_uris(mut self, uris: Vec<String>) -> Self {
        self.redirect_uris = uris;
        self
    }
}

impl fmt::Debug for NewClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewClient")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "******"))
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// Whether `uri` may be registered as a redirect URI: absolute, `https`
/// (or `http` to a loopback host, RFC 8252 §7.3), no fragment (RFC 6749
/// §3.1.2), no user info.
fn valid_redirect_uri(uri: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && loopback);
    scheme_ok && u.fragment().is_none() && u.username().is_empty() && u.password().is_none()
}

/// Looks clients up. Implement it over your own storage.
pub trait ClientRegistry: Send + Sync + fmt::Debug + 'static {
    /// The client, if registered.
    fn get(&self, client_id: &str) -> Option<Client>;
}

/// An in-memory registry.
#[derive(Debug)]
pub struct InMemoryClients {
    clients: RwLock<HashMap<String, Client>>,
    max_lifetime: Duration,
    digester: Option<SecretDigester>,
}

impl Default for InMemoryClients {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LIFETIME)
    }
}

impl InMemoryClients {
    /// A registry capping token lifetimes at `max_lifetime`.
    pub fn new(max_lifetime: Duration) -> Self {
        Self {
            clients: RwLock::new(HashMap::new()),
            max_lifetime,
            digester: SecretDigester::random().ok(),
        }
    }

    /// Registers (or replaces) a client, keeping only a keyed digest of its secret.
    pub fn register(&self, new: NewClient) -> Result<Client, ConfigError> {
        if new.id.is_empty() || new.id.contains(':') {
            return Err(ConfigError::new(
                "a client id must be non-empty and contain no ':'",
            ));
        }
        if new.secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::new(
                "a client secret must be at least 16 characters",
            ));
        }
        if let Some(bad) = new.redirect_uris.iter().find(|u| !valid_redirect_uri(u)) {
            return Err(ConfigError::new(format!(
                "client {}: redirect URI {bad:?} must be absolute https (or http on loopback), without fragment or user info",
                new.id
            )));
        }
        let rules = ScopeRules::default();
        let scopes = ScopeSet::parse_delimited(&new.scopes, &rules);
        let digester = self
            .digester
            .clone()
            .ok_or_else(|| ConfigError::new("OS RNG failed: cannot key the secret digests"))?;
        let client = Client {
            id: new.id.clone(),
            secret: new.secret.as_ref().map(|s| digester.digest(s.as_bytes())),
            digester,
            account: new.account,
            scopes: scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            lifetime: new.lifetime.min(self.max_lifetime),
            default_attribution: new.default_attribution,
            allowed_attributions: new.allowed_attributions,
            active: true,
            redirect_uris: new.redirect_uris,
        };
        if let Ok(mut map) = self.clients.write() {
            map.insert(new.id, client.clone());
        }
        Ok(client)
    }

    /// Deactivates a client: new tokens are refused, and verifiers that
    /// consult this registry reject its unexpired tokens within their
    /// status-check delay.
    pub fn set_active(&self, client_id: &str, active: bool) -> bool {
        match self.clients.write() {
            Ok(mut map) => match map.get_mut(client_id) {
                Some(c) => {
                    c.active = active;
                    true
                }
                None => false,
            },
            Err(_) => false,
        }
    }
}

impl ClientRegistry for InMemoryClients {
    fn get(&self, client_id: &str) -> Option<Client> {
        self.clients.read().ok()?.get(client_id).cloned()
    }
}
