//! Per-operation requirements: the `security` entries of one operation, one
//! per alternative and scheme.

use super::alternatives::alternatives;
use super::{
    BASIC, BEARER, CUSTOMER_TOKEN, OAUTH2, OpenApiError, SESSION, SESSION_COOKIE, SecuritySchemes,
};
use crate::policy::Requirement;
use utoipa::openapi::security::SecurityRequirement;

impl SecuritySchemes {
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
}
