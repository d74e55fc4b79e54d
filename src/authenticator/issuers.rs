//! Issuers: each [`IssuerConfig`] checked and built into an
//! [`IssuerVerifier`], the rule for remote key URLs, and the HTTP client
//! that fetches remote keys (one, shared by every issuer; `remote` feature).

use super::static_keys::{known_alg, static_key};
use crate::config::{ConfigError, ConfigErrorKind, IssuerConfig, KeySource};
use crate::jwt::IssuerVerifier;
use crate::jwt::keys::{AlgSet, KeySet};
#[cfg(feature = "remote")]
use crate::jwt::remote::{RemoteKeys, RemoteLocation};
use std::sync::Arc;

/// The HTTP client for remote key fetches, built at the first issuer that
/// needs one and shared by the rest. Holds nothing without `remote`.
#[derive(Default)]
pub(super) struct SharedClient {
    #[cfg(feature = "remote")]
    client: Option<reqwest::Client>,
}

/// Where an issuer's remote keys come from, once its URL passed the rules.
#[cfg(not(feature = "remote"))]
enum RemoteLocation {}

/// A remote key URL must pass [`check_url`](crate::jwt::remote::check_url);
/// plain http to a non-loopback host (only with `allow_insecure_http`) is
/// logged at warn, once per configured URL.
fn remote_url_allowed(
    url: &str,
    issuer: &str,
    settings: &crate::jwt::RemoteKeySettings,
) -> Result<(), ConfigError> {
    crate::jwt::remote::check_url(url, settings.allow_insecure_http).map_err(|e| {
        ConfigError::with_kind(
            ConfigErrorKind::InvalidUrl,
            format!("issuer {issuer:?}: remote keys: {e}"),
        )
    })?;
    if settings.allow_insecure_http && crate::jwt::remote::check_url(url, false).is_err() {
        tracing::warn!(
            url,
            "tollgate: fetching keys over plain http (allow_insecure_http is set)"
        );
    }
    Ok(())
}

pub(super) fn build_issuers(
    configs: &[IssuerConfig],
    remote_settings: &crate::jwt::RemoteKeySettings,
    client: &mut SharedClient,
) -> Result<Vec<Arc<IssuerVerifier>>, ConfigError> {
    #[cfg(not(feature = "remote"))]
    let _ = client;
    let mut issuers: Vec<Arc<IssuerVerifier>> = Vec::with_capacity(configs.len());
    for ic in configs {
        if ic.issuer.is_empty() {
            return Err(ConfigError::with_kind(
                ConfigErrorKind::NoIssuer,
                "an issuer has an empty `issuer`",
            ));
        }
        if issuers.iter().any(|i| *i.issuer == *ic.issuer) {
            return Err(ConfigError::new(format!(
                "issuer {:?} configured twice",
                ic.issuer
            )));
        }
        if ic.audiences.is_empty() || ic.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::with_kind(
                ConfigErrorKind::NoIssuer,
                format!(
                    "issuer {:?}: at least one non-empty audience is required",
                    ic.issuer
                ),
            ));
        }
        if ic.keys.is_empty() {
            return Err(ConfigError::with_kind(
                ConfigErrorKind::NoIssuer,
                format!("issuer {:?}: no key source configured", ic.issuer),
            ));
        }
        if ic.leeway_secs > crate::config::MAX_LEEWAY_SECS {
            // Revocation lists keep a `jti` only this long past `exp`.
            return Err(ConfigError::new(format!(
                "issuer {:?}: leeway_secs is {}, more than the largest allowed ({} s)",
                ic.issuer,
                ic.leeway_secs,
                crate::config::MAX_LEEWAY_SECS
            )));
        }
        let mut static_keys = KeySet::default();
        let mut remote_location = None;
        for source in &ic.keys {
            static_keys.keys.extend(static_key(source, &ic.issuer)?);
            let loc = match source {
                KeySource::JwksUrl { url } => {
                    let loc = remote_source(source, &ic.issuer)?;
                    remote_url_allowed(url, &ic.issuer, remote_settings)?;
                    Some(loc)
                }
                KeySource::Discovery => {
                    let loc = remote_source(source, &ic.issuer)?;
                    remote_url_allowed(&ic.issuer, &ic.issuer, remote_settings)?;
                    Some(loc)
                }
                _ => None,
            };
            if let Some(loc) = loc
                && remote_location.replace(loc).is_some()
            {
                return Err(ConfigError::new(format!(
                    "issuer {:?}: at most one remote key source (jwks_url or discovery)",
                    ic.issuer
                )));
            }
        }
        let key_algs = static_keys
            .keys
            .iter()
            .fold(AlgSet::empty(), |acc, k| acc.union(k.algs));
        let algorithms = match &ic.algorithms {
            Some(names) => {
                let mut set = AlgSet::empty();
                for n in names {
                    set = set.union(AlgSet::one(known_alg(*n)?));
                }
                if set.is_empty() {
                    return Err(ConfigError::with_kind(
                        ConfigErrorKind::InvalidAlgorithm,
                        format!("issuer {:?}: the algorithm allow-list is empty", ic.issuer),
                    ));
                }
                set
            }
            // Remote keys are asymmetric only; static keys bring their own.
            None if remote_location.is_some() => key_algs.union(AlgSet::asymmetric()),
            None => key_algs,
        };
        let remote = match remote_location {
            None => None,
            #[cfg(not(feature = "remote"))]
            Some(loc) => match loc {},
            #[cfg(feature = "remote")]
            Some(loc) => {
                let c = match &client.client {
                    Some(c) => c.clone(),
                    None => {
                        let built = http_client(remote_settings)?;
                        client.client = Some(built.clone());
                        built
                    }
                };
                Some(Arc::new(
                    RemoteKeys::new(loc, remote_settings.clone(), c).with_index(issuers.len()),
                ))
            }
        };
        issuers.push(Arc::new(IssuerVerifier {
            issuer: ic.issuer.clone().into_boxed_str(),
            audiences: ic
                .audiences
                .iter()
                .map(|a| a.clone().into_boxed_str())
                .collect(),
            algorithms,
            required_typ: ic.typ.clone().map(String::into_boxed_str),
            leeway_secs: ic.leeway_secs,
            static_keys,
            remote,
        }));
    }

    Ok(issuers)
}

