//! [`AuthContext`]: who is calling, for which account, with which scopes.
//!
//! Built once per request by the [`Authenticator`](crate::Authenticator) and
//! handed to handlers; nothing downstream re-parses the token. Cloning is one
//! reference-count increment.

use crate::error::{AuthError, ErrorSettings};
use crate::policy::Requirement;
use crate::scope::{ScopeRules, ScopeSet};
use crate::session_id::SessionId;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;

mod claims;
pub(crate) use claims::ClaimSet;

/// Which kinds of credential a request authenticated with.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct CredentialKinds(u8);

impl CredentialKinds {
    /// An access token (bearer JWT).
    pub const ACCESS_TOKEN: Self = Self(1);
    /// A customer token (JWT bound to one customer).
    pub const CUSTOMER_TOKEN: Self = Self(2);
    /// A customer session ID.
    pub const SESSION: Self = Self(4);
    /// Legacy basic credentials (a till).
    pub const BASIC: Self = Self(8);

    /// Whether every kind in `other` is present.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether any kind in `other` is present.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Adds the kinds in `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Both sets of kinds.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Names of the kinds present, for logs and JSON.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (Self::ACCESS_TOKEN, "access_token"),
            (Self::CUSTOMER_TOKEN, "customer_token"),
            (Self::SESSION, "session"),
            (Self::BASIC, "basic"),
        ]
        .into_iter()
        .filter(move |(k, _)| self.contains(*k))
        .map(|(_, n)| n)
    }
}

impl fmt::Debug for CredentialKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// Settings every context of one authenticator shares.
#[derive(Debug)]
pub(crate) struct ContextShared {
    pub(crate) errors: ErrorSettings,
    pub(crate) scope_rules: ScopeRules,
}

struct Inner {
    issuer: Box<str>,
    account: Option<Box<str>>,
    client_id: Option<Box<str>>,
    subject: Option<Box<str>>,
    customer: Option<Box<str>>,
    session: Option<SessionId>,
    attribution: Option<Box<str>>,
    scopes: ScopeSet,
    expires_at: Option<u64>,
    credentials: CredentialKinds,
    claims: ClaimSet,
    customer_token_id: Option<Box<str>>,
    /// The customer token's own `exp` (a merged context's `expires_at` is
    /// the earlier of the pair's). Zero is no live token's `exp`.
    customer_token_expires_at: Option<std::num::NonZeroU64>,
    marks: Option<Box<TokenMarks>>,
    shared: Arc<ContextShared>,
}

/// A verified JWT's `jti` and `iat` as a revocation list reads them from
/// its claims, taken while the token was parsed when the authenticator has
/// a revocation list: the per-request check then builds no map of every
/// claim (that build was about a third of the work around an RS256
/// signature check). `None` in a context means: read them from the claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenMarks {
    pub(crate) jti: Option<Box<str>>,
    pub(crate) iat: Option<u64>,
}

impl TokenMarks {
    /// The marks of claims holding these `jti` and `iat` values (see
    /// [`jti`](Self::jti) and [`iat`](Self::iat)).
    pub(crate) fn of(jti: Option<&serde_json::Value>, iat: Option<&serde_json::Value>) -> Self {
        Self {
            jti: Self::jti(jti).map(Box::from),
            iat: Self::iat(iat),
        }
    }

    /// A `jti` value as a revocation list reads it: a string.
    pub(crate) fn jti(v: Option<&serde_json::Value>) -> Option<&str> {
        v.and_then(serde_json::Value::as_str)
    }

    /// An `iat` value as a revocation list reads it: a finite, non-negative
    /// number, in whole seconds.
    pub(crate) fn iat(v: Option<&serde_json::Value>) -> Option<u64> {
        v.and_then(serde_json::Value::as_f64)
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    }
}

/// The verified identity of a request.
#[derive(Clone)]
pub struct AuthContext(Arc<Inner>);

