//! Token builders: access tokens, customer tokens and pairs of them, each
//! with an expired and a tampered variant.

use super::issuer::TestIssuer;
use crate::config::{CustomerTokenConfig, TokenMarker};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far in the past an [`expired`](TokenBuilder::expired) token expired:
/// well beyond the default 60 s leeway.
const EXPIRED_AGO: i64 = 3600;

/// The `typ` header of access tokens (RFC 9068).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn random_id() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("the OS random number generator failed");
    URL_SAFE_NO_PAD.encode(b)
}

/// Changes a signed token's payload (adds `"tampered": true` and widens its
/// scope claim) and keeps its header and signature: a token every verifier
/// must refuse with `invalid_token`.
///
/// # Panics
///
/// If `token` is not a compact JWS with a JSON-object payload.
pub fn tamper(token: &str) -> String {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("tamper: not a compact JWS");
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .expect("tamper: the payload is not base64url");
    let mut claims: Map<String, Value> =
        serde_json::from_slice(&bytes).expect("tamper: the payload is not a JSON object");
    claims.insert("tampered".into(), Value::Bool(true));
    claims.insert("scope".into(), Value::String("*:*".into()));
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string());
    format!("{header}.{payload}.{signature}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Access,
    Customer,
}

/// Builds one token signed by a [`TestIssuer`]; see
/// [`TestIssuer::access_token`] and [`TestIssuer::customer_token`].
///
/// ```
/// use std::time::Duration;
/// use tollgate::testing::TestIssuer;
///
/// let issuer = TestIssuer::new();
/// let token: String = issuer
///     .access_token()
///     .scopes("orders:read orders:write")
///     .client("app")
///     .account("acct")
///     .claim("tier", "gold")
///     .expires_in(Duration::from_secs(60))
///     .build();
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    kind: Kind,
    claims: Map<String, Value>,
    scopes: Vec<String>,
    lifetime: i64,
    expired: bool,
    tampered: bool,
}

impl<'a> TokenBuilder<'a> {
    fn base(issuer: &'a TestIssuer, kind: Kind) -> Self {
        let mut claims = Map::new();
        claims.insert("iss".into(), issuer.issuer.clone().into());
        claims.insert("aud".into(), issuer.audience.clone().into());
        claims.insert("client_id".into(), TestIssuer::CLIENT.into());
        claims.insert("account_id".into(), TestIssuer::ACCOUNT.into());
        Self {
            issuer,
            kind,
            claims,
            scopes: Vec::new(),
            lifetime: 300,
            expired: false,
            tampered: false,
        }
    }

    pub(super) fn access(issuer: &'a TestIssuer) -> Self {
        let mut b = Self::base(issuer, Kind::Access);
        b.claims.insert("sub".into(), TestIssuer::CLIENT.into());
        b
    }

    pub(super) fn customer_token(issuer: &'a TestIssuer, customer: &str) -> Self {
        let mut b = Self::base(issuer, Kind::Customer);
        b.claims.insert("sub".into(), customer.into());
        b.claims.insert("customer_id".into(), customer.into());
        // Marked as the default configuration expects (a `typ` marker is
        // set on the header when the token is built).
        if let TokenMarker::Claim { claim, value } = CustomerTokenConfig::default().marker {
            b.claims.insert(claim, value.into());
        }
        b
    }

    /// Adds scopes (space-delimited; may be called more than once). A
    /// customer token without scopes carries no scope claim and so gets the
    /// whole customer grant.
    pub fn scopes(mut self, scopes: &str) -> Self {
        self.scopes
            .extend(scopes.split_whitespace().map(str::to_owned));
        self
    }

    /// Sets the client (`client_id`; also `sub` of an access token).
    pub fn client(mut self, client: &str) -> Self {
        self.claims.insert("client_id".into(), client.into());
        if self.kind == Kind::Access {
            self.claims.insert("sub".into(), client.into());
        }
        self
    }

    /// Sets the account (`account_id`).
    pub fn account(mut self, account: &str) -> Self {
        self.claims.insert("account_id".into(), account.into());
        self
    }

    /// Makes an access token a user token naming `customer` (`customer_id`
    /// and `sub`), as issued through a customer's login.
    pub fn customer(mut self, customer: &str) -> Self {
        self.claims.insert("customer_id".into(), customer.into());
        self.claims.insert("sub".into(), customer.into());
        self
    }

