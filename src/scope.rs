//! Per-entity scopes: `entity:access`, parsed once into a compact [`ScopeSet`].
//!
//! A scope names an entity and an access level, joined by a separator that is
//! configurable because platforms differ (`customer:read`, `customer_read`,
//! `customer.read`). Scope strings are **case-sensitive** (RFC 6749 §3.3):
//! `ORDERS:READ` is not `orders:read`. Matching is always on whole segments:
//! `orders:read` never matches `orders:readx` or `order:read`.
//!
//! Scope tokens without a separator (`openid`, `admin`) are kept as plain atoms
//! and only ever match themselves exactly.
//!
//! ```
//! use tollgate::{ScopeRules, ScopeSet, Scope};
//!
//! let rules = ScopeRules::default();
//! let granted = ScopeSet::parse_delimited("orders:read customer:write bad::scope", &rules);
//! assert!(granted.allows(&Scope::parse("orders:read", &rules).unwrap(), &rules));
//! assert!(!granted.allows(&Scope::parse("orders:write", &rules).unwrap(), &rules));
//! assert_eq!(granted.len(), 2); // `bad::scope` grants nothing
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest scope token accepted; longer ones grant nothing.
const MAX_SCOPE_LEN: usize = 128;
/// Most scopes kept from one token; the rest grant nothing.
const MAX_SCOPES: usize = 256;

/// How scope strings are read and matched. Part of the authenticator configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ScopeRules {
    /// Separator between entity and access (default `:`).
    pub separator: char,
    /// Whether a granted `orders:*` or `*:read` matches (default off: a
    /// wildcard in a token grants nothing unless this is on).
    pub wildcards: bool,
    /// Whether a granted `entity:write` also satisfies `entity:read` (default off).
    pub write_implies_read: bool,
}

impl Default for ScopeRules {
    fn default() -> Self {
        Self {
            separator: ':',
            wildcards: false,
            write_implies_read: false,
        }
    }
}

impl ScopeRules {
    /// Sets the separator between entity and access.
    #[must_use]
    pub fn with_separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }

    /// Sets whether granted wildcards (`orders:*`, `*:read`) match.
    #[must_use]
    pub fn with_wildcards(mut self, wildcards: bool) -> Self {
        self.wildcards = wildcards;
        self
    }

    /// Sets whether a granted `entity:write` also satisfies `entity:read`.
    #[must_use]
    pub fn with_write_implies_read(mut self, write_implies_read: bool) -> Self {
        self.write_implies_read = write_implies_read;
        self
    }
}

impl ScopeRules {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let sep = self.separator;
        if !sep.is_ascii_punctuation() || sep == '*' || sep == '"' || sep == '\\' {
            return Err(format!(
                "scope separator {sep:?} must be an ASCII punctuation character other than '*', '\"' and '\\'"
            ));
        }
        Ok(())
    }
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// Empty string.
    #[error("scope is empty")]
    Empty,
    /// Longer than the accepted maximum.
    #[error("scope is longer than {MAX_SCOPE_LEN} bytes")]
    TooLong,
    /// A character outside `A-Z a-z 0-9 _ - . : * /` (and the separator).
    #[error("scope contains a character that is not allowed")]
    InvalidCharacter,
    /// Empty entity or access segment, or more than one separator in an
    /// `entity<sep>access` scope.
    #[error("scope must be `entity{{sep}}access` with non-empty segments")]
    BadShape,
    /// `*` used as part of a segment rather than the whole segment.
    #[error("a wildcard must be a whole segment")]
    PartialWildcard,
}

/// One parsed scope: either `entity<sep>access` or a plain atom.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    text: Box<str>,
    /// Byte index of the separator, if this is an `entity:access` scope.
    split: Option<u16>,
}

const fn allowed_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'*' | b'/')
}

/// [`allowed_byte`] as a table, built from it at compile time: one load per
/// byte instead of a chain of comparisons (every scope of every uncached
/// token is checked).
// Indexing runs at compile time, bounded by the loop: it cannot panic at
// run time (`get_mut` is not usable in a constant).
#[allow(clippy::indexing_slicing)]
static ALLOWED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = allowed_byte(b as u8);
        b += 1;
    }
    table
};

