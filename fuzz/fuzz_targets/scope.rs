//! Scope parsing and matching (`tollgate::scope`): `Scope::parse`,
//! `ScopeSet::parse_delimited`, `ScopeSet::from_strs`, `allows`,
//! `intersection`, and `policy::Requirement::parse_scope`.
//!
//! Input: the first byte picks the `ScopeRules` (separator from a table,
//! wildcards, write-implies-read); the rest is split at the first `\n` into
//! a granted and a required scope string (invalid UTF-8 is replaced).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::policy::Requirement;
use tollgate::{Scope, ScopeRules, ScopeSet};

/// Valid separators first; the public API takes any `char`, so some that
/// configuration validation refuses are in too.
const SEPARATORS: [char; 16] = [
    ':', '_', '.', '/', '-', '|', '#', '~', '+', '*', ' ', 'a', '"', '\\', '\0', 'é',
];

fn check_scope(s: &Scope, rules: &ScopeRules) {
    let text = s.as_str();
    assert!(!text.is_empty() && text.len() <= 128);
    match s.access() {
        Some(access) => {
            let rebuilt = format!("{}{}{}", s.entity(), rules.separator, access);
            assert_eq!(rebuilt, text, "entity/access do not rebuild the scope");
            assert!(!s.entity().is_empty() && !access.is_empty());
        }
        None => assert_eq!(s.entity(), text),
    }
    // Parsing the text again gives the same scope.
    assert_eq!(Scope::parse(text, rules).as_ref(), Ok(s));
    // A non-wildcard scope always satisfies itself.
    if !s.is_wildcard() {
        assert!(s.satisfies(s, rules), "{text:?} does not satisfy itself");
    }
}

fn check_set(set: &ScopeSet, rules: &ScopeRules) {
    assert!(set.len() <= 256);
    for s in set.iter() {
        check_scope(s, rules);
        if s.is_wildcard() {
            assert!(rules.wildcards, "wildcard grant kept with wildcards off");
        }
        assert!(set.contains_str(s.as_str()));
        assert!(set.allows(s, rules));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let rules = ScopeRules::default()
        .with_separator(SEPARATORS[usize::from(flags & 15)])
        .with_wildcards(flags & 16 != 0)
        .with_write_implies_read(flags & 32 != 0);
    let text = String::from_utf8_lossy(rest);
    let (granted_text, required_text) = text.split_once('\n').unwrap_or((&text, ""));

    let granted = ScopeSet::parse_delimited(granted_text, &rules);
    check_set(&granted, &rules);
    let required = ScopeSet::from_strs(required_text.split(' '), &rules);
    check_set(&required, &rules);
    // `from_strs` over the space-split string agrees with `parse_delimited`.
    assert_eq!(
        ScopeSet::from_strs(granted_text.split(' '), &rules),
        granted,
        "from_strs and parse_delimited disagree"
    );

    let both = granted.intersection(&required, &rules);
    let reverse = required.intersection(&granted, &rules);
    assert_eq!(both.len(), reverse.len(), "intersection is not symmetric");
    for s in both.iter() {
        assert!(reverse.contains_str(s.as_str()));
        assert!(granted.allows(s, &rules), "{s:?} not allowed by the grant");
        assert!(
            required.allows(s, &rules),
            "{s:?} not allowed by the other set"
        );
    }

    for part in required_text.split(' ') {
        match Scope::parse(part, &rules) {
            Ok(scope) => {
                check_scope(&scope, &rules);
                let req = Requirement::parse_scope(part, &rules);
                assert!(req.is_ok());
                if let Ok(req) = req {
                    assert_eq!(
                        req.is_met_by(&granted, &rules),
                        granted.allows(&scope, &rules)
                    );
                }
            }
            Err(e) => {
                let _ = e.to_string();
                assert!(Requirement::parse_scope(part, &rules).is_err());
            }
        }
    }
});
