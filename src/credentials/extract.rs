//! [`extract`]: the bearer token of a request, read from every configured
//! source; one sent by more than one method is refused.

use super::syntax::{bearer_value, checked_token, dpop_value, trim_ows};
use super::token::{Checked, TokenSyntax};
use super::{
    AsDyn, BearerToken, Credential, CredentialSources, Credentials, CredentialsError, RequestParts,
    find_cookie, header_value_token, unique_header,
};
use std::borrow::Cow;

/// Reads the credentials of a request according to `sources`.
pub fn extract<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    sources: &CredentialSources,
) -> Result<Credentials<'a>, CredentialsError> {
    let found = extract_with::<Checked, R>(req, sources)?;
    Ok(Credentials {
        bearer: found.bearer.map(BearerToken),
        other_scheme: found.other_scheme,
        dpop_scheme: found.dpop_scheme,
    })
}

/// What [`extract_with`] found: [`Credentials`] with the token as `S`
/// makes it.
pub(crate) struct Found<T> {
    pub(crate) bearer: Option<T>,
    pub(crate) other_scheme: bool,
    pub(crate) dpop_scheme: bool,
}

/// [`extract`], with each token's syntax treated as `S` says.
pub(crate) fn extract_with<'a, S: TokenSyntax, R: RequestParts + ?Sized>(
    req: &'a R,
    sources: &CredentialSources,
) -> Result<Found<S::Token<'a>>, CredentialsError> {
    let mut found = Found {
        bearer: None,
        other_scheme: false,
        dpop_scheme: false,
    };
    let max = sources.max_token_bytes;

    if sources.authorization_header {
        let value = unique_header(req, "authorization")
            .map_err(|_| CredentialsError::DuplicateAuthorization)?;
        if let Some(value) = value {
            match bearer_value(value) {
                Ok(token) => found.bearer = Some(S::token(token, max)?),
                Err(CredentialsError::UnsupportedScheme) => match dpop_value(value) {
                    Some(token) => {
                        found.bearer = Some(S::token(token, max)?);
                        found.dpop_scheme = true;
                    }
                    None => found.other_scheme = true,
                },
                Err(e) => return Err(e),
            }
        }
    }

    if let Some(name) = &sources.cookie
        && let Some(raw) = find_cookie(req, name)?
        && found.bearer.replace(S::token(raw, max)?).is_some()
    {
        return Err(CredentialsError::MultipleMethods);
    }

    // RFC 6750 §2.3: the query is `application/x-www-form-urlencoded`, so
    // the value is percent-decoded (`%2B` is `+`; a bare `+` is a space and
    // fails the token syntax). The size cap applies to the decoded value;
    // the query itself is bounded by the server's URI limit.
    if let (Some(name), Some(query)) = (&sources.query_parameter, req.query()) {
        let mut decoded: Option<Cow<'a, str>> = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == name.as_str() && decoded.replace(v).is_some() {
                return Err(CredentialsError::Malformed);
            }
        }
        if let Some(raw) = decoded {
            checked_token(raw.as_bytes(), max)?;
            if found.bearer.replace(S::text(raw)).is_some() {
                return Err(CredentialsError::MultipleMethods);
            }
        }
    }

    if let Some(name) = &sources.header
        && let Some(token) = header_value_token::<S, R>(req, name.as_str(), max)?
        && found.bearer.replace(token).is_some()
    {
        return Err(CredentialsError::MultipleMethods);
    }

    if let Some(prefix) = &sources.websocket_protocol_prefix
        && let Some(raw) = websocket_token(req, prefix)?
        && found.bearer.replace(S::token(raw, max)?).is_some()
    {
        return Err(CredentialsError::MultipleMethods);
    }

    if let Some(custom) = &sources.custom
        && let Some(Credential::Bearer(token)) = (custom.0)(&AsDyn(req))
    {
        checked_token(token.as_bytes(), max)?;
        if found.bearer.replace(S::text(Cow::Owned(token))).is_some() {
            return Err(CredentialsError::MultipleMethods);
        }
    }

    Ok(found)
}

