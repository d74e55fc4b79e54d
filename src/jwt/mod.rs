//! JWT verification: validation rules, key sets, remote JWKS and OIDC discovery.
//!
//! The pipeline for one token, each step refusing with `invalid_token` unless
//! noted:
//!
//! 1. strict parse ([`token`]): shape, base64url, header, `alg`, `crit`;
//! 2. the *unverified* `iss` picks which configured issuer's rules and keys
//!    apply: nothing else is trusted before the signature is checked;
//! 3. the issuer's algorithm allow-list and optional `typ` rule;
//! 4. key lookup by `kid` (or the only key), where the key's own binding must
//!    allow the token's `alg`; an unknown `kid` on a remote source triggers a
//!    (rate-limited, shared) refresh;
//! 5. signature verification through `jsonwebtoken`'s crypto provider;
//! 6. `exp` (required; `Expired` when past, beyond leeway), `nbf`, `iss`
//!    exact match, `aud` must contain a configured audience.

mod algorithms;
mod b64;
pub(crate) mod cache;
pub(crate) mod claims;
#[cfg(feature = "aws_lc_rs")]
mod fast;
pub(crate) mod jwk;
pub(crate) mod keys;
pub(crate) mod remote;
pub(crate) mod token;

pub use cache::TokenCacheSettings;
pub use remote::RemoteKeySettings;

use crate::error::AuthErrorKind;
use keys::{AlgSet, KeyLookup, KeySet};
use remote::RemoteKeys;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One configured issuer, ready to verify.
#[derive(Debug)]
pub(crate) struct IssuerVerifier {
    pub(crate) issuer: Box<str>,
    pub(crate) audiences: Vec<Box<str>>,
    pub(crate) algorithms: AlgSet,
    pub(crate) required_typ: Option<Box<str>>,
    pub(crate) leeway_secs: u64,
    pub(crate) static_keys: KeySet,
    pub(crate) remote: Option<Arc<RemoteKeys>>,
}

/// Why verification did not succeed.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// Refuse with this kind and fixed description.
    Refuse(AuthErrorKind, &'static str),
    /// The remote key set must be (re)fetched before a verdict; carries the
    /// generation the lookup saw.
    NeedKeys(u64),
}

fn invalid(desc: &'static str) -> Rejection {
    Rejection::Refuse(AuthErrorKind::InvalidToken, desc)
}

pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn numeric_date(v: Option<&serde_json::Value>) -> Result<Option<f64>, ()> {
    match v {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

impl IssuerVerifier {
    /// Verifies `tok` against this issuer. `allow_fetch` is false on the
    /// second pass after a refresh, so an unknown `kid` then is final.
    pub(crate) fn verify(
        &self,
        tok: &token::UnverifiedToken<'_>,
        claims: &claims::Registered<'_>,
        allow_fetch: bool,
    ) -> Result<(), Rejection> {
        if !self.algorithms.contains(tok.alg) {
            return Err(invalid("the token algorithm is not accepted"));
        }
        if let Some(expected) = &self.required_typ
            && !token::typ_matches(tok.typ.as_deref(), expected)
        {
            return Err(invalid("the token type is not accepted"));
        }
        let kid = tok.kid.as_deref();
        if kid.is_some_and(|k| k.is_empty() || k.len() > 256) {
            return Err(invalid("no key matches the token"));
        }

        let key = match self.static_keys.lookup(kid, tok.alg) {
            KeyLookup::Found(k) => Some(k),
            _ => None,
        };
        let remote_guard;
        let key = match (key, &self.remote) {
            (Some(k), _) => k,
            (None, None) => return Err(invalid("no key matches the token")),
            (None, Some(remote)) => {
                remote.refresh_if_due();
                let generation = remote.generation();
                remote_guard = remote.current();
                match remote_guard.as_deref() {
                    None if allow_fetch => return Err(Rejection::NeedKeys(generation)),
                    None => {
                        return Err(Rejection::Refuse(
                            AuthErrorKind::Unavailable,
                            "the issuer's keys are unavailable",
                        ));
                    }
                    Some(set) => match set.lookup(kid, tok.alg) {
                        KeyLookup::Found(k) => k,
                        KeyLookup::UnknownKid if allow_fetch => {
                            return Err(Rejection::NeedKeys(generation));
                        }
                        _ => return Err(invalid("no key matches the token")),
                    },
                }
            }
        };

        if !key.verify(tok.alg, tok.message.as_bytes(), tok.signature) {
            return Err(invalid("the token signature is invalid"));
        }

        self.validate_claims(claims, now_secs())
    }

    pub(crate) fn validate_claims(
        &self,
        claims: &claims::Registered<'_>,
        now: f64,
    ) -> Result<(), Rejection> {
        let leeway = self.leeway_secs as f64;
        let exp = numeric_date(claims.exp)
            .map_err(|()| invalid("the exp claim is malformed"))?
            .ok_or_else(|| invalid("the token has no exp claim"))?;
        if let Some(nbf) =
            numeric_date(claims.nbf).map_err(|()| invalid("the nbf claim is malformed"))?
            && nbf > now + leeway
        {
            return Err(invalid("the token is not yet valid"));
        }
        numeric_date(claims.iat).map_err(|()| invalid("the iat claim is malformed"))?;
        // RFC 7519 §4.1: `sub` and `jti` are strings when present; nothing
        // is coerced (a numeric or structured `sub` is refused, not read as text).
        if claims.sub.is_some_and(|v| !v.is_string()) {
            return Err(invalid("the sub claim is malformed"));
        }
        if claims.jti.is_some_and(|v| !v.is_string()) {
            return Err(invalid("the jti claim is malformed"));
        }
        match claims.iss {
            Some(serde_json::Value::String(iss)) if **iss == *self.issuer => {}
            Some(_) => return Err(invalid("the token issuer is not accepted")),
            None => return Err(invalid("the token has no iss claim")),
        }
        let aud_ok = match claims.aud {
            Some(serde_json::Value::String(a)) => self.audiences.iter().any(|x| **x == **a),
            Some(serde_json::Value::Array(items)) => {
                // Every member must be a string (RFC 7519 §4.1.3).
                if !items.iter().all(serde_json::Value::is_string) {
                    return Err(invalid("the aud claim is malformed"));
                }
                items.iter().any(|item| {
                    item.as_str()
                        .is_some_and(|a| self.audiences.iter().any(|x| **x == *a))
                })
            }
            Some(_) => return Err(invalid("the aud claim is malformed")),
            None => return Err(invalid("the token has no aud claim")),
        };
        if !aud_ok {
            return Err(invalid("the token audience is not accepted"));
        }
        // Expiry last: a token that is wrong in any other way is reported as
        // invalid, not merely expired.
        if exp + leeway <= now {
            return Err(Rejection::Refuse(
                AuthErrorKind::Expired,
                "the token has expired",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer() -> IssuerVerifier {
        IssuerVerifier {
            issuer: "https://issuer.example".into(),
            audiences: vec!["api".into()],
            algorithms: AlgSet::all(),
            required_typ: None,
            leeway_secs: 60,
            static_keys: KeySet::default(),
            remote: None,
        }
    }

    fn check(claims: serde_json::Value) -> Result<(), Rejection> {
        let map = claims.as_object().cloned().unwrap();
        issuer().validate_claims(&claims::Registered::of_map(&map), 1_000_000.0)
    }

    fn kind(r: Result<(), Rejection>) -> Option<AuthErrorKind> {
        match r {
            Ok(()) => None,
            Err(Rejection::Refuse(k, _)) => Some(k),
            Err(Rejection::NeedKeys(_)) => panic!("unexpected NeedKeys"),
        }
    }

    #[test]
    fn claim_rules() {
        let base = json!({"iss":"https://issuer.example","aud":"api","exp":1_000_100});
        assert_eq!(kind(check(base.clone())), None);
        let mut c = base.clone();
        c["aud"] = json!(["other", "api"]);
        assert_eq!(kind(check(c)), None);
        let mut c = base.clone();
        c["aud"] = json!(["other"]);
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
        let mut c = base.clone();
        c["aud"] = json!("API");
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove("aud");
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove("iss");
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
        let mut c = base.clone();
        c["iss"] = json!("https://issuer.example/");
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
        let mut c = base.clone();
        c["exp"] = json!("1000100");
        assert_eq!(kind(check(c)), Some(AuthErrorKind::InvalidToken));
    }

    #[test]
    fn registered_claims_are_type_checked() {
        let base = json!({"iss":"https://issuer.example","aud":"api","exp":1_000_100,"sub":"u1"});
        assert_eq!(kind(check(base.clone())), None);
        let bad = [
            ("sub", json!(12345)),
            ("sub", json!({"id": "admin"})),
            ("sub", json!(["a", "b"])),
            ("sub", json!(null)),
            ("jti", json!(7)),
            ("iss", json!(["https://issuer.example"])),
            ("exp", json!([1_000_100])),
            ("nbf", json!("0")),
            ("iat", json!({"t": 1})),
            ("aud", json!(["api", 7])),
            ("aud", json!({"aud": "api"})),
            ("aud", json!(42)),
        ];
        for (claim, value) in bad {
            let mut c = base.clone();
            c[claim] = value.clone();
            assert_eq!(
                kind(check(c)),
                Some(AuthErrorKind::InvalidToken),
                "{claim} = {value}"
            );
        }
    }

    #[test]
    fn time_rules_with_leeway() {
        let base = json!({"iss":"https://issuer.example","aud":"api"});
        let with = |k: &str, v: f64, exp: f64| {
            let mut c = base.clone();
            c["exp"] = json!(exp);
            if !k.is_empty() {
                c[k] = json!(v);
            }
            kind(check(c))
        };
        // expired beyond leeway
        assert_eq!(with("", 0.0, 999_900.0), Some(AuthErrorKind::Expired));
        // expired within leeway
        assert_eq!(with("", 0.0, 999_950.0), None);
        // nbf in the future beyond leeway
        assert_eq!(
            with("nbf", 1_000_100.0, 2e6),
            Some(AuthErrorKind::InvalidToken)
        );
        assert_eq!(with("nbf", 1_000_030.0, 2e6), None);
    }
}