    /// Sets (or, with `Value::Null`, removes) any claim, registered ones included.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        match value.into() {
            Value::Null => self.claims.remove(name),
            v => self.claims.insert(name.into(), v),
        };
        self
    }

    /// Sets the audience (`aud`), e.g. to test a token meant for another API.
    pub fn audience(self, audience: &str) -> Self {
        self.claim("aud", audience)
    }

    /// Binds the token to the client certificate `der` (RFC 8705:
    /// `cnf.x5t#S256`, see [`crate::mtls`]).
    pub fn bound_to_certificate(self, der: &[u8]) -> Self {
        let x5t = crate::mtls::certificate_thumbprint(der);
        self.claim("cnf", serde_json::json!({ crate::mtls::X5T_S256: x5t }))
    }

    /// Sets the lifetime (default five minutes).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Makes the token expired (an hour ago, beyond any default leeway).
    pub fn expired(mut self) -> Self {
        self.expired = true;
        self
    }

    /// Changes the payload after signing (see [`tamper`]): the signature no
    /// longer matches.
    pub fn tampered(mut self) -> Self {
        self.tampered = true;
        self
    }

    /// Signs the token.
    ///
    /// # Panics
    ///
    /// If signing fails (no crypto backend compiled in).
    pub fn build(self) -> String {
        let mut claims = self.claims;
        let now = now();
        let (iat, exp) = if self.expired {
            (now - EXPIRED_AGO - self.lifetime, now - EXPIRED_AGO)
        } else {
            (now, now.saturating_add(self.lifetime))
        };
        claims.entry("iat").or_insert(iat.into());
        claims.entry("exp").or_insert(exp.into());
        claims.entry("jti").or_insert_with(|| random_id().into());
        if !self.scopes.is_empty() {
            claims.insert("scope".into(), self.scopes.join(" ").into());
        }
        let mut header = Header::new(Algorithm::HS256);
        header.typ = match (self.kind, CustomerTokenConfig::default().marker) {
            (Kind::Access, _) => Some(ACCESS_TOKEN_TYP.into()),
            (Kind::Customer, TokenMarker::Typ { typ }) => Some(typ),
            (Kind::Customer, _) => None,
        };
        let key = EncodingKey::from_secret(self.issuer.secret.as_bytes());
        let token = jsonwebtoken::encode(&header, &Value::Object(claims), &key)
            .expect("signing the test token failed");
        if self.tampered { tamper(&token) } else { token }
    }
}

/// An access token and a customer token bound to the same client and account.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenPair {
    /// The app's access token (`Authorization: Bearer`).
    pub access: String,
    /// The customer token (default header `X-Customer-Token`).
    pub customer: String,
}

/// Builds a [`TokenPair`]; see [`TestIssuer::customer_token_pair`].
/// Client and account apply to both tokens; `scopes` to the access token,
/// `customer_scopes`, `expired` and `tampered` to the customer token.
#[derive(Clone, Debug)]
#[must_use]
pub struct TokenPairBuilder<'a> {
    access: TokenBuilder<'a>,
    customer: TokenBuilder<'a>,
}

impl<'a> TokenPairBuilder<'a> {
    pub(super) fn new(issuer: &'a TestIssuer, customer: &str) -> Self {
        Self {
            access: TokenBuilder::access(issuer),
            customer: TokenBuilder::customer_token(issuer, customer),
        }
    }

    /// Adds scopes to the access token (the app's scopes).
    pub fn scopes(mut self, scopes: &str) -> Self {
        self.access = self.access.scopes(scopes);
        self
    }

    /// Narrows the customer token's own grant with a scope claim.
    pub fn customer_scopes(mut self, scopes: &str) -> Self {
        self.customer = self.customer.scopes(scopes);
        self
    }

    /// Sets the client of both tokens.
    pub fn client(mut self, client: &str) -> Self {
        self.access = self.access.client(client);
        self.customer = self.customer.client(client);
        self
    }

    /// Sets the account of both tokens.
    pub fn account(mut self, account: &str) -> Self {
        self.access = self.access.account(account);
        self.customer = self.customer.account(account);
        self
    }

    /// Makes the customer token expired.
    pub fn expired(mut self) -> Self {
        self.customer = self.customer.expired();
        self
    }

    /// Tampers with the customer token's payload.
    pub fn tampered(mut self) -> Self {
        self.customer = self.customer.tampered();
        self
    }

    /// Adjusts the access token with `f` (any [`TokenBuilder`] method).
    pub fn access_with(mut self, f: impl FnOnce(TokenBuilder<'a>) -> TokenBuilder<'a>) -> Self {
        self.access = f(self.access);
        self
    }

    /// Adjusts the customer token with `f` (any [`TokenBuilder`] method).
    pub fn customer_with(mut self, f: impl FnOnce(TokenBuilder<'a>) -> TokenBuilder<'a>) -> Self {
        self.customer = f(self.customer);
        self
    }

    /// Signs both tokens.
    pub fn build(self) -> TokenPair {
        TokenPair {
            access: self.access.build(),
            customer: self.customer.build(),
        }
    }
}