/// The token in a `Sec-WebSocket-Protocol` offer (RFC 6455 §11.3.4: a
/// comma-separated list of tokens, in one or more header fields): the one
/// element that starts with `prefix`. Two such elements are ambiguous.
fn websocket_token<'a, R: RequestParts + ?Sized>(
    req: &'a R,
    prefix: &str,
) -> Result<Option<&'a [u8]>, CredentialsError> {
    let mut found: Option<&'a [u8]> = None;
    let mut dup = false;
    req.visit_header("sec-websocket-protocol", &mut |v| {
        for item in v.split(|&b| b == b',') {
            if let Some(token) = trim_ows(item).strip_prefix(prefix.as_bytes()) {
                dup |= found.replace(token).is_some();
            }
        }
    });
    if dup {
        return Err(CredentialsError::MultipleMethods);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::super::DEFAULT_MAX_TOKEN_BYTES;
    use super::*;

    #[test]
    fn query_tokens_are_form_decoded() {
        let sources = CredentialSources {
            query_parameter: Some("access_token".into()),
            ..CredentialSources::default()
        };
        let get = |q: &str| {
            let req = http::Request::get(format!("/x?{q}")).body(()).unwrap();
            extract(&req, &sources).map(|c| c.bearer.map(|b| b.as_str().to_owned()))
        };
        // %2B / %2F / %3D are `+`, `/`, `=` (all b64token characters).
        assert_eq!(
            get("access_token=ab%2Bc%2Fd%3D").unwrap().as_deref(),
            Some("ab+c/d=")
        );
        assert_eq!(
            get("a=1&access_token=abc&b=2").unwrap().as_deref(),
            Some("abc")
        );
        // A bare `+` is a space in a form body: not a token.
        assert!(get("access_token=ab+c").is_err());
        assert!(matches!(
            get("access_token=a&access_token=b"),
            Err(CredentialsError::Malformed)
        ));
        // An encoded parameter name is the same parameter.
        assert_eq!(get("access%5Ftoken=abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(get("other=abc").unwrap(), None);
    }

    const MAX: usize = DEFAULT_MAX_TOKEN_BYTES;

    #[test]
    fn duplicate_header_and_multiple_methods() {
        let mut h = http::HeaderMap::new();
        h.append("authorization", "Bearer a".parse().unwrap());
        h.append("authorization", "Bearer a".parse().unwrap());
        let src = CredentialSources::default();
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::DuplicateAuthorization
        );

        let src = CredentialSources {
            cookie: Some("at".into()),
            ..CredentialSources::default()
        };
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Bearer a".parse().unwrap());
        h.insert("cookie", "at=b".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::MultipleMethods
        );
        let mut h = http::HeaderMap::new();
        h.append("cookie", "x=1; at=\"tok\"".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap().bearer.unwrap().as_str(), "tok");
        h.append("cookie", "at=other".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
    }

    #[test]
    fn a_custom_header_carries_a_bare_or_bearer_token() {
        let src = CredentialSources::default().with_header("x-api-key");
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", "abc.def".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap().bearer.unwrap().as_str(),
            "abc.def"
        );
        h.insert("x-api-key", "Bearer abc.def".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap().bearer.unwrap().as_str(),
            "abc.def"
        );
        h.insert("x-api-key", "Basic abc".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
        h.insert("x-api-key", "a".repeat(MAX + 1).parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::TooLarge);
        h.insert("x-api-key", "abc".parse().unwrap());
        h.append("x-api-key", "abc".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", "abc".parse().unwrap());
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::MultipleMethods
        );
    }

    #[test]
    fn a_websocket_subprotocol_carries_the_token() {
        let src = CredentialSources::default().with_websocket_protocol_prefix("bearer.");
        let get = |values: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append("sec-websocket-protocol", v.parse().unwrap());
            }
            extract(&h, &src).map(|c| c.bearer.map(|b| b.as_str().to_owned()))
        };
        assert_eq!(
            get(&["chat.v1, bearer.eyJ.a-b_c"]).unwrap().as_deref(),
            Some("eyJ.a-b_c")
        );
        assert_eq!(
            get(&["chat.v1", "bearer.tok"]).unwrap().as_deref(),
            Some("tok")
        );
        assert_eq!(get(&["chat.v1"]).unwrap(), None);
        assert_eq!(
            get(&["bearer.a, bearer.b"]).unwrap_err(),
            CredentialsError::MultipleMethods
        );
        assert_eq!(get(&["bearer."]).unwrap_err(), CredentialsError::EmptyToken);
        assert_eq!(
            get(&[&format!("bearer.{}", "a".repeat(MAX + 1))]).unwrap_err(),
            CredentialsError::TooLarge
        );
    }

    #[test]
    fn a_custom_source_keeps_the_rules() {
        let src = CredentialSources::default().with_custom(|req| {
            let mut found = None;
            req.visit_header("x-ticket", &mut |v| {
                found = std::str::from_utf8(v).ok().map(str::to_owned);
            });
            found.map(Credential::Bearer)
        });
        let mut h = http::HeaderMap::new();
        assert!(extract(&h, &src).unwrap().bearer.is_none());
        h.insert("x-ticket", "tok".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap().bearer.unwrap().as_str(), "tok");
        h.insert("x-ticket", "not a token".parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::Malformed);
        h.insert("x-ticket", "a".repeat(MAX + 1).parse().unwrap());
        assert_eq!(extract(&h, &src).unwrap_err(), CredentialsError::TooLarge);
        h.insert("x-ticket", "tok".parse().unwrap());
        h.insert("authorization", "Bearer tok".parse().unwrap());
        assert_eq!(
            extract(&h, &src).unwrap_err(),
            CredentialsError::MultipleMethods
        );
        assert_eq!(
            format!("{:?}", Credential::Bearer("s3cret".into())),
            "Bearer(******)"
        );
    }
}