/// A weak handle on one context allocation: while it lives, no other
/// context can have the same address, so [`is`](Self::is) is an identity
/// check (used to memoize results computed from cached contexts).
#[derive(Clone)]
pub(crate) struct WeakContext(std::sync::Weak<Inner>);

impl WeakContext {
    /// Whether `ctx` is the very context this handle was taken from.
    pub(crate) fn is(&self, ctx: &AuthContext) -> bool {
        std::ptr::eq(self.0.as_ptr(), Arc::as_ptr(&ctx.0))
    }
}

/// Fields to build an [`AuthContext`] from.
pub(crate) struct ContextParts {
    pub(crate) issuer: Box<str>,
    pub(crate) account: Option<Box<str>>,
    pub(crate) client_id: Option<Box<str>>,
    pub(crate) subject: Option<Box<str>>,
    pub(crate) customer: Option<Box<str>>,
    pub(crate) session: Option<SessionId>,
    pub(crate) attribution: Option<Box<str>>,
    pub(crate) scopes: ScopeSet,
    pub(crate) expires_at: Option<u64>,
    pub(crate) credentials: CredentialKinds,
    pub(crate) claims: ClaimSet,
    pub(crate) customer_token_id: Option<Box<str>>,
    pub(crate) customer_token_expires_at: Option<u64>,
    pub(crate) marks: Option<Box<TokenMarks>>,
}

impl AuthContext {
    pub(crate) fn new(parts: ContextParts, shared: Arc<ContextShared>) -> Self {
        Self(Arc::new(Inner {
            issuer: parts.issuer,
            account: parts.account,
            client_id: parts.client_id,
            subject: parts.subject,
            customer: parts.customer,
            session: parts.session,
            attribution: parts.attribution,
            scopes: parts.scopes,
            expires_at: parts.expires_at,
            credentials: parts.credentials,
            claims: parts.claims,
            customer_token_id: parts.customer_token_id,
            customer_token_expires_at: parts
                .customer_token_expires_at
                .and_then(std::num::NonZeroU64::new),
            marks: parts.marks,
            shared,
        }))
    }

    /// The `jti` and `iat` kept for revocation checks, if they were.
    pub(crate) fn marks(&self) -> Option<&TokenMarks> {
        self.0.marks.as_deref()
    }

