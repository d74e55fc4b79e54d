//! The stand-in for [`RemoteKeys`] without the `remote` feature.

use crate::jwt::keys::KeySet;
use std::sync::Arc;

/// Without the `remote` feature there is no remote key set: this type has
/// no values, so every path that would use one is unreachable.
#[cfg(not(feature = "remote"))]
#[derive(Debug)]
pub(crate) enum RemoteKeys {}

#[cfg(not(feature = "remote"))]
impl RemoteKeys {
    pub(crate) fn current(&self) -> arc_swap::Guard<Option<Arc<KeySet>>> {
        match *self {}
    }

    pub(crate) fn generation(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn fetch_count(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn refresh_if_due(self: &Arc<Self>) {
        match **self {}
    }

    #[allow(clippy::unused_async)]
    pub(crate) async fn refresh_for(&self, _seen_generation: u64) {
        match *self {}
    }
}
