//! The stored JSON document: its shape, and encoding and decoding it (every
//! key parsed and the active key checked).

use super::KeyStoreError;
use crate::issuer::keys::{SigningAlgorithm, SigningKey};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// The stored document.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredSet {
    pub(super) version: u64,
    pub(super) active_kid: String,
    /// Active key first, then the previous keys, newest first.
    pub(super) keys: Vec<StoredKey>,
}

/// One key of the stored document (`pem` is the private key).
#[derive(Serialize, Deserialize)]
pub(super) struct StoredKey {
    pub(super) kid: String,
    alg: String,
    pem: String,
}

impl StoredKey {
    pub(super) fn of(key: &SigningKey) -> Self {
        Self {
            kid: key.kid().to_owned(),
            alg: key.signing_algorithm().jose_name().to_owned(),
            pem: key.to_pkcs8_pem(),
        }
    }
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A key set decoded and checked, ready to apply to a ring.
pub(super) struct Decoded {
    pub(super) set: StoredSet,
    pub(super) active: SigningKey,
    pub(super) published: Vec<SigningKey>,
}

pub(super) fn decode(doc: &str) -> Result<Decoded, KeyStoreError> {
    let set: StoredSet =
        serde_json::from_str(doc).map_err(|e| KeyStoreError::Corrupt(format!("{e}")))?;
    let mut active = None;
    let mut published = Vec::new();
    for k in &set.keys {
        let alg = SigningAlgorithm::from_jose_name(&k.alg).ok_or_else(|| {
            KeyStoreError::Corrupt(format!("key {}: unknown algorithm {:?}", k.kid, k.alg))
        })?;
        let key = SigningKey::from_pem(&k.pem, alg, k.kid.as_str())
            .map_err(|e| KeyStoreError::Corrupt(format!("key {}: {e}", k.kid)))?;
        if k.kid == set.active_kid {
            if active.is_some() {
                return Err(KeyStoreError::Corrupt(format!(
                    "key id {} appears twice",
                    k.kid
                )));
            }
            active = Some(key);
        } else {
            published.push(key);
        }
    }
    let active = active.ok_or_else(|| {
        KeyStoreError::Corrupt(format!(
            "the active key {} is not in the set",
            set.active_kid
        ))
    })?;
    Ok(Decoded {
        set,
        active,
        published,
    })
}

pub(super) fn encode(set: &StoredSet) -> Result<String, KeyStoreError> {
    serde_json::to_string(set)
        .map_err(|e| KeyStoreError::Backend(format!("cannot encode the key set: {e}")))
}
