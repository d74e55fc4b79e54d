//! OpenAPI security from route requirements: the security schemes of the
//! configured credential kinds, and per operation the scopes it needs.
//!
//! One route table drives both the layer and the document, so they cannot
//! drift:
//!
//! ```
//! use http::Method;
//! use tollgate::openapi::SecuritySchemes;
//! use tollgate::policy::{Requirement, any, scope};
//! use tollgate::{AuthConfig, IssuerConfig};
//! use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
//!
//! let routes: Vec<(Method, &str, Option<Requirement>)> = vec![
//!     (Method::GET, "/orders", Some(scope("orders:read"))),
//!     (Method::POST, "/orders", Some(scope("orders:write"))),
//!     (Method::GET, "/reports", Some(any([scope("orders:read"), scope("admin:read")]))),
//!     (Method::GET, "/health", None),
//! ];
//! // Each requirement also goes to `tollgate::axum::require_layer` (axum's
//! // `route_layer`) for its route.
//!
//! let config = AuthConfig::default()
//!     .with_issuer(IssuerConfig::new("https://auth.example.com/").audience("orders-api"));
//! let schemes = SecuritySchemes::from_config(&config)
//!     .token_url("https://auth.example.com/oauth/token")
//!     .scope_description("orders:read", "Read orders");
//! let mut doc = OpenApiBuilder::new()
//!     .info(InfoBuilder::new().title("Orders").version("1.0.0"))
//!     .build();
//! schemes.apply(&mut doc, routes.iter().map(|(m, p, r)| (m.clone(), *p, r.as_ref())))?;
//!
//! let json = serde_json::to_value(&doc)?;
//! let flow = &json["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
//! assert_eq!(flow["tokenUrl"], "https://auth.example.com/oauth/token");
//! assert_eq!(flow["scopes"]["orders:read"], "Read orders");
//! // Entries are alternatives (OR); the scopes of one entry are all needed (AND).
//! let reports = &json["paths"]["/reports"]["get"]["security"];
//! assert!(reports.as_array().unwrap().contains(&serde_json::json!({"oauth2": ["admin:read"]})));
//! assert!(json["paths"]["/health"]["get"].get("security").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A `scopes! {}` type gives its requirement through
//! [`ScopeRequirement::requirement`](crate::ScopeRequirement::requirement)
//! (`OrdersWrite::requirement().clone()`), so a table can name the same
//! types the handlers' `Require<T>` extractors use.
//!
//! Scheme names are the constants of this module ([`OAUTH2`], [`BEARER`],
//! [`CUSTOMER_TOKEN`], [`SESSION`], [`SESSION_COOKIE`], [`BASIC`]). The
//! documents are OpenAPI 3.1 (utoipa's version), where schemes other than
//! OAuth2 may list role names: tollgate lists the scopes there too, since
//! sessions, tills and JWTs carry the same scopes.

use crate::config::{AuthConfig, SessionSources};
use crate::policy::Requirement;
use http::Method;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterIn, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Components, Required};

/// The OAuth2 client-credentials scheme (set by [`SecuritySchemes::token_url`]).
pub const OAUTH2: &str = "oauth2";
/// The `Authorization: Bearer` JWT scheme.
pub const BEARER: &str = "bearer";
/// The customer-token header scheme.
pub const CUSTOMER_TOKEN: &str = "customer_token";
/// The session-ID header scheme.
pub const SESSION: &str = "session";
/// The session-ID cookie scheme.
pub const SESSION_COOKIE: &str = "session_cookie";
/// The `Authorization: Basic` scheme (tills).
pub const BASIC: &str = "basic";

/// Most alternatives one requirement may expand to (an `all` of `any`s
/// multiplies out).
pub const MAX_ALTERNATIVES: usize = 64;

/// Why a requirement or route table cannot be written as OpenAPI security.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// The requirement can never be met (it holds an empty `any`); OpenAPI
    /// has no way to say so, and an empty list would mean "no security".
    #[error("the requirement can never be met (an empty `any`)")]
    Unsatisfiable,
    /// The requirement expands to more than [`MAX_ALTERNATIVES`] alternatives.
    #[error("the requirement expands to more than {MAX_ALTERNATIVES} alternatives")]
    TooManyAlternatives,
    /// OpenAPI has no operation for this method (e.g. `CONNECT`).
    #[error("OpenAPI has no operation for the method {0}")]
    UnsupportedMethod(Method),
    /// A route of the table failed.
    #[error("{method} {path}: {source}")]
    Route {
        /// The route's method.
        method: Method,
        /// The route's path.
        path: String,
        /// What failed.
        source: Box<OpenApiError>,
    },
}

