//! The runtime scope parser agrees with the shared grammar cases, which the
//! macro crate's compile-time check is tested against too.

#[test]
fn runtime_parser_matches_the_shared_cases() {
    let rules = tollgate::ScopeRules::default();
    let long = "a".repeat(129);
    let mut n = 0;
    for line in include_str!("scope_grammar_cases.txt").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (want, scope) = line.split_once('\t').unwrap();
        let got = tollgate::Scope::parse(scope, &rules).is_ok();
        assert_eq!(got, want == "ok", "{scope:?}");
        n += 1;
    }
    assert!(n >= 20);
    assert!(tollgate::Scope::parse(&long, &rules).is_err());
}
