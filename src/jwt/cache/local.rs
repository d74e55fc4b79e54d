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
use std::cell::{Cell, RefCell};

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
    /// Per pair of slots, which of the two (0 or 1) was last hit or filled:
    /// admission replaces the other, so that two tokens used together (an
    /// access token and its customer token) whose hashes pick the same
    /// pair both stay. A `Cell`: hits mark it under a shared borrow.
    last_used: [Cell<u8>; SLOTS / 2],
}

impl Local {
    fn mark_used(&self, slot: usize) {
        if let Some(last) = self.last_used.get(slot / 2) {
            last.set((slot % 2) as u8);
        }
    }

    /// Where a token whose pair starts at `first` is admitted: a free slot
    /// of the pair, else the one not used last.
    fn admission_slot(&self, first: usize) -> usize {
        let free = |i: usize| self.slots.get(i).is_some_and(Option::is_none);
        if free(first) {
            first
        } else if free(first + 1) {
            first + 1
        } else {
            let last = self.last_used.get(first / 2).map_or(0, Cell::get);
            first + 1 - usize::from(last)
        }
    }
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
            let at = pair.iter().position(matches)?;
            let found = pair.get_mut(at)?;
            let slot = found.as_ref()?;
            if fresh(&slot.entry) {
                let hit = (slot.entry.ctx.clone(), slot.entry.issuer);
                local.mark_used(first + at);
                return Some(hit);
            }
            *found = None;
            None
        })
        .ok()
        .flatten()
}

/// Runs `f` on this thread's still-valid private copies for both keys (an
/// access token and the customer token beside it), borrowed: no reference
/// count is touched. `None`, without running `f`, unless both hit. A slot
/// that is no longer fresh is left for [`get`] to empty on the owned path.
///
/// `f` runs while this thread's slots are borrowed: a cache lookup it made
/// would be served, but could not admit a token here.
pub(super) fn with_pair<R>(
    cache: u64,
    keys: [&TokenQuery<'_>; 2],
    fresh: impl Fn(&Entry, u8) -> bool,
    f: impl FnOnce([&Entry; 2]) -> R,
) -> Option<R> {
    LOCAL
        .try_with(|local| {
            let local = local.try_borrow().ok()?;
            let find = |key: &TokenQuery<'_>| {
                let first = slot_of(key.hash);
                let (i, slot) = (first..first + 2).find_map(|i| {
                    let slot = local.slots.get(i)?.as_ref()?;
                    (slot.hash == key.hash
                        && slot.cache == cache
                        && slot.kind == key.kind
                        && ct_eq(&slot.token, key.token))
                    .then_some((i, slot))
                })?;
                local.mark_used(i);
                Some(&slot.entry).filter(|entry| fresh(entry, key.kind))
            };
            let [a, c] = keys;
            let (a, c) = (find(a)?, find(c)?);
            Some(f([a, c]))
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
        let i = local.admission_slot(slot_of(key.hash));
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
            local.mark_used(i);
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
