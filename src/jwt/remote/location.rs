//! Where keys may come from: the allowed key URLs, same-origin redirects,
//! and the configured location (a JWKS URL or discovery).

/// Whether keys may be fetched from `url`: `https`, or `http` to a loopback
/// host, or `http` anywhere when `allow_insecure_http` is set. Anything else
/// (another scheme, no host, unparsable) is refused.
pub(crate) fn check_url(url: &str, allow_insecure_http: bool) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("{url:?} names no host")),
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback || allow_insecure_http => Ok(()),
        "http" => Err(format!(
            "{url:?} is plain http to a non-loopback host; use https (or set remote_keys.allow_insecure_http)"
        )),
        other => Err(format!("{url:?}: scheme {other:?} is not http(s)")),
    }
}

/// Redirects are followed (at most 3) only within the origin of the first
/// request: a key document never comes from a host that was not configured.
#[cfg(feature = "remote")]
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 3 {
            attempt.error("too many redirects")
        } else if !same_origin {
            attempt.error("redirect to another origin refused")
        } else {
            attempt.follow()
        }
    })
}

/// Where the keys come from.
#[cfg(feature = "remote")]
#[derive(Clone, Debug)]
pub(crate) enum RemoteLocation {
    Jwks(String),
    /// Discover `jwks_uri` from `<issuer>/.well-known/openid-configuration`.
    Discovery {
        issuer: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_are_https_unless_loopback_or_allowed() {
        for ok in [
            "https://auth.example.com/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.9.9/jwks",
            "http://localhost:3000/jwks",
            "http://[::1]:3000/jwks",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://auth.example.com/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.evil.example/jwks",
            "ftp://auth.example.com/jwks",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://auth.example.com/jwks", true).is_ok());
        assert!(check_url("ftp://auth.example.com/jwks", true).is_err());
    }
}
