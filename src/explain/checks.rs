//! The per-step checks of a token, in the verifier's order: shape, header,
//! type, issuer, algorithm, key, signature, then each claim.

use super::format::when;
use super::keys::{allowed_algorithms, describe_static, static_alg, static_kid, verify_static};
use super::*;

/// Pushes the checks up to the first failure.
pub(super) fn checks(
    config: &AuthConfig,
    raw: &str,
    verdict: Option<&'static str>,
    steps: &mut Vec<Step>,
) {
    macro_rules! stop {
        ($s:expr) => {{
            steps.push($s);
            return;
        }};
    }
    // Shape and size.
    let parts: Vec<&str> = raw.split('.').collect();
    let sizes = match parts.as_slice() {
        [h, p, s] => format!(
            "3 parts: header {} bytes, payload {} bytes, signature <{} bytes>",
            h.len(),
            p.len(),
            URL_SAFE_NO_PAD
                .decode(s)
                .map_or(s.len() * 3 / 4, |b| b.len())
        ),
        _ => format!("{} parts (a JWS has 3)", parts.len()),
    };
    let max = config.credentials.max_token_bytes;
    if raw.len() > max {
        stop!(fail(
            "shape",
            format!("{} bytes, over the {max}-byte limit", raw.len()),
            "the token exceeds the size limit"
        ));
    }
    let tok = match token::parse(raw) {
        Ok(t) => t,
        Err(e) => {
            let desc = e.description();
            match e {
                ParseError::Shape | ParseError::Encrypted | ParseError::Encoding => {
                    stop!(fail("shape", format!("{sizes}: {desc}"), desc))
                }
                ParseError::Payload => {
                    steps.push(step("shape", true, sizes));
                    stop!(fail("payload", desc, desc))
                }
                _ => {
                    steps.push(step("shape", true, sizes));
                    stop!(fail("header", desc, desc))
                }
            }
        }
    };
    steps.push(step("shape", true, sizes));
    let alg = format!("{:?}", tok.alg);
    steps.push(step(
        "header",
        true,
        format!(
            "alg {alg}, kid {}, typ {}",
            tok.kid.as_deref().map_or("-".into(), |k| format!("{k:?}")),
            tok.typ.as_deref().map_or("-".into(), |t| format!("{t:?}"))
        ),
    ));

    // Access vs customer token (checked before anything else is trusted).
    let marker = config.customer_tokens.as_ref().map(|c| &c.marker);
    let marked = marker.is_some_and(|m| match m {
        TokenMarker::Claim { claim, value } => {
            tok.claims.map().get(claim).and_then(Value::as_str) == Some(value.as_str())
        }
        TokenMarker::Typ { typ } => token::typ_matches(tok.typ.as_deref(), typ),
    });
    if marked {
        stop!(fail(
            "type",
            "a customer token (it carries the customer-token marker), not an access token",
            "a customer token cannot be used as an access token"
        ));
    }
    steps.push(step(
        "type",
        true,
        if marker.is_some() {
            "access token (no customer-token marker)"
        } else {
            "access token"
        },
    ));

    // The unverified `iss` picks the issuer.
    let iss = tok.claims.map().get("iss").and_then(Value::as_str);
    let Some(ic) = config
        .issuers
        .iter()
        .find(|i| Some(i.issuer.as_str()) == iss)
    else {
        let configured: Vec<&str> = config.issuers.iter().map(|i| i.issuer.as_str()).collect();
        stop!(fail(
            "issuer",
            format!("iss {iss:?} is not a configured issuer ({configured:?})"),
            "the token issuer is not accepted"
        ));
    };
    steps.push(step(
        "issuer",
        true,
        format!("iss {:?} selects the configured issuer", ic.issuer),
    ));

    // Algorithm allow-list.
    let allowed = allowed_algorithms(ic);
    let alg_desc = "the token algorithm is not accepted";
    match &allowed {
        Some(list) if !list.contains(&alg) => stop!(fail(
            "algorithm",
            format!("{alg} is not allowed (allowed: {})", list.join(", ")),
            alg_desc
        )),
        Some(list) => steps.push(step(
            "algorithm",
            true,
            format!("{alg} is allowed ({})", list.join(", ")),
        )),
        None if verdict == Some(alg_desc) => {
            stop!(fail("algorithm", format!("{alg} is not allowed"), alg_desc))
        }
        None => steps.push(step("algorithm", true, format!("{alg} is allowed"))),
    }
    if let Some(typ) = &ic.typ {
        if !token::typ_matches(tok.typ.as_deref(), typ) {
            stop!(fail(
                "typ",
                format!("typ {:?} is not the required {typ:?}", tok.typ),
                "the token type is not accepted"
            ));
        }
        steps.push(step("typ", true, format!("typ matches {typ:?}")));
    }

    // Key lookup and signature.
    let key_desc = [
        "no key matches the token",
        "the issuer's keys are unavailable",
    ];
    let sig_desc = "the token signature is invalid";
    let kid = tok.kid.as_deref();
    let candidates: Vec<&KeySource> = ic
        .keys
        .iter()
        .filter(|k| static_alg(k).is_some_and(|a| a == alg))
        .filter(|k| kid.is_none() || static_kid(k) == kid)
        .collect();
    let found = match (kid, candidates.as_slice()) {
        (Some(_), [first, ..]) => Some(*first),
        (None, [only]) => Some(*only),
        _ => None,
    };
    let remote = ic.keys.iter().find_map(|k| match k {
        KeySource::JwksUrl { url } => Some(format!("the JWKS URL {url}")),
        KeySource::Discovery => Some(format!(
            "discovery ({}/.well-known/openid-configuration → jwks_uri)",
            ic.issuer.trim_end_matches('/')
        )),
        _ => None,
    });
    let inline_jwks = ic.keys.iter().any(|k| matches!(k, KeySource::Jwks { .. }));
    match found {
        Some(source) => {
            steps.push(step(
                "key",
                true,
                format!("static {} (configuration)", describe_static(source)),
            ));
            match verify_static(source, &tok) {
                Some(true) => steps.push(step("signature", true, "valid")),
                Some(false) => stop!(fail(
                    "signature",
                    "does not match the header and payload under this key",
                    sig_desc
                )),
                None if verdict == Some(sig_desc) => stop!(fail("signature", "invalid", sig_desc)),
                None => steps.push(step("signature", true, "valid (checked by the verifier)")),
            }
        }
        None if remote.is_some() || inline_jwks => {
            let from = remote.unwrap_or_else(|| "the inline JWKS".to_owned());
            let kid_text = kid.map_or("(no kid)".into(), |k| format!("kid {k:?}"));
            if let Some(d) = verdict.filter(|d| key_desc.contains(d)) {
                stop!(fail(
                    "key",
                    format!("{kid_text} not found in {from}: {d}"),
                    d
                ));
            }
            steps.push(step("key", true, format!("{kid_text} {alg} from {from}")));
            if verdict == Some(sig_desc) {
                stop!(fail("signature", "invalid under that key", sig_desc));
            }
            steps.push(step("signature", true, "valid (checked by the verifier)"));
        }
        None => stop!(fail(
            "key",
            format!(
                "no configured key for {alg} with {}",
                kid.map_or("no kid (exactly one key must fit)".into(), |k| format!(
                    "kid {k:?}"
                ))
            ),
            key_desc[0]
        )),
    }

    // Registered claims, in the verifier's order (expiry last).
    claim_checks(ic, tok.claims.map(), steps);
    if steps.last().is_some_and(|s| !s.ok) {
        return;
    }
    // What the verifier maps from the claims (scope and identifier claims).
    match verdict {
        Some(d @ ("the scope claim is malformed" | "an identifier claim is malformed")) => {
            steps.push(fail("claims", d, d));
        }
        _ => {
            let names = &config.claims;
            let get = |n: &str| {
                tok.claims
                    .map()
                    .get(n)
                    .map_or("-".to_owned(), |v| v.to_string())
            };
            steps.push(step(
                "claims",
                true,
                format!(
                    "client {}, account {}, scopes {}",
                    get(&names.client_id),
                    get(&names.account),
                    get(&names.scope)
                ),
            ));
        }
    }
}

