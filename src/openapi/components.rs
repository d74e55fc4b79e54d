//! The security schemes of the configured credential kinds, as
//! `components.securitySchemes` entries.

use super::{BASIC, BEARER, CUSTOMER_TOKEN, OAUTH2, SESSION, SESSION_COOKIE, SecuritySchemes};
use std::collections::BTreeMap;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityScheme,
};

impl SecuritySchemes {
    /// The `components.securitySchemes` entries, the OAuth2 flow listing
    /// `scopes` and the described ones.
    pub(super) fn schemes<'a>(
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
}