    /// The address of this context's allocation (an identity, with
    /// [`WeakContext`] to keep it unique).
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.0).addr()
    }

    /// Whether the claims have a `cnf` (confirmation) member at all.
    pub(crate) fn has_confirmation(&self) -> bool {
        self.0.claims.has_confirmation()
    }

    /// About how many heap bytes this context holds, malloc's rounding and
    /// headers included: what a cached copy costs (the token cache weighs
    /// its entries with it, so `max_bytes` bounds real memory).
    pub(crate) fn heap_bytes(&self) -> usize {
        let i = &*self.0;
        let text = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| heap::block(s.len()));
        // The Arc's two counts and the `Inner` it holds.
        heap::block(2 * size_of::<usize>() + size_of::<Inner>())
            + heap::block(i.issuer.len())
            + text(&i.account)
            + text(&i.client_id)
            + text(&i.subject)
            + text(&i.customer)
            + text(&i.attribution)
            + text(&i.customer_token_id)
            + i.session
                .as_ref()
                .map_or(0, |s| heap::block(s.as_str().len()))
            + i.scopes.heap_bytes()
            + i.claims.heap_bytes()
    }

    pub(crate) fn downgrade(&self) -> WeakContext {
        WeakContext(Arc::downgrade(&self.0))
    }

    /// The issuer (`iss`) that vouched for this caller.
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// The account (tenant) the caller acts in.
    pub fn account(&self) -> Option<&str> {
        self.0.account.as_deref()
    }

    /// The client application.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// How the access token was bound: [`TokenBinding::Dpop`](crate::TokenBinding::Dpop) when it is
    /// DPoP-bound (`cnf.jkt`), which the engine accepts only with a valid
    /// proof of that key on this request; [`TokenBinding::Certificate`](crate::TokenBinding::Certificate)
    /// when it is certificate-bound (`cnf.x5t#S256`, RFC 8705), which the
    /// engine accepts only with that client certificate; [`TokenBinding::Bearer`](crate::TokenBinding::Bearer)
    /// otherwise. A token bound both ways reports `Dpop` (both were checked).
    pub fn binding(&self) -> crate::dpop::TokenBinding {
        if !self.0.credentials.contains(CredentialKinds::ACCESS_TOKEN) {
            return crate::dpop::TokenBinding::Bearer;
        }
        let cnf = self.0.claims.map().get("cnf");
        let text = |name: &str| cnf.and_then(|c| c.get(name)).and_then(|v| v.as_str());
        if let Some(jkt) = text("jkt") {
            crate::dpop::TokenBinding::Dpop {
                jkt: jkt.to_owned(),
            }
        } else if let Some(x5t) = text(crate::mtls::X5T_S256) {
            crate::dpop::TokenBinding::Certificate {
                x5t_s256: x5t.to_owned(),
            }
        } else {
            crate::dpop::TokenBinding::Bearer
        }
    }

    /// The token subject (`sub`).
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// The customer this request acts for, if a customer credential (customer
    /// token or bound session) was presented.
    pub fn customer(&self) -> Option<&str> {
        self.0.customer.as_deref()
    }

    /// What this request's writes are attributed to (e.g. a till or store):
    /// the attribution header if the caller may use it, else the caller's
    /// default.
    pub fn attribution(&self) -> Option<&str> {
        self.0.attribution.as_deref()
    }

    /// The session, if a session credential was presented.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.0.session.as_ref()
    }

    /// Whether the caller is scoped to one customer (or to a customer not
    /// yet known: an anonymous onboarding session).
    pub fn is_customer_scoped(&self) -> bool {
        // A session or customer token is customer-scoped even before it
        // names a customer (anonymous onboarding); any other credential is
        // when it names one (a user token from an authorization-code login).
        self.0
            .credentials
            .intersects(CredentialKinds::CUSTOMER_TOKEN.union(CredentialKinds::SESSION))
            || self.0.customer.is_some()
    }

    /// The one-line ownership check: a customer-scoped caller may only reach
    /// its own customer's records (403 `insufficient_scope` otherwise);
    /// app-level callers pass.
    ///
    /// ```
    /// # fn handler(auth: tollgate::AuthContext, path_id: String) -> Result<(), tollgate::AuthError> {
    /// auth.ensure_customer(&path_id)?;
    /// # Ok(()) }
    /// ```
    pub fn ensure_customer(&self, customer_id: &str) -> Result<(), AuthError> {
        if !self.is_customer_scoped() {
            return Ok(());
        }
        match self.customer() {
            Some(own)
                if bool::from(subtle::ConstantTimeEq::ct_eq(
                    own.as_bytes(),
                    customer_id.as_bytes(),
                )) =>
            {
                Ok(())
            }
            _ => Err(AuthError::forbidden(
                "the caller may only access its own customer",
                &self.0.shared.errors,
            )),
        }
    }

    /// The effective scopes.
    pub fn scopes(&self) -> &ScopeSet {
        &self.0.scopes
    }

    /// Expiry as seconds since the Unix epoch.
    pub fn expires_at(&self) -> Option<u64> {
        self.0.expires_at
    }

    /// Which credential kinds were presented and verified.
    pub fn credentials(&self) -> CredentialKinds {
        self.0.credentials
    }

    /// The `jti` of the customer token this request carried, if any (for
    /// revoking it at logout).
    pub fn customer_token_id(&self) -> Option<&str> {
        self.0.customer_token_id.as_deref()
    }

    /// When the customer token this request carried expires (its own
    /// `exp`, seconds since the epoch): what a revocation of it at logout
    /// must last until. [`expires_at`](Self::expires_at) is the earlier of
    /// the access token's and the customer token's.
    pub fn customer_token_expires_at(&self) -> Option<u64> {
        self.0
            .customer_token_expires_at
            .map(std::num::NonZeroU64::get)
    }

    /// The raw verified claims.
    pub fn raw_claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.0.claims.map()
    }

    /// The claims, as held (for merging without building their map).
    pub(crate) fn claim_set(&self) -> &ClaimSet {
        &self.0.claims
    }

    /// The verified claims as your own type, without re-verifying.
    ///
    /// ```
    /// # fn f(ctx: tollgate::AuthContext) {
    /// #[derive(serde::Deserialize)]
    /// struct MyClaims { tier: String }
    /// let claims: Result<MyClaims, _> = ctx.claims();
    /// # }
    /// ```
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        // Deserializing from a borrowed map clones only what `T` keeps.
        T::deserialize(MapRef(self.0.claims.map()))
    }

    /// Whether the context's scopes satisfy `requirement`.
    pub fn satisfies(&self, requirement: &Requirement) -> bool {
        requirement.met(self.scopes(), self.scope_rules(), self.customer())
    }

    /// Checks `requirement`, answering 403 `insufficient_scope` naming the
    /// missing scope(s) when it is not met.
    ///
    /// ```
    /// # fn handler(auth: tollgate::AuthContext) -> Result<(), tollgate::AuthError> {
    /// use tollgate::policy::scope;
    /// auth.require(&scope("orders:write"))?;
    /// # Ok(()) }
    /// ```
    pub fn require(&self, requirement: &Requirement) -> Result<(), AuthError> {
        if self.satisfies(requirement) {
            return Ok(());
        }
        requirement.refusal(self.scopes(), self.scope_rules(), self.error_settings())
    }

    /// Shorthand for [`require`](Self::require) with one scope string.
    ///
    /// An invalid scope string is never satisfied.
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthError> {
        match Requirement::parse_scope(scope, &self.0.shared.scope_rules) {
            Ok(req) => self.require(&req),
            Err(_) => Err(AuthError::insufficient_scope(
                scope.to_owned(),
                &self.0.shared.errors,
            )),
        }
    }
}

