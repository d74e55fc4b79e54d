//! A context's verified claims: a verified JWT's are kept as the payload's
//! JSON text and parsed into a map only when something asks for the whole
//! set ([`AuthContext::raw_claims`](crate::AuthContext::raw_claims),
//! [`claims`](crate::AuthContext::claims), a bound token's `cnf`). The
//! verifier reads the claims it needs in one pass over the text
//! (`jwt::claims`); building the map of every claim was about a third of
//! the work around an RS256 signature check.

use super::heap;
use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Clone, Debug)]
pub(crate) struct ClaimSet {
    /// The claims set's JSON text, when the map is built from it on demand.
    /// It was parsed once already, accepting exactly what a
    /// `serde_json::Map` accepts, so building the map cannot fail.
    json: Option<Box<str>>,
    map: OnceLock<Map<String, Value>>,
    /// The map's estimated heap, built or not (cache weights count it, so
    /// that building it later never takes a cached entry past its weight).
    map_heap: usize,
    members: usize,
    has_cnf: bool,
}

impl ClaimSet {
    /// Claims already in a map (sessions, introspection, merged contexts).
    pub(crate) fn from_map(map: Map<String, Value>) -> Self {
        Self {
            json: None,
            map_heap: heap::json_map(&map),
            members: map.len(),
            has_cnf: map.contains_key("cnf"),
            map: OnceLock::from(map),
        }
    }

    /// No claims.
    pub(crate) fn empty() -> Self {
        Self::from_map(Map::new())
    }

    /// The claims of this JSON object text, whose members, estimated map
    /// heap and `cnf` membership the caller has read while parsing it.
    pub(crate) fn lazy(json: Box<str>, members: usize, map_heap: usize, has_cnf: bool) -> Self {
        Self {
            json: Some(json),
            map: OnceLock::new(),
            map_heap,
            members,
            has_cnf,
        }
    }

    /// Every claim, as a map (built on the first call).
    pub(crate) fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| {
            self.json
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default()
        })
    }

    /// Whether the map of every claim has been built.
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.map.get().is_some()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members == 0
    }

    /// Whether there is a `cnf` (confirmation) member.
    pub(crate) fn has_confirmation(&self) -> bool {
        self.has_cnf
    }

    /// The heap this set holds once its map is built.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.json.as_ref().map_or(0, |j| heap::block(j.len())) + self.map_heap
    }
}
