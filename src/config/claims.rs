//! [`ClaimNames`]: which claims hold account, client id and scopes.

use serde::{Deserialize, Serialize};

/// Which claims hold the context's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ClaimNames {
    /// The account (tenant) claim (default `account_id`).
    pub account: String,
    /// The client id claim: `client_id` (default), `azp` or `sub`.
    pub client_id: String,
    /// The scope claim (default `scope`): a space-delimited string or an array.
    pub scope: String,
    /// The customer claim of an access token issued through a customer's
    /// login (authorization code; default `customer_id`). A token that has
    /// it is customer-scoped: [`AuthContext::ensure_customer`](crate::AuthContext::ensure_customer)
    /// holds it to that customer.
    pub customer: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            account: "account_id".into(),
            client_id: "client_id".into(),
            scope: "scope".into(),
            customer: "customer_id".into(),
        }
    }
}

impl ClaimNames {
    /// Sets the account (tenant) claim.
    #[must_use]
    pub fn with_account(mut self, claim: impl Into<String>) -> Self {
        self.account = claim.into();
        self
    }

    /// Sets the client id claim (`client_id`, `azp` or `sub`).
    #[must_use]
    pub fn with_client_id(mut self, claim: impl Into<String>) -> Self {
        self.client_id = claim.into();
        self
    }

    /// Sets the scope claim.
    #[must_use]
    pub fn with_scope(mut self, claim: impl Into<String>) -> Self {
        self.scope = claim.into();
        self
    }

    /// Sets the customer claim of customer-scoped access tokens.
    #[must_use]
    pub fn with_customer(mut self, claim: impl Into<String>) -> Self {
        self.customer = claim.into();
        self
    }
}