/// Lets `&Map` act as a serde `Deserializer` without cloning the map.
struct MapRef<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserializer<'de> for MapRef<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        serde::Deserializer::deserialize_any(
            serde::de::value::MapDeserializer::new(self.0.iter().map(|(k, v)| (k.as_str(), v))),
            visitor,
        )
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl AuthContext {
    /// A bare context issued by `issuer`, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(issuer: &str) -> AuthContext {
        AuthContext::new(
            ContextParts {
                issuer: issuer.into(),
                account: None,
                client_id: Some("client".into()),
                subject: None,
                customer: None,
                session: None,
                attribution: None,
                scopes: ScopeSet::default(),
                expires_at: None,
                credentials: CredentialKinds::default(),
                claims: ClaimSet::empty(),
                customer_token_id: None,
                customer_token_expires_at: None,
                marks: None,
            },
            Arc::new(ContextShared {
                errors: ErrorSettings::default(),
                scope_rules: ScopeRules::default(),
            }),
        )
    }

    /// [`for_tests`](Self::for_tests) with these claims.
    #[cfg(test)]
    pub(crate) fn for_tests_with_claims(
        issuer: &str,
        claims: serde_json::Map<String, serde_json::Value>,
    ) -> AuthContext {
        let mut ctx = Self::for_tests(issuer);
        if let Some(inner) = Arc::get_mut(&mut ctx.0) {
            inner.claims = ClaimSet::from_map(claims);
        }
        ctx
    }

    /// A copy in an allocation of its own (for the per-thread token cache:
    /// a clone of it touches no reference count another thread uses).
    pub(crate) fn detached(&self) -> AuthContext {
        self.with_attribution(self.0.attribution.clone())
    }

    /// A copy with `attribution` set.
    pub(crate) fn with_attribution(&self, attribution: Option<Box<str>>) -> AuthContext {
        let i = &self.0;
        AuthContext::new(
            ContextParts {
                issuer: i.issuer.clone(),
                account: i.account.clone(),
                client_id: i.client_id.clone(),
                subject: i.subject.clone(),
                customer: i.customer.clone(),
                session: i.session.clone(),
                attribution,
                scopes: i.scopes.clone(),
                expires_at: i.expires_at,
                credentials: i.credentials,
                claims: i.claims.clone(),
                customer_token_id: i.customer_token_id.clone(),
                customer_token_expires_at: i
                    .customer_token_expires_at
                    .map(std::num::NonZeroU64::get),
                marks: i.marks.clone(),
            },
            i.shared.clone(),
        )
    }

    pub(crate) fn scope_rules(&self) -> &ScopeRules {
        &self.0.shared.scope_rules
    }

    pub(crate) fn error_settings(&self) -> &ErrorSettings {
        &self.0.shared.errors
    }
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims may carry personal data; show identifiers only.
        f.debug_struct("AuthContext")
            .field("issuer", &self.0.issuer)
            .field("account", &self.0.account)
            .field("client_id", &self.0.client_id)
            .field("subject", &self.0.subject)
            .field("customer", &self.0.customer)
            .field("session", &self.0.session)
            .field("attribution", &self.0.attribution)
            .field("scopes", &self.0.scopes)
            .field("expires_at", &self.0.expires_at)
            .field("credentials", &self.0.credentials)
            .finish_non_exhaustive()
    }
}

