//! Issuers: each [`IssuerConfig`] checked and built into an
//! [`IssuerVerifier`], the rule for remote key URLs, and the HTTP client
//! that fetches remote keys (one, shared by every issuer).

use super::static_keys::{alg_named, static_key};
use crate::config::{ConfigError, IssuerConfig, KeySource};
use crate::jwt::IssuerVerifier;
use crate::jwt::keys::{AlgSet, KeySet};
use crate::jwt::remote::{RemoteKeys, RemoteLocation};
use std::sync::Arc;
use std::time::Duration;

/// A remote key URL must pass [`check_url`](crate::jwt::remote::check_url);
/// plain http to a non-loopback host (only with `allow_insecure_http`) is
/// logged at warn, once per configured URL.
fn remote_url_allowed(
    url: &str,
    issuer: &str,
    settings: &crate::jwt::RemoteKeySettings,
) -> Result<(), ConfigError> {
    crate::jwt::remote::check_url(url, settings.allow_insecure_http)
        .map_err(|e| ConfigError::new(format!("issuer {issuer:?}: remote keys: {e}")))?;
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
    client: &mut Option<reqwest::Client>,
) -> Result<Vec<Arc<IssuerVerifier>>, ConfigError> {
    let mut issuers: Vec<Arc<IssuerVerifier>> = Vec::with_capacity(configs.len());
    for ic in configs {
        if ic.issuer.is_empty() {
            return Err(ConfigError::new("an issuer has an empty `issuer`"));
        }
        if issuers.iter().any(|i| *i.issuer == *ic.issuer) {
            return Err(ConfigError::new(format!(
                "issuer {:?} configured twice",
                ic.issuer
            )));
        }
        if ic.audiences.is_empty() || ic.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new(format!(
                "issuer {:?}: at least one non-empty audience is required",
                ic.issuer
            )));
        }
        if ic.keys.is_empty() {
            return Err(ConfigError::new(format!(
                "issuer {:?}: no key source configured",
                ic.issuer
            )));
        }
        let mut static_keys = KeySet::default();
        let mut remote_location = None;
        for source in &ic.keys {
            static_keys.keys.extend(static_key(source, &ic.issuer)?);
            let loc = match source {
                KeySource::JwksUrl { url } => {
                    remote_url_allowed(url, &ic.issuer, remote_settings)?;
                    Some(RemoteLocation::Jwks(url.clone()))
                }
                KeySource::Discovery => {
                    remote_url_allowed(&ic.issuer, &ic.issuer, remote_settings)?;
                    Some(RemoteLocation::Discovery {
                        issuer: ic.issuer.clone(),
                    })
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
                    set = set.union(AlgSet::one(alg_named(n)?));
                }
                if set.is_empty() {
                    return Err(ConfigError::new(format!(
                        "issuer {:?}: the algorithm allow-list is empty",
                        ic.issuer
                    )));
                }
                set
            }
            // Remote keys are asymmetric only; static keys bring their own.
            None if remote_location.is_some() => key_algs.union(AlgSet::asymmetric()),
            None => key_algs,
        };
        let remote = match remote_location {
            None => None,
            Some(loc) => {
                let c = match client {
                    Some(c) => c.clone(),
                    None => {
                        let built = http_client(remote_settings)?;
                        *client = Some(built.clone());
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

/// The HTTP client for remote key fetches, built once and shared.
fn http_client(
    remote_settings: &crate::jwt::RemoteKeySettings,
) -> Result<reqwest::Client, ConfigError> {
    let timeout = Duration::from_millis(remote_settings.fetch_timeout_ms);
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
