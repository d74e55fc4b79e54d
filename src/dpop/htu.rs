//! The `htu` comparison of RFC 9449 §4.3: the target URI without query and
//! fragment, normalised (RFC 3986 §6.2.2–6.2.3) so that equivalent spellings
//! compare equal.
//!
//! Normalisation: scheme and host in lower case, the default port of the
//! scheme dropped, dot segments removed, an empty path is `/`, percent-encoded
//! unreserved characters decoded and other percent-encodings in upper case.
//! The query and fragment are dropped.
//!
//! Behind a proxy the server does not see the URL the client used: configure
//! the external base URL ([`DpopConfig::public_url`](super::DpopConfig::public_url)),
//! otherwise the request's `Host` (or URI authority) and the configured scheme
//! are used.

/// Normalises an absolute `http`/`https` URI for comparison, or `None` if it
/// is not one (no credentials in the URL either).
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let host = url.host_str()?;
    let mut out = String::with_capacity(uri.len());
    out.push_str(url.scheme());
    out.push_str("://");
    out.push_str(host);
    // `url` already drops the scheme's default port.
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let path = url.path();
    if path.is_empty() {
        out.push('/');
    } else {
        normalize_percent(path, &mut out);
    }
    Some(out)
}

/// Decodes percent-encoded unreserved characters and upper-cases the hex
/// digits of the others.
fn normalize_percent(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(hv), Some(lv)) = (hex(h), hex(l))
        {
            let c = hv << 4 | lv;
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(c));
            } else {
                out.push('%');
                out.push(char::from(h.to_ascii_uppercase()));
                out.push(char::from(l.to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        out.push(char::from(b));
        i += 1;
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The normalised target URI of a request: `base` (the configured external
/// base URL, e.g. `https://api.example.com/v1` behind a proxy that strips
/// `/v1`) + `path`, or `scheme://authority` + `path`.
pub(crate) fn request_htu(
    public_url: Option<&str>,
    scheme: &str,
    authority: Option<&str>,
    path: &str,
) -> Option<String> {
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with('/') {
        return None;
    }
    let raw = match public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => format!("{scheme}://{}{path}", authority?),
    };
    normalize(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_compare_equal() {
        let want = Some("https://api.example.com/a/b%2F~".to_owned());
        for u in [
            "https://api.example.com/a/b%2F~",
            "HTTPS://API.Example.COM:443/a/b%2f%7E",
            "https://api.example.com/a/./c/../b%2F~?q=1#frag",
        ] {
            assert_eq!(normalize(u), want, "{u}");
        }
        assert_eq!(
            normalize("http://h:8080").as_deref(),
            Some("http://h:8080/")
        );
        assert_eq!(normalize("http://h:80/x").as_deref(), Some("http://h/x"));
        assert_ne!(normalize("http://h/x"), normalize("https://h/x"));
        assert_ne!(normalize("http://h/x"), normalize("http://h/X"));
        assert!(normalize("ftp://h/x").is_none());
        assert!(normalize("/x").is_none());
        assert!(normalize("https://u:p@h/x").is_none());
    }

    #[test]
    fn request_side() {
        assert_eq!(
            request_htu(None, "https", Some("API.example.com"), "/orders").as_deref(),
            Some("https://api.example.com/orders")
        );
        assert_eq!(
            request_htu(
                Some("https://ext.example/v1/"),
                "http",
                Some("internal"),
                "/o"
            )
            .as_deref(),
            Some("https://ext.example/v1/o")
        );
        assert!(request_htu(None, "https", None, "/o").is_none());
    }
}
