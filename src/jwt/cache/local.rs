//! A per-thread copy of the hottest verified tokens, in front of the shared
//! cache.
//!
//! A hit in the shared cache takes its shard's read lock and clones the
//! cached context's `Arc`: two atomic read-modify-writes on cache lines that
//! every core serving the same token shares, so a hot token stops scaling
//! with cores (measured: 1.17× on 2 threads). Each thread therefore keeps a
//! few tokens it has hit twice, each with its own copy of the context: a hit
//! here writes only thread-local memory.
//!
//! Nothing is skipped: an entry is served only for the same cache, kind and
//! whole token (constant-time compare), and only while `exp`/`nbf` and the
//! issuer's key-set generation still hold, exactly as in the shared cache;
//! the checks after the cache (client status, revocation) run on every
//! request. Admission on the second hit by the same thread keeps workloads
//! of many distinct tokens from copying a context per request.

use super::{Entry, TokenQuery, ct_eq};
use crate::context::AuthContext;
use std::cell::RefCell;

/// Slots per thread: a token's hash picks a pair of them (two-way, so that
/// two hot tokens whose hashes pick the same pair can both stay).
const SLOTS: usize = 8;

/// Tokens last seen hitting the shared cache, per thread: admission to a
/// slot needs a second sighting.
const SEEN: usize = 4;

struct Slot {
    cache: u64,
    hash: u64,
    kind: u8,
    token: zeroize::Zeroizing<Box<[u8]>>,
    entry: Entry,
}

#[derive(Default)]
struct Local {
    slots: [Option<Slot>; SLOTS],
    /// The last tokens (tags of their hash and cache) seen hitting the
    /// shared cache, oldest replaced first.
    seen: [u64; SEEN],
    next_seen: usize,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::default();
}

/// The first of the token's two slots (the other is the next one).
pub(super) fn slot_of(hash: u64) -> usize {
    // The hash is seeded and well mixed; its top bits pick the slots (the
    // shared cache's table uses its own hash of the low ones).
    ((hash >> 62) as usize * 2) % SLOTS
}

/// This thread's still-valid private copy for `key` in cache `cache`: the
/// context and its issuer's index. A slot that is no longer `fresh` is
/// emptied.
pub(super) fn get(
    cache: u64,
    key: &TokenQuery<'_>,
    fresh: impl Fn(&Entry) -> bool,
) -> Option<(AuthContext, usize)> {
    LOCAL
        .try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            let first = slot_of(key.hash);
            let matches = |slot: &Option<Slot>| {
                slot.as_ref().is_some_and(|slot| {
                    slot.hash == key.hash
                        && slot.cache == cache
                        && slot.kind == key.kind
                        && ct_eq(&slot.token, key.token)
                })
            };
            let pair = local.slots.get_mut(first..first + 2)?;
            let found = pair.iter_mut().find(|s| matches(s))?;
            let slot = found.as_ref()?;
            if fresh(&slot.entry) {
                return Some((slot.entry.ctx.clone(), slot.entry.issuer));
            }
            *found = None;
            None
        })
        .ok()
        .flatten()
}

/// Offers a fresh shared-cache hit: kept (as a private copy of the context)
/// when this thread saw the same token hit last time in its slot.
pub(super) fn offer(cache: u64, key: &TokenQuery<'_>, entry: &Entry) {
    let _ = LOCAL.try_with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return;
        };
        let tag = key.hash ^ cache.rotate_left(32);
        if !local.seen.contains(&tag) {
            let next = local.next_seen;
            if let Some(seen) = local.seen.get_mut(next) {
                *seen = tag;
            }
            local.next_seen = (next + 1) % SEEN;
            return;
        }
        // The first of the pair if it is free, else the second (so a token
        // kept in the first stays when another takes the pair).
        let first = slot_of(key.hash);
        let i = if local.slots.get(first).is_some_and(Option::is_none) {
            first
        } else {
            first + 1
        };
        let slot = Slot {
            cache,
            hash: key.hash,
            kind: key.kind,
            token: zeroize::Zeroizing::new(key.token.into()),
            entry: Entry {
                ctx: entry.ctx.detached(),
                ..entry.clone()
            },
        };
        if let Some(s) = local.slots.get_mut(i) {
            *s = Some(slot);
        }
    });
}

#[cfg(test)]
pub(super) fn clear() {
    let _ = LOCAL.try_with(|local| {
        if let Ok(mut local) = local.try_borrow_mut() {
            *local = Local::default();
        }
    });
}
