//! Why a token passes or is refused: the checks of the verifier, one line
//! each, in the order the verifier makes them, with the real verdict of an
//! [`Authenticator`] at the end (feature `cli`; used by `tollgate explain`).
//!
//! The per-step lines are explanatory; the verdict is what the layer would
//! answer. If the two ever disagree, the verdict wins and the report says so.
//! Nothing printed contains the token's signature (shown as `<N bytes>`) or
//! a configured secret.
//!
//! ```
//! use tollgate::explain::explain;
//! use tollgate::{AuthConfig, IssuerConfig};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let config = AuthConfig::default().with_issuer(
//!     IssuerConfig::new("https://auth.example.com/")
//!         .audience("orders-api")
//!         .hmac_secret("a-very-long-shared-secret-of-32+-bytes"),
//! );
//! let report = explain(config, "not-a-jwt", &[]).await.unwrap();
//! assert_eq!(report.exit_code(), 1);
//! let text = report.render();
//! assert!(text.starts_with("✗ shape"), "{text}");
//! assert!(text.contains("401 invalid_token"), "{text}");
//! # });
//! ```

use crate::config::{AuthConfig, ConfigError, IssuerConfig, KeySource, Secret, TokenMarker};
use crate::error::AuthError;
use crate::jwt::token::{self, ParseError};
use crate::policy::{Requirement, all};
use crate::{AuthContext, Authenticator};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::Path;

/// The configuration given on the command line or in the `TOLLGATE_*`
/// environment (the same variables as `examples/axum_api.rs`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Settings {
    /// `iss` (default `https://tollgate.local`, as the examples).
    pub issuer: Option<String>,
    /// Accepted audience (default `tollgate-demo`, as the examples).
    pub audience: Option<String>,
    /// A remote JWKS URL.
    pub jwks_url: Option<String>,
    /// OIDC discovery from the issuer.
    pub discovery: bool,
    /// An HS256 secret.
    pub hs256_secret: Option<Secret>,
    /// A PEM public key (the text).
    pub public_key_pem: Option<String>,
    /// The algorithm of the PEM key (default `RS256`).
    pub algorithm: Option<Algorithm>,
    /// Clock-skew leeway in seconds (default 60).
    pub leeway_secs: Option<u64>,
    /// The scope claim (default `scope`).
    pub scope_claim: Option<String>,
}

impl Settings {
    /// The [`AuthConfig`] these settings describe, as the layer would be
    /// configured: exactly one key source is required.
    pub fn into_config(self) -> Result<AuthConfig, ConfigError> {
        let sources = [
            self.jwks_url.is_some(),
            self.discovery,
            self.hs256_secret.is_some(),
            self.public_key_pem.is_some(),
        ];
        match sources.iter().filter(|s| **s).count() {
            0 => {
                return Err(ConfigError::new(
                    "no key source: give one of --jwks-url, --discovery, --hs256-secret, \
                     --public-key-pem or --config (or TOLLGATE_JWKS_URL, TOLLGATE_DISCOVERY=1, \
                     TOLLGATE_HS256_SECRET)",
                ));
            }
            1 => {}
            _ => return Err(ConfigError::new("give only one key source")),
        }
        let mut ic = IssuerConfig::new(
            self.issuer
                .unwrap_or_else(|| "https://tollgate.local".into()),
        )
        .audience(self.audience.unwrap_or_else(|| "tollgate-demo".into()))
        .leeway_secs(self.leeway_secs.unwrap_or(60));
        if let Some(url) = self.jwks_url {
            ic = ic.jwks_url(url);
        } else if self.discovery {
            ic = ic.discovery();
        } else if let Some(secret) = self.hs256_secret {
            // As the examples: a short secret is allowed (with a warning there).
            ic = ic.key(KeySource::HmacSecret {
                secret,
                algorithm: Some(Algorithm::HS256),
                allow_short: true,
            });
        } else if let Some(pem) = self.public_key_pem {
            ic = ic.public_key_pem(pem, self.algorithm.unwrap_or(Algorithm::RS256));
        }
        let mut claims = crate::config::ClaimNames::default();
        if let Some(scope) = self.scope_claim {
            claims = claims.with_scope(scope);
        }
        Ok(AuthConfig::default().with_issuer(ic).with_claims(claims))
    }
}

/// Reads an [`AuthConfig`] from a JSON (`.json`, or text starting with `{`)
/// or TOML file.
pub fn load_config_file(path: &Path) -> Result<AuthConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))?;
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    if json {
        serde_json::from_str(&text).map_err(|e| {
            ConfigError::new(format!(
                "{} (line {}, column {}): {}",
                path.display(),
                e.line(),
                e.column(),
                redact_quoted(&e.to_string())
            ))
        })
    } else {
        // Only the message and position: the error's own Display quotes the
        // offending line, which may hold a secret.
        toml::from_str(&text).map_err(|e: toml::de::Error| {
            let at = e.span().map_or(String::new(), |span| {
                let line = text
                    .get(..span.start)
                    .map_or(1, |t| t.matches('\n').count() + 1);
                format!(" (line {line})")
            });
            ConfigError::new(format!(
                "{}{at}: {}",
                path.display(),
                redact_quoted(e.message())
            ))
        })
    }
}