pub(super) fn claim_checks(ic: &IssuerConfig, claims: &Map<String, Value>, steps: &mut Vec<Step>) {
    let now = crate::jwt::now_secs();
    let leeway = ic.leeway_secs as f64;
    let date = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(Some).ok_or(()),
        Some(_) => Err(()),
    };
    let exp = match date("exp") {
        Ok(Some(exp)) => exp,
        Ok(None) => {
            steps.push(fail(
                "exp",
                "absent (required)",
                "the token has no exp claim",
            ));
            return;
        }
        Err(()) => {
            steps.push(fail("exp", "not a number", "the exp claim is malformed"));
            return;
        }
    };
    match date("nbf") {
        Err(()) => {
            steps.push(fail("nbf", "not a number", "the nbf claim is malformed"));
            return;
        }
        Ok(Some(nbf)) if nbf > now + leeway => {
            steps.push(fail(
                "nbf",
                format!(
                    "{} is in the future beyond the {leeway}s leeway",
                    when(nbf, now)
                ),
                "the token is not yet valid",
            ));
            return;
        }
        Ok(Some(nbf)) => steps.push(step("nbf", true, when(nbf, now))),
        Ok(None) => steps.push(step("nbf", true, "absent")),
    }
    match date("iat") {
        Err(()) => {
            steps.push(fail("iat", "not a number", "the iat claim is malformed"));
            return;
        }
        Ok(Some(iat)) => steps.push(step("iat", true, when(iat, now))),
        Ok(None) => steps.push(step("iat", true, "absent")),
    }
    for (name, desc) in [
        ("sub", "the sub claim is malformed"),
        ("jti", "the jti claim is malformed"),
    ] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            steps.push(fail(name, "not a string", desc));
            return;
        }
    }
    match claims.get("iss") {
        Some(Value::String(iss)) if *iss == ic.issuer => {
            steps.push(step("iss", true, format!("{iss:?} matches exactly")));
        }
        other => {
            steps.push(fail(
                "iss",
                format!("{other:?} is not {:?}", ic.issuer),
                if other.is_none() {
                    "the token has no iss claim"
                } else {
                    "the token issuer is not accepted"
                },
            ));
            return;
        }
    }
    let accepted = |a: &str| ic.audiences.iter().any(|x| x == a);
    let (aud_ok, malformed) = match claims.get("aud") {
        Some(Value::String(a)) => (accepted(a), false),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            (items.iter().filter_map(Value::as_str).any(accepted), false)
        }
        None => {
            steps.push(fail(
                "aud",
                "absent (required)",
                "the token has no aud claim",
            ));
            return;
        }
        Some(_) => (false, true),
    };
    let aud_text = claims.get("aud").map(Value::to_string).unwrap_or_default();
    if malformed {
        steps.push(fail(
            "aud",
            format!("{aud_text} is malformed"),
            "the aud claim is malformed",
        ));
        return;
    }
    if !aud_ok {
        steps.push(fail(
            "aud",
            format!(
                "{aud_text} is not an accepted audience ({:?})",
                ic.audiences
            ),
            "the token audience is not accepted",
        ));
        return;
    }
    steps.push(step("aud", true, format!("{aud_text} is accepted")));
    if exp + leeway <= now {
        steps.push(fail(
            "exp",
            format!("{}: expired (leeway {leeway}s)", when(exp, now)),
            "the token has expired",
        ));
        return;
    }
    steps.push(step("exp", true, when(exp, now)));
}
