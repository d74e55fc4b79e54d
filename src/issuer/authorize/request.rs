//! Parsing an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3) into
//! a typed [`AuthorizeRequest`], or a refusal that says whether it may be
//! redirected to the client (RFC 6749 §4.1.2.1): only once `client_id` and
//! `redirect_uri` are known good is anything sent to `redirect_uri`.

use super::super::clients::{Client, ClientRegistry};
use super::super::pkce::Challenge;
use crate::scope::{ScopeRules, ScopeSet};
use std::collections::HashMap;

/// Longest accepted `state` and `nonce`.
const MAX_STATE: usize = 1024;
const MAX_NONCE: usize = 512;

/// A checked authorization request.
#[derive(Clone, Debug)]
pub(crate) struct AuthorizeRequest {
    pub(crate) client: Client,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    /// The narrowed scopes, space-delimited, with `openid` first when asked.
    pub(crate) scope: String,
    pub(crate) challenge: Option<Challenge>,
    pub(crate) nonce: Option<String>,
}

/// Why an authorization request is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Shown to the user; never redirected (unknown client, bad redirect URI).
    Page(&'static str),
    /// Sent back to the client's redirect URI with `error` and `state`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
}

/// Parameters with repeats noted (RFC 6749 §3.1: no parameter twice).
pub(crate) struct Params {
    map: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    pub(crate) fn parse(raw: &[u8]) -> Self {
        let mut map = HashMap::new();
        let mut repeated = Vec::new();
        for (k, v) in form_urlencoded::parse(raw) {
            if map.contains_key(k.as_ref()) {
                repeated.push(k.into_owned());
            } else {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Self { map, repeated }
    }

    /// A parameter that is present once and not empty.
    fn one(&self, name: &str) -> Result<Option<&str>, ()> {
        if self.repeated.iter().any(|r| r == name) {
            return Err(());
        }
        Ok(self
            .map
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty()))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        if self.repeated.iter().any(|r| r == name) {
            return None;
        }
        self.map.get(name).map(String::as_str)
    }

    pub(crate) fn has_repeats(&self) -> bool {
        !self.repeated.is_empty()
    }
}

/// Narrows `requested` (or, if `None`, everything) to what the client may
/// have and the customer may delegate. `openid` is kept apart (it is not an
/// `entity:access` scope). `None` if nothing is left.
pub(crate) fn narrow_scope(
    requested: Option<&str>,
    client_scopes: &str,
    customer_grant: &str,
) -> Option<String> {
    let rules = ScopeRules::default();
    let allowed = ScopeSet::parse_delimited(client_scopes, &rules)
        .intersection(&ScopeSet::parse_delimited(customer_grant, &rules), &rules);
    let (openid, granted) = match requested {
        None => (false, allowed),
        Some(r) => {
            let openid = r.split(' ').any(|s| s == "openid");
            let rest: Vec<&str> = r.split(' ').filter(|s| *s != "openid").collect();
            let req = ScopeSet::parse_delimited(&rest.join(" "), &rules);
            (openid, req.intersection(&allowed, &rules))
        }
    };
    if granted.is_empty() {
        return None;
    }
    let mut out: Vec<&str> = Vec::new();
    if openid {
        out.push("openid");
    }
    out.extend(granted.iter().map(|s| s.as_str()));
    Some(out.join(" "))
}

impl AuthorizeRequest {
    /// Checks an authorization request's parameters (from the query, or the
    /// hidden fields of the login form, which are checked again).
    pub(crate) fn parse(
        params: &Params,
        clients: &dyn ClientRegistry,
        customer_grant: &str,
    ) -> Result<Self, Refusal> {
        // 1. Client and redirect URI: errors here are never redirected.
        let client_id = params
            .one("client_id")
            .map_err(|()| Refusal::Page("client_id was repeated"))?
            .ok_or(Refusal::Page("client_id is missing"))?;
        let client = clients
            .get(client_id)
            .filter(|c| c.active)
            .ok_or(Refusal::Page("unknown or inactive client"))?;
        let redirect_uri = params
            .one("redirect_uri")
            .map_err(|()| Refusal::Page("redirect_uri was repeated"))?
            .ok_or(Refusal::Page("redirect_uri is missing"))?;
        if !client.has_redirect_uri(redirect_uri) {
            return Err(Refusal::Page(
                "redirect_uri is not registered for this client",
            ));
        }
        let redirect_uri = redirect_uri.to_owned();
        // 2. From here on, errors go back to the client.
        let state = params.one("state").ok().flatten().map(str::to_owned);
        let refuse = |error, description| Refusal::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
            description,
        };
        if params.has_repeats() {
            return Err(refuse("invalid_request", "a parameter was repeated"));
        }
        if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
            return Err(refuse("invalid_request", "state is too long"));
        }
        match params.one("response_type") {
            Ok(Some("code")) => {}
            Ok(None) | Err(()) => {
                return Err(refuse("invalid_request", "response_type is missing"));
            }
            Ok(Some(_)) => {
                return Err(refuse(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        if params.get("request").is_some() {
            return Err(refuse(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        if params.get("request_uri").is_some() {
            return Err(refuse(
                "request_uri_not_supported",
                "request_uri is not supported",
            ));
        }
        if params.get("prompt") == Some("none") {
            return Err(refuse(
                "login_required",
                "the customer must log in; prompt=none cannot be honoured",
            ));
        }
        // 3. PKCE: S256 only; required for public clients.
        let method = params.get("code_challenge_method");
        let challenge = match (params.get("code_challenge"), method) {
            (None, None) => None,
            (Some(c), Some("S256")) => Some(
                Challenge::parse(c)
                    .ok_or_else(|| refuse("invalid_request", "code_challenge is malformed"))?,
            ),
            (Some(_), None) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge_method=S256 is required (plain is not supported)",
                ));
            }
            (_, Some(_)) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge_method must be S256 with a code_challenge",
                ));
            }
        };
        if challenge.is_none() && client.is_public() {
            return Err(refuse(
                "invalid_request",
                "PKCE (code_challenge with S256) is required for public clients",
            ));
        }
        let nonce = params
            .get("nonce")
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
            return Err(refuse("invalid_request", "nonce is too long"));
        }
        let scope =
            narrow_scope(params.get("scope"), &client.scopes, customer_grant).ok_or_else(|| {
                refuse(
                    "invalid_scope",
                    "none of the requested scopes may be granted to this client",
                )
            })?;
        Ok(Self {
            client,
            redirect_uri,
            state,
            scope,
            challenge,
            nonce,
        })
    }
}