/// Checks `s` and returns where the entity/access separator is.
fn parse_shape(s: &str, sep: char) -> Result<Option<u16>, ScopeError> {
    if s.is_empty() {
        return Err(ScopeError::Empty);
    }
    if s.len() > MAX_SCOPE_LEN {
        return Err(ScopeError::TooLong);
    }
    let mut sep_buf = [0u8; 4];
    let sep_bytes = sep.encode_utf8(&mut sep_buf).as_bytes();
    let sep_byte = match sep_bytes {
        [b] => *b,
        _ => return Err(ScopeError::InvalidCharacter),
    };
    let bytes = s.as_bytes();
    let allowed = |b: u8| ALLOWED.get(usize::from(b)).copied().unwrap_or(false);
    if !bytes
        .iter()
        .fold(true, |ok, &b| ok & (allowed(b) | (b == sep_byte)))
    {
        return Err(ScopeError::InvalidCharacter);
    }
    // Split at the last separator so entities may contain the separator
    // character when it is `_` or `.` (`loyalty_points_read`).
    let split = bytes.iter().rposition(|&b| b == sep_byte);
    let Some(at) = split else {
        if bytes.contains(&b'*') {
            return Err(ScopeError::PartialWildcard);
        }
        return Ok(None);
    };
    let entity = s.get(..at).unwrap_or_default();
    let access = s.get(at + 1..).unwrap_or_default();
    if entity.is_empty() || access.is_empty() {
        return Err(ScopeError::BadShape);
    }
    // With `:` as separator a second `:` is a malformed scope, not a
    // longer entity name.
    if sep_byte == b':' && entity.contains(':') {
        return Err(ScopeError::BadShape);
    }
    for seg in [entity, access] {
        if seg.contains('*') && seg != "*" {
            return Err(ScopeError::PartialWildcard);
        }
    }
    Ok(u16::try_from(at).ok())
}

impl Scope {
    /// Parses one scope under `rules`.
    pub fn parse(s: &str, rules: &ScopeRules) -> Result<Self, ScopeError> {
        let split = parse_shape(s, rules.separator)?;
        Ok(Self {
            text: s.into(),
            split,
        })
    }

    /// The scope as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The entity segment (`orders` in `orders:read`), or the atom itself.
    pub fn entity(&self) -> &str {
        match self.split {
            Some(at) => self.text.get(..usize::from(at)).unwrap_or_default(),
            None => &self.text,
        }
    }

    /// The access segment (`read` in `orders:read`), if any.
    pub fn access(&self) -> Option<&str> {
        self.split
            .and_then(|at| self.text.get(usize::from(at) + 1..))
    }

    /// Whether this scope contains a wildcard segment.
    pub fn is_wildcard(&self) -> bool {
        self.entity() == "*" || self.access() == Some("*")
    }

    /// Whether this *granted* scope satisfies the *required* one.
    ///
    /// A wildcard segment in a grant matches any segment when
    /// [`ScopeRules::wildcards`] is on; a wildcard in a requirement is only
    /// met by a grant holding that wildcard (`admin:*` means "full admin").
    pub fn satisfies(&self, required: &Scope, rules: &ScopeRules) -> bool {
        // Identical text is a match whatever separator either side was parsed
        // with (a requirement built under default rules meets a grant parsed
        // with `_` as separator).
        if self.text == required.text && !self.is_wildcard() {
            return true;
        }
        match (self.access(), required.access()) {
            (None, None) => self.text == required.text,
            (Some(g_access), Some(r_access)) => {
                segment_ok(self.entity(), required.entity(), rules)
                    && (segment_ok(g_access, r_access, rules)
                        || rules.write_implies_read && g_access == "write" && r_access == "read")
            }
            // An atom never matches an `entity:access` scope, nor the reverse.
            _ => false,
        }
    }
}

fn segment_ok(granted: &str, required: &str, rules: &ScopeRules) -> bool {
    if granted == "*" || required == "*" {
        return rules.wildcards && granted == "*";
    }
    granted == required
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The scopes a credential grants, parsed once when the credential is verified.
///
/// Unparseable entries are dropped (they grant nothing) rather than failing
/// the credential. Checking is a scan of a short list of whole-segment
/// comparisons; a token rarely carries more than a few dozen scopes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    scopes: Vec<Scope>,
}