/// Replaces double-quoted text in a parser message with `"…"`: parsers
/// quote the values they reject, and a rejected value may be a secret.
fn redact_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut quoted = false;
    for c in msg.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"…\"");
                quoted = true;
            }
            ('"', true) => quoted = false,
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    out
}

/// One check and its outcome.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Step {
    /// What was checked (`shape`, `header`, `signature`, `aud`, …).
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// The verifier's error description this failure corresponds to.
    expect: Option<&'static str>,
}

/// The result of [`explain`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Report {
    /// The checks, up to and including the first failure.
    pub steps: Vec<Step>,
    /// The verdict of the real authenticator (and of `--require`).
    pub verdict: Result<AuthContext, AuthError>,
    /// Whether the steps agree with the verdict.
    pub agrees: bool,
}

impl Report {
    /// 0 when the token passes, 1 when it is refused.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.verdict.is_err())
    }

    /// The report as printed by `tollgate explain`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            let mark = if s.ok { '✓' } else { '✗' };
            let _ = writeln!(out, "{mark} {:<10} {}", s.name, s.detail);
        }
        match &self.verdict {
            Ok(ctx) => {
                let _ = writeln!(
                    out,
                    "verdict: accepted (client {:?}, account {:?}, customer {:?})",
                    ctx.client_id().unwrap_or("-"),
                    ctx.account().unwrap_or("-"),
                    ctx.customer().unwrap_or("-"),
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "verdict: refused: {} {}: {}",
                    e.status().as_u16(),
                    e.kind().code(),
                    e.description()
                );
                if let Some(h) = e
                    .www_authenticate()
                    .and_then(|h| h.to_str().ok().map(str::to_owned))
                {
                    let _ = writeln!(out, "  WWW-Authenticate: {h}");
                }
                let _ = writeln!(out, "  body: {}", e.body());
            }
        }
        if !self.agrees {
            let _ = writeln!(
                out,
                "note: the step-by-step explanation disagrees with the verifier; the verdict above wins"
            );
        }
        out
    }
}

