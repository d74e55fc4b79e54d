//! [`KeyRing`]: one active signing key plus previous keys still published,
//! shared by its clones; rotation, retirement and the JWKS document.

use super::SigningKey;
use std::sync::{Arc, RwLock};

#[derive(Debug)]
struct Ring {
    active: SigningKey,
    previous: Vec<SigningKey>,
}

/// One active signing key plus previous keys still published for
/// verification. Cheap to clone; clones share the ring: a [`Minter`] and
/// the JWKS route built from clones of one ring see every change made
/// through any clone ([`KeyRing::rotate`], [`KeyRing::retire`],
/// [`KeyRing::replace_all`]) at once.
///
/// [`Minter`]: crate::issuer::Minter
#[derive(Clone, Debug)]
pub struct KeyRing {
    inner: Arc<RwLock<Ring>>,
}

impl KeyRing {
    /// A ring whose active key is `key`.
    pub fn new(key: SigningKey) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Ring {
                active: key,
                previous: Vec::new(),
            })),
        }
    }

    /// Replaces the whole ring in place: `active` signs from now on and
    /// `published` (in this order, after the active key) are the previous
    /// keys still in the JWKS. Keys whose `kid` repeats an earlier one are
    /// dropped. Every clone of the ring sees the new state at once; readers
    /// see either the old or the new state, never a mix.
    pub fn replace_all(&self, active: SigningKey, published: Vec<SigningKey>) {
        let previous = dedup_after(&active, published);
        // A poisoned lock is replaced as a whole, so its contents do not matter.
        let mut ring = self.inner.write().unwrap_or_else(|p| p.into_inner());
        *ring = Ring { active, previous };
    }

    /// Replaces the previous keys, keeping the active one.
    pub(super) fn replace_published(&self, published: Vec<SigningKey>) {
        let mut ring = self.inner.write().unwrap_or_else(|p| p.into_inner());
        ring.previous = dedup_after(&ring.active, published);
    }

    /// The key ids, active first, then the published previous keys.
    pub fn kids(&self) -> Vec<String> {
        match self.inner.read() {
            Ok(ring) => std::iter::once(&ring.active)
                .chain(ring.previous.iter())
                .map(|k| k.kid.clone())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Makes `key` the active signing key; the old one stays published.
    pub fn rotate(&self, key: SigningKey) {
        if let Ok(mut ring) = self.inner.write() {
            let old = std::mem::replace(&mut ring.active, key);
            ring.previous.insert(0, old);
        }
    }

    /// Stops publishing a previous key: tokens it signed stop verifying once
    /// verifiers refresh their key set.
    pub fn retire(&self, kid: &str) -> bool {
        match self.inner.write() {
            Ok(mut ring) => {
                let before = ring.previous.len();
                ring.previous.retain(|k| k.kid != kid);
                ring.previous.len() != before
            }
            Err(_) => false,
        }
    }

    /// The active signing key.
    pub fn active(&self) -> Option<SigningKey> {
        self.inner.read().ok().map(|r| r.active.clone())
    }

    /// The public JWKS document: the active key and every previous key.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = match self.inner.read() {
            Ok(ring) => std::iter::once(&ring.active)
                .chain(ring.previous.iter())
                .map(|k| k.jwk.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        serde_json::json!({ "keys": keys })
    }
}

/// `keys` without those whose kid repeats `first`'s or an earlier one's.
fn dedup_after(first: &SigningKey, keys: Vec<SigningKey>) -> Vec<SigningKey> {
    let mut seen = vec![first.kid.clone()];
    keys.into_iter()
        .filter(|k| {
            let new = !seen.contains(&k.kid);
            if new {
                seen.push(k.kid.clone());
            }
            new
        })
        .collect()
}