/// The security schemes of the configured credential kinds; writes them to
/// `components.securitySchemes` and each route's requirement to its
/// operation's `security`. See the [module docs](self) for an example.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct SecuritySchemes {
    token_url: Option<String>,
    bearer: bool,
    customer_header: Option<String>,
    customer_alone: bool,
    session_header: Option<String>,
    session_cookie: Option<String>,
    basic: bool,
    descriptions: BTreeMap<String, String>,
}

/// One alternative of a requirement: all these scopes, and maybe a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Alternative {
    customer: bool,
    scopes: BTreeSet<String>,
}

impl Alternative {
    /// Whether meeting `self` always meets `other` too (so `self` adds nothing).
    fn implies(&self, other: &Self) -> bool {
        (!other.customer || self.customer) && other.scopes.is_subset(&self.scopes)
    }
}

/// The requirement as alternatives (OR) of scope sets (AND).
fn alternatives(req: &Requirement) -> Result<Vec<Alternative>, OpenApiError> {
    let alts = match req {
        Requirement::Scope(s) => vec![Alternative {
            customer: false,
            scopes: BTreeSet::from([s.as_str().to_owned()]),
        }],
        Requirement::Customer => vec![Alternative {
            customer: true,
            scopes: BTreeSet::new(),
        }],
        Requirement::Any(reqs) => {
            let mut out = Vec::new();
            for r in reqs {
                out.extend(alternatives(r)?);
            }
            out
        }
        Requirement::All(reqs) => {
            let mut out = vec![Alternative::default()];
            for r in reqs {
                let next = alternatives(r)?;
                let mut product = Vec::with_capacity(out.len().saturating_mul(next.len()));
                for a in &out {
                    for b in &next {
                        product.push(Alternative {
                            customer: a.customer || b.customer,
                            scopes: a.scopes.union(&b.scopes).cloned().collect(),
                        });
                    }
                }
                out = simplify(product);
                if out.len() > MAX_ALTERNATIVES {
                    return Err(OpenApiError::TooManyAlternatives);
                }
            }
            out
        }
    };
    let alts = simplify(alts);
    if alts.len() > MAX_ALTERNATIVES {
        return Err(OpenApiError::TooManyAlternatives);
    }
    Ok(alts)
}

/// Sorts, and drops alternatives that ask for more than another one.
fn simplify(mut alts: Vec<Alternative>) -> Vec<Alternative> {
    alts.sort();
    alts.dedup();
    let keep: Vec<bool> = alts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            !alts
                .iter()
                .enumerate()
                .any(|(j, b)| i != j && a.implies(b) && a != b)
        })
        .collect();
    alts.into_iter()
        .zip(keep)
        .filter_map(|(a, k)| k.then_some(a))
        .collect()
}

fn http_method(method: &Method) -> Result<HttpMethod, OpenApiError> {
    Ok(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        Method::TRACE => HttpMethod::Trace,
        _ => return Err(OpenApiError::UnsupportedMethod(method.clone())),
    })
}

fn operation_slot<'a>(item: &'a mut PathItem, method: &HttpMethod) -> &'a mut Option<Operation> {
    match method {
        HttpMethod::Get => &mut item.get,
        HttpMethod::Post => &mut item.post,
        HttpMethod::Put => &mut item.put,
        HttpMethod::Delete => &mut item.delete,
        HttpMethod::Patch => &mut item.patch,
        HttpMethod::Head => &mut item.head,
        HttpMethod::Options => &mut item.options,
        HttpMethod::Trace => &mut item.trace,
    }
}

/// A new operation: the path's `{parameters}` and a default response.
fn new_operation(path: &str) -> Operation {
    let mut op = Operation::new();
    let params: Vec<Parameter> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let mut p = Parameter::new(name.trim_start_matches('*'));
            p.parameter_in = ParameterIn::Path;
            p.required = Required::True;
            p.schema = Some(ObjectBuilder::new().schema_type(Type::String).into());
            p
        })
        .collect();
    if !params.is_empty() {
        op.parameters = Some(params);
    }
    op.responses.responses.insert(
        "default".into(),
        Response::new("The operation's response").into(),
    );
    op
}

