//! One pass over a token's claims set, picking out the members the verifier
//! reads, instead of one map lookup per claim (the map is a `BTreeMap` of
//! strings: a lookup compares names along a node, ~290 instructions for a
//! typical access token, and an uncached verification made fourteen).

use serde_json::{Map, Value};

/// The registered claims (RFC 7519 §4.1) the verifier reads, as found.
#[derive(Clone, Copy, Default)]
pub(crate) struct Registered<'c> {
    pub(crate) iss: Option<&'c Value>,
    pub(crate) sub: Option<&'c Value>,
    pub(crate) aud: Option<&'c Value>,
    pub(crate) exp: Option<&'c Value>,
    pub(crate) nbf: Option<&'c Value>,
    pub(crate) iat: Option<&'c Value>,
    pub(crate) jti: Option<&'c Value>,
}

/// The registered claims of `claims` and the members named by `names`
/// (configured claim names, which may also be registered ones), in one
/// pass over the map.
pub(crate) fn pick<'c, const N: usize>(
    claims: &'c Map<String, Value>,
    names: [&str; N],
) -> (Registered<'c>, [Option<&'c Value>; N]) {
    let mut found = Registered::default();
    let mut named = [None; N];
    for (name, value) in claims {
        let slot = match name.as_str() {
            "iss" => &mut found.iss,
            "sub" => &mut found.sub,
            "aud" => &mut found.aud,
            "exp" => &mut found.exp,
            "nbf" => &mut found.nbf,
            "iat" => &mut found.iat,
            "jti" => &mut found.jti,
            _ => &mut None,
        };
        *slot = Some(value);
        for (slot, wanted) in named.iter_mut().zip(names) {
            if name == wanted {
                *slot = Some(value);
            }
        }
    }
    (found, named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every pick equals the map's own lookup, registered and configured
    /// names alike, present or not, and whichever name is configured twice.
    #[test]
    fn picks_equal_lookups() {
        let Value::Object(map) = json!({
            "iss": "i", "sub": "s", "aud": ["a", "b"], "exp": 5, "nbf": 1,
            "iat": 2, "jti": "j", "scope": "x y", "client_id": "c", "other": {"k": 1}
        }) else {
            unreachable!()
        };
        let names = ["scope", "client_id", "sub", "missing", "iss"];
        let (found, named) = pick(&map, names);
        for (got, name) in [
            (found.iss, "iss"),
            (found.sub, "sub"),
            (found.aud, "aud"),
            (found.exp, "exp"),
            (found.nbf, "nbf"),
            (found.iat, "iat"),
            (found.jti, "jti"),
        ] {
            assert_eq!(got, map.get(name), "{name}");
        }
        for (got, name) in named.iter().zip(names) {
            assert_eq!(*got, map.get(name), "{name}");
        }
        let empty = Map::new();
        let (found, named) = pick(&empty, ["scope"]);
        assert!(found.iss.is_none() && found.exp.is_none() && named[0].is_none());
    }
}
