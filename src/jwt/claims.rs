//! A token's claims set, parsed in one pass that keeps only what the
//! verifier reads: the registered claims and the configured ones (scope,
//! identifiers, the customer-token marker), as values. Every other member
//! is checked exactly as a `serde_json::Map` would check it (the same
//! parser, driven through the same calls) and weighed, but not built: the
//! map of all claims is built from the kept JSON text only when asked for
//! ([`ClaimSet`]). Building that map on every uncached token was about a
//! third of the work around an RS256 signature check; finding claims in it
//! cost a `BTreeMap` lookup each.

use crate::context::{ClaimSet, heap};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

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

impl<'c> Registered<'c> {
    /// The registered claims of a map.
    #[cfg(test)]
    pub(crate) fn of_map(map: &'c serde_json::Map<String, Value>) -> Self {
        Self {
            iss: map.get("iss"),
            sub: map.get("sub"),
            aud: map.get("aud"),
            exp: map.get("exp"),
            nbf: map.get("nbf"),
            iat: map.get("iat"),
            jti: map.get("jti"),
        }
    }
}

/// The members kept from a claims set: the registered claims, and one
/// value per name asked for (in the order asked). A member present twice
/// counts as its last occurrence, as in a `serde_json::Map`.
#[derive(Debug, Default)]
pub(crate) struct Picked {
    iss: Option<Value>,
    sub: Option<Value>,
    aud: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    jti: Option<Value>,
    named: Vec<Option<Value>>,
}

impl Picked {
    pub(crate) fn registered(&self) -> Registered<'_> {
        Registered {
            iss: self.iss.as_ref(),
            sub: self.sub.as_ref(),
            aud: self.aud.as_ref(),
            exp: self.exp.as_ref(),
            nbf: self.nbf.as_ref(),
            iat: self.iat.as_ref(),
            jti: self.jti.as_ref(),
        }
    }

    /// The value of the `i`-th name asked for.
    pub(crate) fn named(&self, i: usize) -> Option<&Value> {
        self.named.get(i).and_then(Option::as_ref)
    }

    /// Takes the value of the `i`-th name asked for (moved, not copied,
    /// into the context that keeps it).
    pub(crate) fn take_named(&mut self, i: usize) -> Option<Value> {
        self.named.get_mut(i).and_then(Option::take)
    }

    /// Takes the `sub` claim's value.
    pub(crate) fn take_sub(&mut self) -> Option<Value> {
        self.sub.take()
    }

    /// Takes the `jti` claim's value.
    pub(crate) fn take_jti(&mut self) -> Option<Value> {
        self.jti.take()
    }
}

/// Parses a JWS payload: `None` unless it is a JSON object that
/// `serde_json::Map` accepts.
pub(crate) fn parse(json: Vec<u8>, names: &[&str]) -> Option<(ClaimSet, Picked)> {
    // Outside its strings, JSON is ASCII; inside them `serde_json` refuses
    // invalid UTF-8 too, so this refuses nothing a map would accept.
    let text = String::from_utf8(json).ok()?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let found = de.deserialize_map(Members { names }).ok()?;
    de.end().ok()?;
    let set = ClaimSet::lazy(
        text.into_boxed_str(),
        found.members,
        heap::json_map_nodes(found.members) + found.heap,
        found.has_cnf,
    );
    Some((set, found.picked))
}

struct Found {
    picked: Picked,
    members: usize,
    /// The members' heap in a map (keys and values; not the nodes).
    heap: usize,
    has_cnf: bool,
}

/// The top-level object.
struct Members<'n> {
    names: &'n [&'n str],
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut found = Found {
            picked: Picked {
                named: vec![None; self.names.len()],
                ..Picked::default()
            },
            members: 0,
            heap: 0,
            has_cnf: false,
        };
        while let Some(key) = map.next_key_seed(Key)? {
            found.members += 1;
            found.heap += heap::block(key.len());
            let p = &mut found.picked;
            let registered = match &*key {
                "iss" => Some(&mut p.iss),
                "sub" => Some(&mut p.sub),
                "aud" => Some(&mut p.aud),
                "exp" => Some(&mut p.exp),
                "nbf" => Some(&mut p.nbf),
                "iat" => Some(&mut p.iat),
                "jti" => Some(&mut p.jti),
                "cnf" => {
                    found.has_cnf = true;
                    None
                }
                _ => None,
            };
            if registered.is_none() && !self.names.iter().any(|n| **n == *key) {
                found.heap += map.next_value::<Weight>()?.0;
                continue;
            }
            let value: Value = map.next_value()?;
            found.heap += heap::json_value(&value);
            // Each slot that wants it gets it: copies for all but the last,
            // which takes the value itself.
            let mut slots = p
                .named
                .iter_mut()
                .zip(self.names)
                .filter(|(_, name)| ***name == *key)
                .map(|(slot, _)| slot)
                .chain(registered)
                .peekable();
            let mut value = Some(value);
            while let Some(slot) = slots.next() {
                *slot = if slots.peek().is_some() {
                    value.clone()
                } else {
                    value.take()
                };
            }
        }
        Ok(found)
    }
}

/// A member name, borrowed from the text unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// Any JSON value, parsed as a `serde_json::Value` is (the same
/// `deserialize_any` calls, so the same values are refused: numbers out of
/// range, bad escapes, lone surrogates, nesting too deep) but not built:
/// only the heap it would take (`context::heap`) is counted.
struct Weight(usize);

impl<'de> de::Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WeightVisitor)
    }
}

/// A member name inside a nested object: `serde_json::Value` reads it with
/// `deserialize_str`.
struct KeyWeight(usize);

