//! Customer tokens: [`CustomerTokenConfig`] and how they are told apart
//! ([`TokenMarker`]).

use super::IssuerConfig;
use serde::{Deserialize, Serialize};

/// How a token declares its type, so access and customer tokens from the
/// same issuer can never stand in for each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum TokenMarker {
    /// A claim with a fixed string value (e.g. `token_use: "customer"`).
    Claim {
        /// The claim name.
        claim: String,
        /// The value that marks the token type.
        value: String,
    },
    /// The `typ` header (e.g. `customer+jwt`; compared per RFC 7515 §4.1.9).
    Typ {
        /// The media type.
        typ: String,
    },
}

impl Default for TokenMarker {
    fn default() -> Self {
        Self::Claim {
            claim: "token_use".into(),
            value: "customer".into(),
        }
    }
}

/// Customer tokens: a second JWT, bound to one customer, in its own header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CustomerTokenConfig {
    /// The header carrying the token (default `X-Customer-Token`; e.g.
    /// `X-Moltin-Customer-Token`). The value is the bare token, or
    /// `Bearer <token>`.
    pub header: String,
    /// Issuers of customer tokens; empty means the access-token issuers.
    pub issuers: Vec<IssuerConfig>,
    /// What marks a customer token (default claim `token_use: "customer"`).
    /// Customer tokens must carry it; access tokens must not.
    pub marker: TokenMarker,
    /// The required customer-id claim (default `customer_id`).
    pub customer_claim: String,
    /// The app claim that must match the access token's client id (default `client_id`).
    pub client_claim: String,
    /// The account claim that must match the access token's account (default `account_id`).
    pub account_claim: String,
    /// Accept a customer token without an app credential beside it (default off).
    pub allow_alone: bool,
    /// What a customer grant allows; effective scopes are the app's scopes
    /// intersected with this (default `customer:read customer:write orders:read orders:write`).
    pub grant: String,
}

impl Default for CustomerTokenConfig {
    fn default() -> Self {
        Self {
            header: "x-customer-token".into(),
            issuers: Vec::new(),
            marker: TokenMarker::default(),
            customer_claim: "customer_id".into(),
            client_claim: "client_id".into(),
            account_claim: "account_id".into(),
            allow_alone: false,
            grant: "customer:read customer:write orders:read orders:write".into(),
        }
    }
}

impl CustomerTokenConfig {
    /// Sets the header carrying the customer token.
    #[must_use]
    pub fn with_header(mut self, header: impl Into<String>) -> Self {
        self.header = header.into();
        self
    }

    /// Sets the issuers of customer tokens (empty: the access-token issuers).
    #[must_use]
    pub fn with_issuers(mut self, issuers: impl IntoIterator<Item = IssuerConfig>) -> Self {
        self.issuers = issuers.into_iter().collect();
        self
    }

    /// Sets what marks a customer token.
    #[must_use]
    pub fn with_marker(mut self, marker: TokenMarker) -> Self {
        self.marker = marker;
        self
    }

    /// Sets the required customer-id claim.
    #[must_use]
    pub fn with_customer_claim(mut self, claim: impl Into<String>) -> Self {
        self.customer_claim = claim.into();
        self
    }

    /// Sets the app claim that must match the access token's client id.
    #[must_use]
    pub fn with_client_claim(mut self, claim: impl Into<String>) -> Self {
        self.client_claim = claim.into();
        self
    }

    /// Sets the account claim that must match the access token's account.
    #[must_use]
    pub fn with_account_claim(mut self, claim: impl Into<String>) -> Self {
        self.account_claim = claim.into();
        self
    }

    /// Sets whether a customer token is accepted without an app credential beside it.
    #[must_use]
    pub fn with_allow_alone(mut self, allow: bool) -> Self {
        self.allow_alone = allow;
        self
    }

    /// Sets what a customer grant allows (space-delimited scopes).
    #[must_use]
    pub fn with_grant(mut self, grant: impl Into<String>) -> Self {
        self.grant = grant.into();
        self
    }
}