impl serde::Serialize for AuthContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AuthContext", 9)?;
        s.serialize_field("issuer", &*self.0.issuer)?;
        s.serialize_field("account", &self.0.account)?;
        s.serialize_field("client_id", &self.0.client_id)?;
        s.serialize_field("subject", &self.0.subject)?;
        s.serialize_field("customer", &self.0.customer)?;
        s.serialize_field("attribution", &self.0.attribution)?;
        s.serialize_field("scopes", &self.0.scopes)?;
        s.serialize_field("expires_at", &self.0.expires_at)?;
        s.serialize_field(
            "credentials",
            &self.0.credentials.names().collect::<Vec<_>>(),
        )?;
        s.end()
    }
}

/// Estimates of heap use, for cache weights.
pub(crate) mod heap {
    /// The bytes one allocation of `n` bytes takes from glibc's malloc: a
    /// header word, rounded up to 16, at least 32.
    pub(crate) fn block(n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (n + size_of::<usize>()).next_multiple_of(16).max(32)
        }
    }

    /// A `serde_json` object (a B-tree map): its nodes of up to 11
    /// members, one for a small object and otherwise about 8 members per
    /// node, and each member's own heap.
    pub(crate) fn json_map(map: &serde_json::Map<String, serde_json::Value>) -> usize {
        json_map_nodes(map.len())
            + map
                .iter()
                .map(|(k, v)| block(k.len()) + json_value(v))
                .sum::<usize>()
    }

    /// The B-tree nodes of an object of `members` members.
    pub(crate) fn json_map_nodes(members: usize) -> usize {
        const NODE: usize = 11 * (size_of::<String>() + size_of::<serde_json::Value>()) + 16;
        let nodes = match members {
            0 => 0,
            1..=11 => 1,
            n => n.div_ceil(8),
        };
        nodes * block(NODE)
    }

    /// An array's buffer as `serde_json` grows it while parsing (4 slots,
    /// then doubling).
    pub(crate) fn json_array_buffer(len: usize) -> usize {
        match len {
            0 => 0,
            n => block(n.next_power_of_two().max(4) * size_of::<serde_json::Value>()),
        }
    }

    pub(crate) fn json_value(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
            Value::String(s) => block(s.len()),
            Value::Array(a) => {
                block(a.capacity() * size_of::<Value>()) + a.iter().map(json_value).sum::<usize>()
            }
            Value::Object(m) => json_map(m),
        }
    }
}
