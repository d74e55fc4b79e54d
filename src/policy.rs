//! Requirements on scopes, checked against an [`AuthContext`](crate::AuthContext).
//!
//! ```
//! use tollgate::policy::{all, any, scope};
//!
//! let create_order = scope("orders:write");
//! let read_either = any([scope("orders:read"), scope("admin:read")]);
//! let both = all([scope("orders:read"), scope("customer:read")]);
//! # let _ = (create_order, read_either, both);
//! ```
//!
//! A requirement that is not met answers 403 `insufficient_scope`, with the
//! missing scope(s) in `WWW-Authenticate` (RFC 6750 §3.1). Use it inside a
//! handler with [`AuthContext::require`](crate::AuthContext::require) or in
//! front of a route with the tower
//! [`RequireScopesLayer`](crate::tower::RequireScopesLayer).

use crate::error::{AuthError, ErrorSettings};
use crate::scope::{Scope, ScopeError, ScopeRules, ScopeSet};

/// A scope requirement: one scope, all of several, or any of several.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// This scope must be granted.
    Scope(Scope),
    /// Every requirement must be met.
    All(Vec<Requirement>),
    /// At least one requirement must be met.
    Any(Vec<Requirement>),
    /// The caller must be bound to a customer (customer token or a session
    /// with a customer).
    Customer,
}

/// A requirement for one scope.
///
/// # Panics
///
/// When `s` is not a valid scope (`entity:access` or a plain name). Use it
/// with literals, like [`http::HeaderName::from_static`]; for strings from
/// configuration use [`Requirement::parse_scope`].
#[allow(clippy::panic)]
pub fn scope(s: &str) -> Requirement {
    match Requirement::parse_scope(s, &ScopeRules::default()) {
        Ok(r) => r,
        Err(e) => panic!("invalid scope {s:?} in requirement: {e}"),
    }
}

/// The caller must act for a customer (customer token or bound session).
pub fn customer() -> Requirement {
    Requirement::Customer
}

/// Every requirement must be met.
pub fn all(reqs: impl IntoIterator<Item = Requirement>) -> Requirement {
    Requirement::All(reqs.into_iter().collect())
}

/// At least one requirement must be met.
pub fn any(reqs: impl IntoIterator<Item = Requirement>) -> Requirement {
    Requirement::Any(reqs.into_iter().collect())
}

impl Requirement {
    /// Parses one scope requirement under `rules` (for non-default separators).
    pub fn parse_scope(s: &str, rules: &ScopeRules) -> Result<Self, ScopeError> {
        Scope::parse(s, rules).map(Self::Scope)
    }

    /// Whether `granted` meets this requirement (a [`Customer`](Self::Customer)
    /// requirement is never met by scopes alone).
    pub fn is_met_by(&self, granted: &ScopeSet, rules: &ScopeRules) -> bool {
        self.met(granted, rules, None)
    }

    /// Whether `granted` (and the bound `customer`, if any) meet this
    /// requirement; the context calls this, so policy needs no context.
    pub(crate) fn met(
        &self,
        granted: &ScopeSet,
        rules: &ScopeRules,
        customer: Option<&str>,
    ) -> bool {
        match self {
            Self::Scope(s) => granted.allows(s, rules),
            Self::All(reqs) => reqs.iter().all(|r| r.met(granted, rules, customer)),
            // An empty `any` is never met: requiring "one of nothing" is a
            // configuration mistake, and failing closed is the safe reading.
            Self::Any(reqs) => reqs.iter().any(|r| r.met(granted, rules, customer)),
            Self::Customer => customer.is_some(),
        }
    }

    /// The scopes to report when this requirement is not met.
    fn missing(&self, granted: &ScopeSet, rules: &ScopeRules, out: &mut Vec<String>) {
        match self {
            Self::Customer => {}
            Self::Scope(s) => {
                if !granted.allows(s, rules) && !out.iter().any(|o| o == s.as_str()) {
                    out.push(s.as_str().to_owned());
                }
            }
            Self::All(reqs) => {
                for r in reqs {
                    r.missing(granted, rules, out);
                }
            }
            Self::Any(reqs) => {
                if !reqs.iter().any(|r| r.is_met_by(granted, rules)) {
                    for r in reqs {
                        r.missing(granted, rules, out);
                    }
                }
            }
        }
    }

    /// The 403 for a caller holding `granted` that does not meet this.
    pub(crate) fn refusal(
        &self,
        granted: &ScopeSet,
        rules: &ScopeRules,
        errors: &ErrorSettings,
    ) -> Result<(), AuthError> {
        let mut missing = Vec::new();
        self.missing(granted, rules, &mut missing);
        if missing.is_empty() {
            return Err(AuthError::forbidden(
                "a customer-bound credential is required",
                errors,
            ));
        }
        Err(AuthError::insufficient_scope(missing.join(" "), errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_and_any() {
        let rules = ScopeRules::default();
        let granted = ScopeSet::parse_delimited("orders:read customer:read", &rules);
        assert!(scope("orders:read").is_met_by(&granted, &rules));
        assert!(!scope("orders:write").is_met_by(&granted, &rules));
        assert!(all([scope("orders:read"), scope("customer:read")]).is_met_by(&granted, &rules));
        assert!(!all([scope("orders:read"), scope("orders:write")]).is_met_by(&granted, &rules));
        assert!(any([scope("orders:write"), scope("customer:read")]).is_met_by(&granted, &rules));
        assert!(!any([]).is_met_by(&granted, &rules));
        assert!(all([]).is_met_by(&granted, &rules));
    }

    #[test]
    fn reports_missing_scopes() {
        let rules = ScopeRules::default();
        let granted = ScopeSet::parse_delimited("orders:read", &rules);
        let err = all([
            scope("orders:read"),
            scope("orders:write"),
            scope("customer:read"),
        ])
        .refusal(&granted, &rules, &ErrorSettings::default())
        .unwrap_err();
        assert_eq!(err.status(), 403);
        assert_eq!(err.scope(), Some("orders:write customer:read"));
    }

    #[test]
    #[should_panic(expected = "invalid scope")]
    fn scope_literal_must_be_valid() {
        let _ = scope("orders::write");
    }
}
