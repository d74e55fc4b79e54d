//! The time base of the grant stores: seconds and milliseconds since the
//! epoch, and lifetimes in milliseconds.

use std::time::Duration;

/// Seconds since the epoch (0 if the clock is before it): the time base of
/// [`Family`] and [`CodeGrant::auth_time`].
///
/// [`Family`]: super::Family
/// [`CodeGrant::auth_time`]: super::CodeGrant::auth_time
pub fn grants_now() -> u64 {
    now_ms() / 1000
}

/// Milliseconds since the epoch (0 if the clock is before it).
pub(crate) use crate::session::now_ms;

/// A duration in milliseconds, at least 1.
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
