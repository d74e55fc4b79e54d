//! In-memory code and refresh-token stores, for one process: the lock and
//! the entry limits both share.

mod codes;
mod families;
#[cfg(test)]
mod fixtures;

pub use codes::MemoryCodes;
pub use families::MemoryRefreshTokens;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// The default entry limit of the memory stores.
const DEFAULT_MAX_ENTRIES: usize = 100_000;
/// Expired entries are swept at most this often (ms), or whenever a store
/// is at its limit.
const SWEEP_EVERY_MS: u64 = 1_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent at every await-free step, so a
    // panic elsewhere while holding the lock leaves nothing half-done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