/// Where a `jwks_url` or `discovery` source fetches from.
#[cfg(feature = "remote")]
#[allow(clippy::unnecessary_wraps)] // fallible without `remote`
fn remote_source(source: &KeySource, issuer: &str) -> Result<RemoteLocation, ConfigError> {
    Ok(match source {
        KeySource::JwksUrl { url } => RemoteLocation::Jwks(url.clone()),
        _ => RemoteLocation::Discovery {
            issuer: issuer.to_owned(),
        },
    })
}

/// Without `remote` no HTTP client exists: a remote source is refused.
#[cfg(not(feature = "remote"))]
fn remote_source(source: &KeySource, issuer: &str) -> Result<RemoteLocation, ConfigError> {
    let what = match source {
        KeySource::JwksUrl { .. } => "a `jwks_url` key source",
        _ => "a `discovery` key source",
    };
    Err(ConfigError::feature_missing(
        format_args!("issuer {issuer:?}: {what}"),
        "remote",
    ))
}

/// The HTTP client for remote key fetches, built once and shared.
#[cfg(feature = "remote")]
fn http_client(
    remote_settings: &crate::jwt::RemoteKeySettings,
) -> Result<reqwest::Client, ConfigError> {
    let timeout = std::time::Duration::from_millis(remote_settings.fetch_timeout_ms);
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(crate::jwt::remote::redirect_policy())
        // Fetches are rare; a fresh connection each
        // time notices a dead endpoint at once.
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| ConfigError::new(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::config::{ClaimNames, ConfigErrorKind};
    use crate::{Authenticator, IssuerConfig};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn kind_of(builder: crate::AuthenticatorBuilder) -> (ConfigErrorKind, String) {
        let err = builder.build().unwrap_err();
        (err.kind(), err.to_string())
    }

    fn base() -> IssuerConfig {
        IssuerConfig::new("https://auth.example").audience("api")
    }

    #[test]
    fn main_mistakes_carry_their_kind() {
        let cases = [
            (Authenticator::builder(), ConfigErrorKind::NoIssuer),
            (
                Authenticator::builder().issuer(base()),
                ConfigErrorKind::NoIssuer,
            ),
            (
                Authenticator::builder().issuer(base().hmac_secret("short")),
                ConfigErrorKind::InvalidKey,
            ),
            (
                Authenticator::builder()
                    .issuer(base().public_key_pem("not read", crate::Algorithm::HS256)),
                ConfigErrorKind::InvalidAlgorithm,
            ),
            (
                Authenticator::builder().issuer(base().hmac_secret(SECRET).algorithms([])),
                ConfigErrorKind::InvalidAlgorithm,
            ),
            (
                Authenticator::builder()
                    .issuer(base().hmac_secret(SECRET))
                    .claims(ClaimNames::default().with_scope("")),
                ConfigErrorKind::InvalidClaimName,
            ),
        ];
        for (builder, kind) in cases {
            let (got, msg) = kind_of(builder);
            assert_eq!(got, kind, "{msg}");
        }
    }

    #[cfg(feature = "remote")]
    #[test]
    fn a_bad_key_url_is_an_invalid_url() {
        let (kind, msg) = kind_of(Authenticator::builder().issuer(base().jwks_url("ftp://x")));
        assert_eq!(kind, ConfigErrorKind::InvalidUrl, "{msg}");
    }

    /// Without `remote`, a remote key source or introspection is refused
    /// when the authenticator is built, never silently ignored.
    #[cfg(not(feature = "remote"))]
    #[test]
    fn remote_sources_need_the_remote_feature() {
        use crate::IntrospectionSettings;
        let cases = [
            Authenticator::builder().issuer(base().jwks_url("https://auth.example/jwks")),
            Authenticator::builder().issuer(base().discovery()),
            // Even next to a static key, and even with a URL that would be refused.
            Authenticator::builder().issuer(base().hmac_secret(SECRET).jwks_url("ftp://x")),
            Authenticator::builder()
                .issuer(base().hmac_secret(SECRET))
                .introspection(IntrospectionSettings::new(
                    "https://auth.example/introspect",
                    "api",
                    "secret",
                )),
        ];
        for builder in cases {
            let (kind, msg) = kind_of(builder);
            assert_eq!(kind, ConfigErrorKind::FeatureMissing, "{msg}");
            assert!(msg.contains("needs the `remote` feature"), "{msg}");
        }
    }
}
