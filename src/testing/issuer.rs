//! [`TestIssuer`]: a throwaway signing secret and the authenticator that trusts it.

use super::tokens::{TokenBuilder, TokenPairBuilder};
use crate::config::{CryptoBackend, CustomerTokenConfig, IssuerConfig, KeySource, Secret};
use crate::session::{NewSession, SessionId, SessionStore};
use crate::{Authenticator, AuthenticatorBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

/// A throwaway issuer for tests: a random HS256 secret (never leaves the
/// process), an issuer URL and an audience, and an [`Authenticator`]
/// configured for exactly that, with customer tokens enabled.
///
/// Default claims of the tokens it mints: client [`TestIssuer::CLIENT`],
/// account [`TestIssuer::ACCOUNT`], no scopes, five minutes of lifetime.
/// See the [module docs](crate::testing) for an example.
#[derive(Clone)]
pub struct TestIssuer {
    pub(super) issuer: String,
    pub(super) audience: String,
    pub(super) secret: String,
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("secret", &"******")
            .finish()
    }
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

/// The crypto backend compiled in (aws-lc-rs when both are).
fn backend() -> CryptoBackend {
    if cfg!(feature = "aws_lc_rs") {
        CryptoBackend::AwsLcRs
    } else {
        CryptoBackend::RustCrypto
    }
}

impl TestIssuer {
    /// The default issuer (`iss`).
    pub const ISSUER: &'static str = "https://issuer.tollgate.test";
    /// The default audience (`aud`).
    pub const AUDIENCE: &'static str = "tollgate-test-api";
    /// The client of minted tokens unless [`TokenBuilder::client`] says otherwise.
    pub const CLIENT: &'static str = "test-client";
    /// The account of minted tokens and sessions unless set otherwise.
    pub const ACCOUNT: &'static str = "test-account";

    /// A new issuer with a fresh random secret, [`Self::ISSUER`] and [`Self::AUDIENCE`].
    pub fn new() -> Self {
        Self::with_names(Self::ISSUER, Self::AUDIENCE)
    }

    /// A new issuer with a fresh random secret and these `iss` and `aud` values.
    pub fn with_names(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        // Signing needs jsonwebtoken's crypto provider; an already installed
        // one is fine (the authenticator checks it again when built).
        let _ = crate::install_crypto_backend(backend());
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            secret: URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// The `iss` of minted tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` of minted tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The issuer's configuration (static HS256 key, no network), for
    /// building an [`Authenticator`] or an [`AuthConfig`](crate::AuthConfig) yourself.
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig::new(self.issuer.clone())
            .audience(self.audience.clone())
            .key(KeySource::HmacSecret {
                secret: Secret::new(self.secret.clone()),
                algorithm: Some(crate::Algorithm::HS256),
                allow_short: false,
            })
    }

    /// A builder trusting this issuer, with customer tokens enabled (default
    /// [`CustomerTokenConfig`]); add a session store or anything else, then `build()`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tollgate::MemoryStore;
    /// use tollgate::testing::TestIssuer;
    ///
    /// let issuer = TestIssuer::new();
    /// let store = Arc::new(MemoryStore::default());
    /// let auth = issuer.authenticator_builder().session_store(store.clone()).build().unwrap();
    /// # let _ = auth;
    /// ```
    pub fn authenticator_builder(&self) -> AuthenticatorBuilder {
        Authenticator::builder()
            .crypto_backend(backend())
            .issuer(self.issuer_config())
            .customer_tokens(CustomerTokenConfig::default())
    }

    /// An [`Authenticator`] trusting this issuer (see [`Self::authenticator_builder`]).
    ///
    /// # Panics
    ///
    /// If no crypto backend is compiled in.
    pub fn authenticator(&self) -> Authenticator {
        self.authenticator_builder()
            .build()
            .expect("the test authenticator must build")
    }

    /// A builder for an access token (`typ: at+jwt`).
    pub fn access_token(&self) -> TokenBuilder<'_> {
        TokenBuilder::access(self)
    }

    /// A builder for a customer token alone (marked as the default
    /// [`CustomerTokenConfig`] expects), bound to `customer`.
    pub fn customer_token(&self, customer: &str) -> TokenBuilder<'_> {
        TokenBuilder::customer_token(self, customer)
    }

    /// A builder for an access token and a customer token bound to the same
    /// client and account: what a storefront sends on behalf of `customer`.
    ///
    /// ```
    /// use tollgate::testing::TestIssuer;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let issuer = TestIssuer::new();
    /// let pair = issuer.customer_token_pair("cust-1").scopes("orders:read").build();
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", format!("Bearer {}", pair.access).parse().unwrap());
    /// headers.insert("x-customer-token", pair.customer.parse().unwrap());
    /// let ctx = issuer.authenticator().authenticate(&headers).await.unwrap().unwrap();
    /// assert_eq!(ctx.customer(), Some("cust-1"));
    /// # });
    /// ```
    pub fn customer_token_pair(&self, customer: &str) -> TokenPairBuilder<'_> {
        TokenPairBuilder::new(self, customer)
    }

    /// Creates a session in `store` for [`Self::ACCOUNT`] and
    /// [`Self::CLIENT`], bound to `customer` (or anonymous with `None`),
    /// granting `scopes` (space-delimited), and returns its ID. Build the
    /// authenticator with the same store (`authenticator_builder().session_store(..)`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tollgate::MemoryStore;
    /// use tollgate::testing::{TestIssuer, with_session};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let issuer = TestIssuer::new();
    /// let store = Arc::new(MemoryStore::default());
    /// let auth = issuer.authenticator_builder().session_store(store.clone()).build().unwrap();
    /// let sid = issuer.session(&*store, "cust-1", "customer:read").await;
    /// let req = with_session(http::Request::new(()), &sid);
    /// let ctx = auth.authenticate(req.headers()).await.unwrap().unwrap();
    /// assert_eq!(ctx.customer(), Some("cust-1"));
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// If the store refuses the session.
    pub async fn session<'c, S>(
        &self,
        store: &S,
        customer: impl Into<Option<&'c str>>,
        scopes: &str,
    ) -> SessionId
    where
        S: SessionStore + ?Sized,
    {
        let mut new = NewSession::anonymous(Self::ACCOUNT, scopes).with_client_id(Self::CLIENT);
        if let Some(customer) = customer.into() {
            new = new.with_customer(customer);
        }
        store
            .create(new)
            .await
            .expect("the session store must accept the test session")
            .id
    }
}