fn step(name: &'static str, ok: bool, detail: impl Into<String>) -> Step {
    Step {
        name,
        ok,
        detail: detail.into(),
        expect: None,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, expect: &'static str) -> Step {
    Step {
        name,
        ok: false,
        detail: detail.into(),
        expect: Some(expect),
    }
}

/// Checks `token` as an access token under `config`, then `require`d scopes.
/// Fails only when the configuration (or a required scope) is invalid.
pub async fn explain(
    config: AuthConfig,
    token: &str,
    require: &[String],
) -> Result<Report, ConfigError> {
    let requirement = if require.is_empty() {
        None
    } else {
        let reqs = require
            .iter()
            .map(|s| {
                Requirement::parse_scope(s, &config.scopes)
                    .map_err(|e| ConfigError::new(format!("--require {s:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(all(reqs))
    };
    let auth = Authenticator::from_config(config.clone())?;
    let verdict = match auth.verify_access_token(token).await {
        Ok(ctx) => match &requirement {
            Some(req) => ctx.require(req).map(|()| ctx),
            None => Ok(ctx),
        },
        Err(e) => Err(e),
    };
    let verdict_desc = verdict.as_ref().err().map(AuthError::description);
    let mut steps = Vec::new();
    checks(&config, token, verdict_desc, &mut steps);
    if let (Some(_), Some(last)) = (&requirement, steps.last())
        && last.ok
    {
        steps.push(scopes_step(&verdict, require));
    }
    let first_failure = steps.iter().find(|s| !s.ok);
    let agrees = match (first_failure, &verdict) {
        (None, Ok(_)) => true,
        (Some(s), Err(e)) => s.expect.is_none_or(|d| d == e.description()),
        _ => false,
    };
    Ok(Report {
        steps,
        verdict,
        agrees,
    })
}

fn scopes_step(verdict: &Result<AuthContext, AuthError>, require: &[String]) -> Step {
    match verdict {
        Ok(ctx) => step(
            "scopes",
            true,
            format!(
                "granted \"{}\" covers {}",
                ctx.scopes()
                    .iter()
                    .map(crate::Scope::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                require.join(" ")
            ),
        ),
        Err(e) if e.kind() == crate::AuthErrorKind::InsufficientScope => fail(
            "scopes",
            format!("missing {}", e.scope().unwrap_or("?")),
            e.description(),
        ),
        Err(e) => step("scopes", false, e.description().to_owned()),
    }
}

/// Pushes the checks up to the first failure.
fn checks(config: &AuthConfig, raw: &str, verdict: Option<&'static str>, steps: &mut Vec<Step>) {
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
            tok.claims.get(claim).and_then(Value::as_str) == Some(value.as_str())
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
    let iss = tok.claims.get("iss").and_then(Value::as_str);
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
    claim_checks(ic, &tok.claims, steps);
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
            let get = |n: &str| tok.claims.get(n).map_or("-".to_owned(), |v| v.to_string());
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

fn claim_checks(ic: &IssuerConfig, claims: &Map<String, Value>, steps: &mut Vec<Step>) {
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

/// `2026-01-02T03:04:05Z (in 5m)` / `(3m ago)`.
fn when(t: f64, now: f64) -> String {
    let secs = t as i64;
    let delta = (t - now) as i64;
    let rel = if delta >= 0 {
        format!("in {}", span(delta))
    } else {
        format!("{} ago", span(-delta))
    };
    format!("{} ({rel})", rfc3339(secs))
}

fn span(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Seconds since the epoch as RFC 3339 UTC (civil-from-days, H. Hinnant).
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The algorithms the issuer accepts, when they can be told from the
/// configuration alone (`None` with an inline JWKS and no allow-list).
fn allowed_algorithms(ic: &IssuerConfig) -> Option<Vec<String>> {
    if let Some(list) = &ic.algorithms {
        return Some(list.iter().map(|a| format!("{a:?}")).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for k in &ic.keys {
        match k {
            KeySource::Jwks { .. } => return None,
            KeySource::JwksUrl { .. } | KeySource::Discovery => {
                for a in [
                    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
                ] {
                    out.push(a.into());
                }
            }
            other => out.extend(static_alg(other)),
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

fn static_alg(k: &KeySource) -> Option<String> {
    match k {
        KeySource::HmacSecret { algorithm, .. } => {
            Some(format!("{:?}", algorithm.unwrap_or(Algorithm::HS256)))
        }
        KeySource::PublicKeyPem { algorithm, .. } | KeySource::PublicKeyDer { algorithm, .. } => {
            Some(format!("{algorithm:?}"))
        }
        _ => None,
    }
}

fn static_kid(k: &KeySource) -> Option<&str> {
    match k {
        KeySource::PublicKeyPem { kid, .. } | KeySource::PublicKeyDer { kid, .. } => kid.as_deref(),
        _ => None,
    }
}

fn describe_static(k: &KeySource) -> String {
    match k {
        KeySource::HmacSecret { .. } => format!("{} secret", static_alg(k).unwrap_or_default()),
        KeySource::PublicKeyPem { algorithm, kid, .. } => {
            format!("{algorithm:?} PEM public key{}", kid_suffix(kid.as_deref()))
        }
        KeySource::PublicKeyDer { algorithm, kid, .. } => {
            format!("{algorithm:?} DER public key{}", kid_suffix(kid.as_deref()))
        }
        _ => "key".into(),
    }
}

fn kid_suffix(kid: Option<&str>) -> String {
    kid.map_or(String::new(), |k| format!(" (kid {k:?})"))
}

/// Verifies the signature with a static key; `None` when the key cannot be
/// loaded here (the verifier's own verdict then stands).
fn verify_static(k: &KeySource, tok: &token::UnverifiedToken<'_>) -> Option<bool> {
    let alg = tok.alg;
    let rsa = matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    );
    let ec = matches!(alg, Algorithm::ES256 | Algorithm::ES384);
    let key = match k {
        KeySource::HmacSecret { secret, .. } => DecodingKey::from_secret(secret.as_bytes()),
        KeySource::PublicKeyPem { pem, .. } => {
            let pem = pem.as_bytes();
            if rsa {
                DecodingKey::from_rsa_pem(pem).ok()?
            } else if ec {
                DecodingKey::from_ec_pem(pem).ok()?
            } else {
                DecodingKey::from_ed_pem(pem).ok()?
            }
        }
        KeySource::PublicKeyDer { der_base64, .. } => {
            let der = STANDARD.decode(der_base64.trim()).ok()?;
            if rsa {
                DecodingKey::from_rsa_der(&der)
            } else if ec {
                DecodingKey::from_ec_der(&der)
            } else {
                DecodingKey::from_ed_der(&der)
            }
        }
        _ => return None,
    };
    jsonwebtoken::crypto::verify(tok.signature, tok.message.as_bytes(), &key, alg).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_lose_quoted_values() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "s3cret", expected u64 at line 1"#),
            r#"invalid type: string "…", expected u64 at line 1"#
        );
    }

    #[test]
    fn config_file_errors_never_quote_a_secret() {
        let dir = std::env::temp_dir().join(format!("tollgate-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            (
                "a.toml",
                "[[issuers]]\nissuer = \"i\"\nleeway_secs = \"s3cret-value\"\n",
            ),
            (
                "b.json",
                r#"{"issuers": [{"issuer": "i", "leeway_secs": "s3cret-value"}]}"#,
            ),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let err = load_config_file(&path).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{err}");
            assert!(err.contains("line"), "{err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