impl SecuritySchemes {
    /// The schemes `config` reads: [`BEARER`] when it trusts an issuer (or
    /// introspects) and reads `Authorization`, and [`CUSTOMER_TOKEN`] when
    /// customer tokens are configured. Sessions and basic credentials are
    /// set on the [`Authenticator`](crate::Authenticator) builder, not in
    /// the config: add them with [`sessions`](Self::sessions) and
    /// [`basic`](Self::basic).
    pub fn from_config(config: &AuthConfig) -> Self {
        let mut out = Self {
            bearer: config.credentials.authorization_header
                && (!config.issuers.is_empty() || config.introspection.is_some()),
            ..Self::default()
        };
        if let Some(c) = &config.customer_tokens {
            out.customer_header = Some(c.header.clone());
            out.customer_alone = c.allow_alone;
        }
        out
    }

    /// Adds [`OAUTH2`]: the client-credentials flow at `url`, with every
    /// scope the routes need.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Adds [`SESSION`] (header) and [`SESSION_COOKIE`] (cookie) for the
    /// session sources of a session store.
    pub fn sessions(mut self, sources: &SessionSources) -> Self {
        self.session_header.clone_from(&sources.header);
        self.session_cookie.clone_from(&sources.cookie);
        self
    }

    /// Adds [`BASIC`], for basic credentials (tills).
    pub fn basic(mut self) -> Self {
        self.basic = true;
        self
    }

    /// Describes `scope` in the OAuth2 flow (listed even if no route needs it).
    pub fn scope_description(
        mut self,
        scope: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.descriptions.insert(scope.into(), description.into());
        self
    }