/// `redirect_uri` with the given parameters appended (it may have a query
/// of its own, which is kept), and `iss` (RFC 9207).
pub(crate) fn redirect_to(redirect_uri: &str, params: &[(&str, &str)], issuer: &str) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
                q.append_pair("iss", issuer);
            }
            u.into()
        }
        // Registered URIs are checked to parse; this is unreachable in practice.
        Err(_) => redirect_uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::clients::{InMemoryClients, NewClient};
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn clients() -> InMemoryClients {
        let c = InMemoryClients::default();
        c.register(
            NewClient::public("web", "acct", "orders:read orders:write")
                .with_redirect_uris(vec!["https://app.example/cb".into()]),
        )
        .unwrap();
        c.register(
            NewClient::confidential("srv", "s".repeat(20), "acct", "orders:read")
                .with_redirect_uris(vec!["https://srv.example/cb?x=1".into()]),
        )
        .unwrap();
        c
    }

    fn parse(q: &str) -> Result<AuthorizeRequest, Refusal> {
        AuthorizeRequest::parse(
            &Params::parse(q.as_bytes()),
            &clients(),
            "orders:read orders:write customer:read",
        )
    }

    fn base() -> String {
        format!(
            "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    }

    #[test]
    fn a_good_request_parses() {
        let r = parse(&format!(
            "{}&scope=openid%20orders:read%20admin:write&nonce=n",
            base()
        ))
        .unwrap();
        assert_eq!(r.scope, "openid orders:read");
        assert_eq!(r.state.as_deref(), Some("s1"));
        assert_eq!(r.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn client_and_redirect_errors_are_pages() {
        for q in [
            base().replace("client_id=web", "client_id=nobody"),
            base().replace("client_id=web&", ""),
            base().replace("app.example%2Fcb", "app.example%2Fcb%2Fx"),
            base().replace("app.example%2Fcb", "app.example%2Fc"),
            base().replace("https%3A%2F%2Fapp", "http%3A%2F%2Fapp"),
            base().replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", ""),
            format!("{}&client_id=web", base()),
            format!("{}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", base()),
        ] {
            assert!(matches!(parse(&q), Err(Refusal::Page(_))), "{q}");
        }
    }

    #[test]
    fn other_errors_are_redirected_with_state() {
        for (q, code) in [
            (
                base().replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
            (base().replace("response_type=code&", ""), "invalid_request"),
            (base().replace("S256", "plain"), "invalid_request"),
            (
                base().replace("&code_challenge_method=S256", ""),
                "invalid_request",
            ),
            (
                base().replace(
                    &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
                    "",
                ),
                "invalid_request",
            ),
            (base().replace(CHALLENGE, "short"), "invalid_request"),
            (format!("{}&scope=admin:write", base()), "invalid_scope"),
            (format!("{}&scope=a&scope=b", base()), "invalid_request"),
            (format!("{}&prompt=none", base()), "login_required"),
        ] {
            match parse(&q) {
                Err(Refusal::Redirect { error, state, .. }) => {
                    assert_eq!(error, code, "{q}");
                    assert_eq!(state.as_deref(), Some("s1"), "{q}");
                }
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn confidential_clients_may_skip_pkce() {
        let q =
            "response_type=code&client_id=srv&redirect_uri=https%3A%2F%2Fsrv.example%2Fcb%3Fx%3D1";
        assert!(parse(q).unwrap().challenge.is_none());
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        let u = redirect_to(
            "https://srv.example/cb?x=1",
            &[("code", "c d")],
            "https://iss",
        );
        assert_eq!(
            u,
            "https://srv.example/cb?x=1&code=c+d&iss=https%3A%2F%2Fiss"
        );
    }
}
