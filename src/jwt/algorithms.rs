//! The algorithm set: JOSE `alg` names tollgate verifies and [`AlgSet`].

use jsonwebtoken::Algorithm;
use std::fmt;

/// All algorithms tollgate verifies, in a fixed order (bit positions of [`AlgSet`]).
pub(crate) const ALL_ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Parses a JOSE `alg` name exactly as registered (case-sensitive).
/// `none` and every unknown name yield `None`.
pub(crate) fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// A small set of algorithms.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgSet(u16);

impl AlgSet {
    pub(crate) const fn empty() -> Self {
        Self(0)
    }

    fn bit(alg: Algorithm) -> u16 {
        let idx = ALL_ALGORITHMS.iter().position(|a| *a == alg).unwrap_or(0);
        1 << idx
    }

    pub(crate) fn one(alg: Algorithm) -> Self {
        Self(Self::bit(alg))
    }

    pub(crate) fn of(algs: &[Algorithm]) -> Self {
        Self(algs.iter().fold(0, |acc, a| acc | Self::bit(*a)))
    }

    pub(crate) fn all() -> Self {
        Self::of(&ALL_ALGORITHMS)
    }

    pub(crate) fn asymmetric() -> Self {
        Self(Self::all().0 & !Self::hmac().0)
    }

    pub(crate) fn hmac() -> Self {
        Self::of(&[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512])
    }

    pub(crate) fn rsa() -> Self {
        Self::of(&[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ])
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & Self::bit(alg) != 0
    }

    pub(crate) fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for AlgSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(ALL_ALGORITHMS.iter().filter(|a| self.contains(**a)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_are_exact() {
        for alg in ALL_ALGORITHMS {
            let name = format!("{alg:?}");
            assert_eq!(parse_alg(&name), Some(alg));
        }
        for bad in [
            "none", "None", "NONE", "nOnE", "hs256", "RS1", "", "ES512", "EDDSA",
        ] {
            assert_eq!(parse_alg(bad), None, "{bad}");
        }
    }

    #[test]
    fn alg_sets() {
        assert!(AlgSet::rsa().contains(Algorithm::PS512));
        assert!(!AlgSet::rsa().contains(Algorithm::HS256));
        assert!(!AlgSet::asymmetric().contains(Algorithm::HS512));
        assert!(AlgSet::asymmetric().contains(Algorithm::EdDSA));
        assert!(AlgSet::empty().is_empty());
    }
}