impl ScopeSet {
    /// About how many heap bytes the set holds (see `context::heap`).
    pub(crate) fn heap_bytes(&self) -> usize {
        crate::context::heap::block(self.scopes.capacity() * size_of::<Scope>())
            + self
                .scopes
                .iter()
                .map(|s| crate::context::heap::block(s.text.len()))
                .sum::<usize>()
    }

    /// An empty set.
    pub const fn new() -> Self {
        Self { scopes: Vec::new() }
    }

    /// Parses a space-delimited scope string (RFC 6749 §3.3).
    pub fn parse_delimited(s: &str, rules: &ScopeRules) -> Self {
        let mut set = Self::new();
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            set.insert_str(part, rules);
        }
        set
    }

    /// Parses a list of scope strings (e.g. an `scp` or `permissions` array).
    pub fn from_strs<'a>(items: impl IntoIterator<Item = &'a str>, rules: &ScopeRules) -> Self {
        let mut set = Self::new();
        for item in items {
            set.insert_str(item, rules);
        }
        set
    }

    fn insert_str(&mut self, s: &str, rules: &ScopeRules) {
        if self.scopes.len() >= MAX_SCOPES {
            return;
        }
        if let Ok(scope) = Scope::parse(s, rules) {
            // A wildcard grant when wildcards are off grants nothing.
            if scope.is_wildcard() && !rules.wildcards {
                return;
            }
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
    }

    /// Adds a scope.
    pub fn insert(&mut self, scope: Scope) {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
    }

    /// Whether any granted scope satisfies `required`.
    pub fn allows(&self, required: &Scope, rules: &ScopeRules) -> bool {
        self.scopes.iter().any(|g| g.satisfies(required, rules))
    }

    /// What both sets allow: every scope of either set that the other set
    /// also allows (so `orders:*` ∩ `orders:read` is `orders:read`).
    pub fn intersection(&self, other: &ScopeSet, rules: &ScopeRules) -> ScopeSet {
        let mut out = ScopeSet::new();
        for s in self.scopes.iter().filter(|s| other.allows(s, rules)) {
            out.insert(s.clone());
        }
        for s in other.scopes.iter().filter(|s| self.allows(s, rules)) {
            out.insert(s.clone());
        }
        out
    }

    /// Number of scopes held.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Iterates over the scopes held.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.scopes.iter()
    }

    /// Whether the set holds exactly this scope string.
    pub fn contains_str(&self, s: &str) -> bool {
        self.scopes.iter().any(|g| g.as_str() == s)
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.scopes.iter()).finish()
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.scopes.iter().map(Scope::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> ScopeRules {
        ScopeRules::default()
    }
    fn s(x: &str, rules: &ScopeRules) -> Scope {
        Scope::parse(x, rules).unwrap()
    }

    /// Every byte is allowed exactly when the documented character set
    /// (`A-Z a-z 0-9 _ - . : * /`, plus the separator) holds it.
    #[test]
    fn each_byte_is_allowed_as_documented() {
        let documented = |c: char| c.is_ascii_alphanumeric() || "_-.:*/".contains(c);
        for sep in [':', '_', '.', '~'] {
            let rules = ScopeRules {
                separator: sep,
                ..ScopeRules::default()
            };
            for b in 0..=255u8 {
                let c = char::from(b);
                let atom = format!("a{c}b");
                let got = Scope::parse(&atom, &rules);
                let allowed = c.is_ascii() && (documented(c) || c == sep);
                assert_eq!(
                    !matches!(got, Err(ScopeError::InvalidCharacter)),
                    allowed,
                    "byte {b:#04x} with separator {sep:?}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn whole_segment_matching() {
        let rules = r();
        let set = ScopeSet::parse_delimited("orders:read", &rules);
        assert!(set.allows(&s("orders:read", &rules), &rules));
        assert!(!set.allows(&s("orders:readx", &rules), &rules));
        assert!(!set.allows(&s("order:read", &rules), &rules));
        assert!(!set.allows(&s("orders:rea", &rules), &rules));
        assert!(!set.allows(&s("orders", &rules), &rules));
        assert!(!set.allows(&s("ORDERS:READ", &rules), &rules));
        let prefixed = ScopeSet::parse_delimited("orders:readx orders ORDERS:READ", &rules);
        assert!(!prefixed.allows(&s("orders:read", &rules), &rules));
    }

    #[test]
    fn malformed_scopes_grant_nothing() {
        let rules = r();
        let set = ScopeSet::parse_delimited(
            "a::b :read orders: or*ders:read orders:re*d x\"y tab\there \u{e9}:read",
            &rules,
        );
        assert!(set.is_empty(), "{set:?}");
        assert_eq!(Scope::parse("", &rules), Err(ScopeError::Empty));
        assert_eq!(
            Scope::parse(&"a".repeat(200), &rules),
            Err(ScopeError::TooLong)
        );
    }

    #[test]
    fn wildcards_only_when_enabled() {
        let off = r();
        let set = ScopeSet::parse_delimited("orders:* *:read", &off);
        assert!(set.is_empty());
        let on = ScopeRules {
            wildcards: true,
            ..r()
        };
        let set = ScopeSet::parse_delimited("orders:* *:read", &on);
        assert!(set.allows(&s("orders:write", &on), &on));
        assert!(set.allows(&s("customer:read", &on), &on));
        assert!(!set.allows(&s("customer:write", &on), &on));
        assert!(!set.allows(&s("ordersx:write", &on), &on));
        // A wildcard never matches an atom.
        assert!(!set.allows(&s("admin", &on), &on));
    }

    #[test]
    fn write_implies_read_is_opt_in() {
        let off = r();
        let set = ScopeSet::parse_delimited("orders:write", &off);
        assert!(!set.allows(&s("orders:read", &off), &off));
        let on = ScopeRules {
            write_implies_read: true,
            ..r()
        };
        let set = ScopeSet::parse_delimited("orders:write", &on);
        assert!(set.allows(&s("orders:read", &on), &on));
        assert!(!set.allows(&s("customer:read", &on), &on));
    }

    #[test]
    fn other_separators() {
        let us = ScopeRules {
            separator: '_',
            ..r()
        };
        let set = ScopeSet::parse_delimited("customer_read loyalty_points_write", &us);
        assert!(set.allows(&s("customer_read", &us), &us));
        let lp = s("loyalty_points_write", &us);
        assert_eq!(lp.entity(), "loyalty_points");
        assert_eq!(lp.access(), Some("write"));
        assert!(set.allows(&lp, &us));
        assert!(!set.allows(&s("customer_write", &us), &us));
        let dot = ScopeRules {
            separator: '.',
            ..r()
        };
        let set = ScopeSet::parse_delimited("customer.read", &dot);
        assert!(set.allows(&s("customer.read", &dot), &dot));
    }

    #[test]
    fn intersection_keeps_what_both_allow() {
        let on = ScopeRules {
            wildcards: true,
            ..r()
        };
        let app =
            ScopeSet::parse_delimited("orders:read orders:write customer:read admin:read", &on);
        let grant = ScopeSet::parse_delimited("customer:read customer:write orders:read", &on);
        let both = app.intersection(&grant, &on);
        let mut got: Vec<_> = both.iter().map(|s| s.as_str().to_owned()).collect();
        got.sort();
        assert_eq!(got, ["customer:read", "orders:read"]);
        let wild = ScopeSet::parse_delimited("orders:*", &on);
        let both = wild.intersection(&grant, &on);
        assert!(both.allows(&s("orders:read", &on), &on));
        assert!(!both.allows(&s("orders:write", &on), &on));
    }

    #[test]
    fn atoms_match_exactly() {
        let rules = r();
        let set = ScopeSet::parse_delimited("openid admin", &rules);
        assert!(set.allows(&s("admin", &rules), &rules));
        assert!(!set.allows(&s("admins", &rules), &rules));
        assert!(!set.allows(&s("admin:read", &rules), &rules));
    }

    #[test]
    fn separator_validation() {
        assert!(r().validate().is_ok());
        let bad = ScopeRules {
            separator: '*',
            ..r()
        };
        assert!(bad.validate().is_err());
        let bad = ScopeRules {
            separator: 'x',
            ..r()
        };
        assert!(bad.validate().is_err());
    }
}
