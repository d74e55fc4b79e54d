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

mod checks;
mod format;
mod keys;

use checks::checks;

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

#[cfg(test)]
mod tests {
    use super::format::rfc3339;
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