    /// The names of the schemes that carry scopes on their own.
    fn scoped_schemes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.token_url.is_some() {
            out.push(OAUTH2);
        }
        if self.bearer {
            out.push(BEARER);
        }
        if self.session_header.is_some() {
            out.push(SESSION);
        }
        if self.session_cookie.is_some() {
            out.push(SESSION_COOKIE);
        }
        if self.basic {
            out.push(BASIC);
        }
        out
    }

    /// The operation's `security` for `requirement`: one entry (OR) per
    /// alternative and scheme, holding the alternative's scopes (AND). A
    /// customer-bound alternative is met by an access token with a customer
    /// token beside it, a customer token alone (when allowed), or a session.
    pub fn security(
        &self,
        requirement: &Requirement,
    ) -> Result<Vec<SecurityRequirement>, OpenApiError> {
        let alts = alternatives(requirement)?;
        if alts.is_empty() {
            return Err(OpenApiError::Unsatisfiable);
        }
        let mut out = Vec::new();
        for alt in &alts {
            let scopes = || alt.scopes.iter().cloned();
            for name in self.scoped_schemes() {
                let session = name == SESSION || name == SESSION_COOKIE;
                if !alt.customer || session {
                    out.push(SecurityRequirement::new(name, scopes()));
                } else if name != BASIC && self.customer_header.is_some() {
                    // An access token acts for a customer only with a
                    // customer token beside it; a till never does.
                    let entry = SecurityRequirement::new(name, scopes())
                        .add(CUSTOMER_TOKEN, std::iter::empty::<String>());
                    out.push(entry);
                }
            }
            if self.customer_header.is_some() && self.customer_alone {
                out.push(SecurityRequirement::new(CUSTOMER_TOKEN, scopes()));
            }
        }
        Ok(out)
    }

    /// The `components.securitySchemes` entries, the OAuth2 flow listing
    /// `scopes` and the described ones.
    fn schemes<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, SecurityScheme> {
        let mut out = BTreeMap::new();
        if let Some(url) = &self.token_url {
            let mut all: BTreeMap<String, String> = scopes
                .into_iter()
                .map(|s| (s.to_owned(), String::new()))
                .collect();
            all.extend(self.descriptions.clone());
            let flow = ClientCredentials::new(url.clone(), all.into_iter().collect::<Scopes>());
            let oauth = OAuth2::with_description(
                [Flow::ClientCredentials(flow)],
                "OAuth2 client credentials: a JWT access token with the listed scopes",
            );
            out.insert(OAUTH2.into(), SecurityScheme::OAuth2(oauth));
        }
        if self.bearer {
            let http = HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("A JWT access token in `Authorization: Bearer`"))
                .build();
            out.insert(BEARER.into(), SecurityScheme::Http(http));
        }
        let api_key = |name: &str, description: &str| {
            ApiKeyValue::with_description(name.to_owned(), description.to_owned())
        };
        if let Some(header) = &self.customer_header {
            let key = api_key(header, "A customer token (acts for one customer)");
            out.insert(
                CUSTOMER_TOKEN.into(),
                SecurityScheme::ApiKey(ApiKey::Header(key)),
            );
        }
        if let Some(header) = &self.session_header {
            let key = api_key(header, "A session ID");
            out.insert(SESSION.into(), SecurityScheme::ApiKey(ApiKey::Header(key)));
        }
        if let Some(cookie) = &self.session_cookie {
            let key = api_key(cookie, "A session ID cookie");
            out.insert(
                SESSION_COOKIE.into(),
                SecurityScheme::ApiKey(ApiKey::Cookie(key)),
            );
        }
        if self.basic {
            let http = HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some("Basic credentials of a till"))
                .build();
            out.insert(BASIC.into(), SecurityScheme::Http(http));
        }
        out
    }

    /// Writes the schemes to `doc`'s components and each route's security
    /// to its operation (created if absent, with its path parameters).
    /// `None` marks a public route: no security (an explicit empty list when
    /// `doc` has a top-level `security`). Protected operations also get
    /// `401` and `403` responses.
    pub fn apply<'a>(
        &self,
        doc: &mut OpenApi,
        routes: impl IntoIterator<Item = (Method, &'a str, Option<&'a Requirement>)>,
    ) -> Result<(), OpenApiError> {
        let mut scopes = BTreeSet::new();
        for (method, path, requirement) in routes {
            let at = |e: OpenApiError| OpenApiError::Route {
                method: method.clone(),
                path: path.to_owned(),
                source: Box::new(e),
            };
            let verb = http_method(&method).map_err(at)?;
            let security = match requirement {
                Some(r) => {
                    let s = self.security(r).map_err(at)?;
                    for entry in alternatives(r).map_err(at)? {
                        scopes.extend(entry.scopes);
                    }
                    Some(s)
                }
                None => doc.security.is_some().then(Vec::new),
            };
            let item = doc.paths.paths.entry(path.to_owned()).or_default();
            let op = operation_slot(item, &verb).get_or_insert_with(|| new_operation(path));
            if requirement.is_some() {
                let r = &mut op.responses.responses;
                r.entry("401".into())
                    .or_insert_with(|| Response::new("Missing or invalid credentials").into());
                r.entry("403".into())
                    .or_insert_with(|| Response::new("A required scope is missing").into());
            }
            op.security = security;
        }
        let schemes = self.schemes(scopes.iter().map(String::as_str));
        if !schemes.is_empty() {
            let components = doc.components.get_or_insert_with(Components::new);
            components.security_schemes.extend(schemes);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{all, any, customer, scope};
    use crate::{CustomerTokenConfig, IssuerConfig};
    use serde_json::{Value, json};
    use utoipa::openapi::OpenApiBuilder;

    fn schemes() -> SecuritySchemes {
        let config = AuthConfig::default()
            .with_issuer(IssuerConfig::new("https://auth.example.com/"))
            .with_customer_tokens(CustomerTokenConfig::default());
        SecuritySchemes::from_config(&config)
            .token_url("https://auth.example.com/oauth/token")
            .sessions(&SessionSources::default().with_cookie("sid"))
            .basic()
    }

    fn json_of(s: &[SecurityRequirement]) -> Value {
        serde_json::to_value(s).unwrap()
    }

    fn oauth_only() -> SecuritySchemes {
        SecuritySchemes::default().token_url("https://a/token")
    }

    #[test]
    fn all_is_one_entry_and_any_is_alternatives() {
        let s = oauth_only();
        let both = all([scope("orders:read"), scope("customer:read")]);
        assert_eq!(
            json_of(&s.security(&both).unwrap()),
            json!([{"oauth2": ["customer:read", "orders:read"]}])
        );
        let either = any([scope("orders:read"), scope("admin:read")]);
        assert_eq!(
            json_of(&s.security(&either).unwrap()),
            json!([{"oauth2": ["admin:read"]}, {"oauth2": ["orders:read"]}])
        );
        // all(a, any(b, c)) = (a AND b) OR (a AND c).
        let mixed = all([scope("a:r"), any([scope("b:r"), scope("c:r")])]);
        assert_eq!(
            json_of(&s.security(&mixed).unwrap()),
            json!([{"oauth2": ["a:r", "b:r"]}, {"oauth2": ["a:r", "c:r"]}])
        );
        // any(a, all(a, b)) = a.
        let absorbed = any([scope("a:r"), all([scope("a:r"), scope("b:r")])]);
        assert_eq!(
            json_of(&s.security(&absorbed).unwrap()),
            json!([{"oauth2": ["a:r"]}])
        );
        // Authenticated, no scope.
        assert_eq!(
            json_of(&s.security(&all([])).unwrap()),
            json!([{"oauth2": []}])
        );
    }

    #[test]
    fn every_configured_scheme_is_an_alternative() {
        let s = schemes();
        assert_eq!(
            json_of(&s.security(&scope("orders:read")).unwrap()),
            json!([
                {"oauth2": ["orders:read"]},
                {"bearer": ["orders:read"]},
                {"session": ["orders:read"]},
                {"session_cookie": ["orders:read"]},
                {"basic": ["orders:read"]},
            ])
        );
        // A customer-bound caller: a customer token beside an access token,
        // or a session; never a till.
        assert_eq!(
            json_of(
                &s.security(&all([customer(), scope("orders:read")]))
                    .unwrap()
            ),
            json!([
                {"customer_token": [], "oauth2": ["orders:read"]},
                {"bearer": ["orders:read"], "customer_token": []},
                {"session": ["orders:read"]},
                {"session_cookie": ["orders:read"]},
            ])
        );
    }

    #[test]
    fn unsatisfiable_and_exploding_requirements_are_errors() {
        let s = oauth_only();
        assert_eq!(
            s.security(&any([])).err(),
            Some(OpenApiError::Unsatisfiable)
        );
        assert_eq!(
            s.security(&all([scope("a:r"), any([])])).err(),
            Some(OpenApiError::Unsatisfiable)
        );
        // 2^7 = 128 alternatives.
        let big =
            all((0..7).map(|i| any([scope(&format!("e{i}:read")), scope(&format!("e{i}:write"))])));
        assert_eq!(
            s.security(&big).err(),
            Some(OpenApiError::TooManyAlternatives)
        );
    }

    #[test]
    fn only_configured_schemes_are_written() {
        let bare = SecuritySchemes::from_config(&AuthConfig::default());
        let mut doc = OpenApiBuilder::new().build();
        bare.apply(&mut doc, []).unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json.get("components").is_none(), "{json}");

        let mut doc = OpenApiBuilder::new().build();
        schemes()
            .scope_description("orders:read", "Read orders")
            .apply(
                &mut doc,
                [(Method::GET, "/orders/{id}", Some(&scope("orders:write")))],
            )
            .unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        let s = &json["components"]["securitySchemes"];
        assert_eq!(
            s["oauth2"]["flows"]["clientCredentials"],
            json!({"tokenUrl": "https://auth.example.com/oauth/token",
                   "scopes": {"orders:read": "Read orders", "orders:write": ""}})
        );
        assert_eq!(
            s["bearer"],
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "A JWT access token in `Authorization: Bearer`"})
        );
        assert_eq!(s["customer_token"]["in"], "header");
        assert_eq!(s["customer_token"]["name"], "x-customer-token");
        assert_eq!(s["session"]["name"], "x-session-id");
        assert_eq!(
            (&s["session_cookie"]["in"], &s["session_cookie"]["name"]),
            (&json!("cookie"), &json!("sid"))
        );
        assert_eq!(s["basic"]["scheme"], "basic");
        let op = &json["paths"]["/orders/{id}"]["get"];
        assert_eq!(op["parameters"][0]["name"], "id");
        assert_eq!(op["parameters"][0]["in"], "path");
        assert_eq!(op["parameters"][0]["required"], true);
        assert!(op["responses"]["403"].is_object());
    }

    #[test]
    fn apply_updates_existing_operations_and_leaves_public_ones_open() {
        let s = oauth_only();
        let mut doc = OpenApiBuilder::new().build();
        let mut existing = Operation::new();
        existing.summary = Some("List orders".into());
        doc.paths
            .add_path_operation("/orders", vec![HttpMethod::Get], existing);
        s.apply(
            &mut doc,
            [
                (Method::GET, "/orders", Some(&scope("orders:read"))),
                (Method::POST, "/orders", Some(&scope("orders:write"))),
                (Method::GET, "/health", None),
            ],
        )
        .unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        let orders = &json["paths"]["/orders"];
        assert_eq!(orders["get"]["summary"], "List orders");
        assert_eq!(
            orders["get"]["security"],
            json!([{"oauth2": ["orders:read"]}])
        );
        assert_eq!(
            orders["post"]["security"],
            json!([{"oauth2": ["orders:write"]}])
        );
        assert!(json["paths"]["/health"]["get"].get("security").is_none());

        // With a top-level security, a public route says so explicitly.
        let mut doc = OpenApiBuilder::new()
            .security(Some([SecurityRequirement::new(OAUTH2, ["x:read"])]))
            .build();
        s.apply(&mut doc, [(Method::GET, "/health", None)]).unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["paths"]["/health"]["get"]["security"], json!([]));

        let err = s
            .apply(&mut doc, [(Method::CONNECT, "/x", Some(&scope("a:r")))])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "CONNECT /x: OpenAPI has no operation for the method CONNECT"
        );
    }
}
