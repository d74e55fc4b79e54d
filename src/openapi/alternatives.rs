//! A requirement as OpenAPI can state it: alternatives (OR) of scope sets
//! (AND), simplified and capped at [`MAX_ALTERNATIVES`].

use super::{MAX_ALTERNATIVES, OpenApiError};
use crate::policy::Requirement;
use std::collections::BTreeSet;

/// One alternative of a requirement: all these scopes, and maybe a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Alternative {
    pub(super) customer: bool,
    pub(super) scopes: BTreeSet<String>,
}

impl Alternative {
    /// Whether meeting `self` always meets `other` too (so `self` adds nothing).
    fn implies(&self, other: &Self) -> bool {
        (!other.customer || self.customer) && other.scopes.is_subset(&self.scopes)
    }
}

/// The requirement as alternatives (OR) of scope sets (AND).
pub(super) fn alternatives(req: &Requirement) -> Result<Vec<Alternative>, OpenApiError> {
    let alts = match req {
        Requirement::Scope(s) => vec![Alternative {
            customer: false,
            scopes: BTreeSet::from([s.as_str().to_owned()]),
        }],
        Requirement::Customer => vec![Alternative {
            customer: true,
            scopes: BTreeSet::new(),
        }],
        Requirement::Any(reqs) => {
            let mut out = Vec::new();
            for r in reqs {
                out.extend(alternatives(r)?);
            }
            out
        }
        Requirement::All(reqs) => {
            let mut out = vec![Alternative::default()];
            for r in reqs {
                let next = alternatives(r)?;
                let mut product = Vec::with_capacity(out.len().saturating_mul(next.len()));
                for a in &out {
                    for b in &next {
                        product.push(Alternative {
                            customer: a.customer || b.customer,
                            scopes: a.scopes.union(&b.scopes).cloned().collect(),
                        });
                    }
                }
                out = simplify(product);
                if out.len() > MAX_ALTERNATIVES {
                    return Err(OpenApiError::TooManyAlternatives);
                }
            }
            out
        }
    };
    let alts = simplify(alts);
    if alts.len() > MAX_ALTERNATIVES {
        return Err(OpenApiError::TooManyAlternatives);
    }
    Ok(alts)
}

/// Sorts, and drops alternatives that ask for more than another one.
fn simplify(mut alts: Vec<Alternative>) -> Vec<Alternative> {
    alts.sort();
    alts.dedup();
    let keep: Vec<bool> = alts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            !alts
                .iter()
                .enumerate()
                .any(|(j, b)| i != j && a.implies(b) && a != b)
        })
        .collect();
    alts.into_iter()
        .zip(keep)
        .filter_map(|(a, k)| k.then_some(a))
        .collect()
}
