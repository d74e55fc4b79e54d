//! Merged contexts of (access token, customer token) pairs whose contexts
//! both came from the verified-token cache, keyed by the two contexts'
//! identities.
//!
//! A hit costs two cache hits (each with its own expiry, key-set and
//! revocation checks, done before this) and one lookup here, instead of
//! rebuilding the merged context. The merge is a pure function of the two
//! contexts, so the memo can never answer differently from a fresh merge;
//! the weak handles keep the two addresses from being reused while an
//! entry lives.
//!
//! Each thread first looks in a few slots of its own (as the token cache
//! does, see `jwt::cache::local`): a hit there touches no lock and no
//! reference count another core uses. Behind them, a shared memo serves
//! pairs this thread has not merged or seen lately.

use crate::context::{AuthContext, WeakContext};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots per thread (direct-mapped by the pair's addresses).
const SLOTS: usize = 4;

static NEXT_MEMO_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct MergeCache {
    shared: quick_cache::sync::Cache<(usize, usize), MergedPair>,
    /// This memo in the per-thread slots.
    id: u64,
}

#[derive(Clone)]
struct MergedPair {
    access: WeakContext,
    customer: WeakContext,
    merged: AuthContext,
}

impl MergedPair {
    fn is(&self, a: &AuthContext, c: &AuthContext) -> bool {
        self.access.is(a) && self.customer.is(c)
    }
}

struct Slot {
    memo: u64,
    pair: MergedPair,
}

thread_local! {
    static LOCAL: RefCell<[Option<Slot>; SLOTS]> = RefCell::default();
}

fn slot_of(a: &AuthContext, c: &AuthContext) -> usize {
    // Allocations are 16-byte aligned: the low bits carry nothing.
    ((a.addr() >> 4) ^ (c.addr() >> 5)) % SLOTS
}

impl MergeCache {
    pub(crate) fn new(entries: usize) -> Self {
        Self {
            shared: quick_cache::sync::Cache::new(entries.max(16)),
            id: NEXT_MEMO_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The merged context of exactly these two contexts, if memoized.
    pub(crate) fn get(&self, a: &AuthContext, c: &AuthContext) -> Option<AuthContext> {
        let i = slot_of(a, c);
        let local = LOCAL
            .try_with(|slots| {
                let slots = slots.try_borrow().ok()?;
                let slot = slots.get(i)?.as_ref()?;
                (slot.memo == self.id && slot.pair.is(a, c)).then(|| slot.pair.merged.clone())
            })
            .ok()
            .flatten();
        if local.is_some() {
            return local;
        }
        let hit = self.shared.get(&(a.addr(), c.addr()))?;
        if !hit.is(a, c) {
            return None;
        }
        // This thread's own copy, so that its next hits share nothing.
        self.keep_local(
            i,
            MergedPair {
                merged: hit.merged.detached(),
                ..hit.clone()
            },
        );
        Some(hit.merged)
    }

    /// Memoizes `merged` as the merge of `a` and `c`.
    pub(crate) fn insert(&self, a: &AuthContext, c: &AuthContext, merged: &AuthContext) {
        let pair = MergedPair {
            access: a.downgrade(),
            customer: c.downgrade(),
            merged: merged.clone(),
        };
        self.shared.insert((a.addr(), c.addr()), pair.clone());
        self.keep_local(slot_of(a, c), pair);
    }

    fn keep_local(&self, i: usize, pair: MergedPair) {
        let _ = LOCAL.try_with(|slots| {
            if let Ok(mut slots) = slots.try_borrow_mut()
                && let Some(slot) = slots.get_mut(i)
            {
                *slot = Some(Slot {
                    memo: self.id,
                    pair,
                });
            }
        });
    }
}
