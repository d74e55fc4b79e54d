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
    secret: SecretDigest,
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
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("scopes", &self.scopes)
            .field("lifetime", &self.lifetime)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Checks a presented secret against the stored digest, in constant time.
    pub fn verify_secret(&self, secret: &str) -> bool {
        self.digester.verify(secret.as_bytes(), Some(&self.secret))
    }
}

/// What to register.
#[derive(Clone)]
pub struct NewClient {
    /// The client id.
    pub id: String,
    /// The secret (hashed on registration, then dropped).
    pub secret: String,
    /// The account.
    pub account: String,
    /// Allowed scopes, space-delimited.
    pub scopes: String,
    /// Requested token lifetime (capped by the registry).
    pub lifetime: Duration,
    /// Default attribution.
    pub default_attribution: Option<String>,
    /// Attributions the client may name.
    pub allowed_attributions: Vec<String>,
}

impl fmt::Debug for NewClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewClient")
            .field("id", &self.id)
            .field("secret", &"******")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
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
        if new.secret.len() < 16 {
            return Err(ConfigError::new(
                "a client secret must be at least 16 characters",
            ));
        }
        let rules = ScopeRules::default();
        let scopes = ScopeSet::parse_delimited(&new.scopes, &rules);
        let digester = self
            .digester
            .clone()
            .ok_or_else(|| ConfigError::new("OS RNG failed: cannot key the secret digests"))?;
        let client = Client {
            id: new.id.clone(),
            secret: digester.digest(new.secret.as_bytes()),
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