impl<'de> de::Deserialize<'de> for KeyWeight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(WeightVisitor).map(|w| KeyWeight(w.0))
    }
}

struct WeightVisitor;

impl<'de> Visitor<'de> for WeightVisitor {
    type Value = Weight;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Weight, E> {
        Ok(Weight(0))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Weight, E> {
        Ok(Weight(0))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Weight, E> {
        Ok(Weight(0))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Weight, E> {
        Ok(Weight(0))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Weight, E> {
        Ok(Weight(heap::block(s.len())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Weight, E> {
        Ok(Weight(0))
    }

    fn visit_none<E: de::Error>(self) -> Result<Weight, E> {
        Ok(Weight(0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Weight, A::Error> {
        let (mut len, mut heap) = (0usize, 0usize);
        while let Some(Weight(w)) = seq.next_element()? {
            len += 1;
            heap += w;
        }
        Ok(Weight(heap::json_array_buffer(len) + heap))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Weight, A::Error> {
        let (mut members, mut heap) = (0usize, 0usize);
        while let Some(KeyWeight(k)) = map.next_key()? {
            let Weight(v) = map.next_value()?;
            members += 1;
            heap += k + v;
        }
        Ok(Weight(heap::json_map_nodes(members) + heap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `serde_json::Map` makes of `json`: `None` if it refuses it.
    fn as_map(json: &str) -> Option<serde_json::Map<String, Value>> {
        serde_json::from_slice(json.as_bytes()).ok()
    }

    /// Accepted and refused exactly as a `serde_json::Map` is; every kept
    /// value equal to the map's (last duplicate wins), the lazily built map
    /// equal to it, and the heap estimate equal to the built map's.
    #[test]
    fn answers_and_weighs_as_a_map() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let cases = [
            r#"{"iss":"i","sub":"s","aud":["a","b"],"exp":5,"nbf":1,"iat":2,"jti":"j","scope":"x y","client_id":"c","other":{"k":[1,2,3,4,5],"m":{"n":null}},"cnf":{"jkt":"t"}}"#,
            r#"{"exp":1,"exp":2,"scope":"a","scope":["b"]}"#,
            r#"{"e\u0078p":7,"s\"q":"\u00e9\n"}"#,
            r#"{}"#,
            r#"{"big":1e400}"#,
            r#"{"small":-1e400}"#,
            r#"{"n":18446744073709551616}"#,
            r#"{"lone":"\ud800"}"#,
            r#"{"pair":"\ud83d\ude00"}"#,
            r#"{"bad":"\x"}"#,
            r#"{"ctrl":"a	b"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"[1,2]"#,
            r#""text""#,
            r#"{"a":tru}"#,
            r#"{"a":01}"#,
            &deep,
            r#"{"arr":[[],[{}],[1,[2,[3]]],"x","#,
        ];
        let names = ["scope", "client_id", "sub", "missing", "exp"];
        let mut accepted = 0;
        for json in cases {
            let want = as_map(json);
            let got = parse(json.as_bytes().to_vec(), &names);
            assert_eq!(got.is_some(), want.is_some(), "{json}");
            let (Some((set, picked)), Some(map)) = (got, want) else {
                continue;
            };
            accepted += 1;
            let r = picked.registered();
            for (got, name) in [
                (r.iss, "iss"),
                (r.sub, "sub"),
                (r.aud, "aud"),
                (r.exp, "exp"),
                (r.nbf, "nbf"),
                (r.iat, "iat"),
                (r.jti, "jti"),
            ] {
                assert_eq!(got, map.get(name), "{json}: {name}");
            }
            for (i, name) in names.iter().enumerate() {
                assert_eq!(picked.named(i), map.get(*name), "{json}: {name}");
            }
            assert_eq!(set.has_confirmation(), map.contains_key("cnf"), "{json}");
            assert_eq!(set.is_empty(), map.is_empty(), "{json}");
            // Without duplicates, the estimate is the built map's.
            if json != cases[1] {
                let text = heap::block(json.len());
                assert_eq!(set.heap_bytes(), text + heap::json_map(&map), "{json}");
            }
            assert_eq!(set.map(), &map, "{json}");
        }
        // Both kinds of case are there: 6 accepted, the rest refused.
        assert_eq!(accepted, 6);
    }

    /// Mutations of a realistic payload (bytes replaced, inserted and
    /// removed, from a fixed-seed generator): each answered as a
    /// `serde_json::Map` answers it, with the same map.
    #[test]
    fn mutated_payloads_answer_as_a_map() {
        let seed = r#"{"iss":"https://issuer.test","sub":"u-1","aud":["api","x"],"exp":4000000000,"nbf":1.5,"iat":-2,"jti":"j\u00e9","scope":"orders:read orders:write","client_id":"c","cnf":{"jkt":"abc"},"n":[1,[2.5e3,{"k":null}],true,false],"s":"\ud83d\ude00\n"}"#;
        let alphabet = b"{}[]:,\"\\ 0123456789.eE+-truefalsnulx\xc3\x98\xff";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len());
                let b = alphabet[next(alphabet.len())];
                match next(3) {
                    0 => bytes[at] = b,
                    1 => bytes.insert(at, b),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let want: Option<serde_json::Map<String, Value>> = serde_json::from_slice(&bytes).ok();
            let got = parse(bytes.clone(), &["scope", "client_id"]);
            assert_eq!(
                got.as_ref().map(|(set, _)| set.map()),
                want.as_ref(),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            if want.is_some() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        // The mutations exercise both answers.
        assert!(
            accepted > 1_000 && refused > 1_000,
            "{accepted} / {refused}"
        );
    }
}
