//! The three browser steps: `GET /oauth/authorize` (the login page),
//! `POST /oauth/authorize/login` (the password check, then the consent
//! page) and `POST /oauth/authorize/consent` (the code, or
//! `access_denied`, sent to the client's redirect URI).

use super::super::endpoint::TokenEndpoint;
use super::super::grants::{CodeGrant, Redeemed, grants_now, random_secret};
use super::super::throttle::{ThrottleRule, throttle_key};
use super::CodeFlow;
use super::pages::{
    csrf_cookie, csrf_from_cookies, csrf_ok, error_page, esc, hidden, page, see_other,
};
use super::request::{AuthorizeRequest, Params, Refusal, redirect_to};
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};

const LOGIN_PATH: &str = "/oauth/authorize/login";
const CONSENT_PATH: &str = "/oauth/authorize/consent";
/// Longest accepted email and password.
const MAX_FIELD: usize = 256;

/// The hidden fields that carry the authorization request through the
/// login form (they are parsed and checked again on the post).
fn request_fields(r: &AuthorizeRequest) -> String {
    let mut f = String::new();
    f.push_str(&hidden("response_type", "code"));
    f.push_str(&hidden("client_id", &r.client.id));
    f.push_str(&hidden("redirect_uri", &r.redirect_uri));
    f.push_str(&hidden("scope", &r.scope));
    if let Some(s) = &r.state {
        f.push_str(&hidden("state", s));
    }
    if let Some(c) = &r.challenge {
        f.push_str(&hidden("code_challenge", c.as_str()));
        f.push_str(&hidden("code_challenge_method", "S256"));
    }
    if let Some(n) = &r.nonce {
        f.push_str(&hidden("nonce", n));
    }
    f
}

impl CodeFlow {
    fn secure(ep: &TokenEndpoint) -> bool {
        ep.minter.issuer().starts_with("https://")
    }

    fn refusal(&self, ep: &TokenEndpoint, refusal: Refusal) -> Response<Bytes> {
        match refusal {
            Refusal::Page(msg) => error_page(StatusCode::BAD_REQUEST, msg),
            Refusal::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => {
                let mut params = vec![("error", error), ("error_description", description)];
                if let Some(s) = &state {
                    params.push(("state", s));
                }
                let mut res = see_other(&redirect_to(&redirect_uri, &params, ep.minter.issuer()));
                *res.status_mut() = StatusCode::FOUND;
                res
            }
        }
    }

    fn login_page(
        &self,
        ep: &TokenEndpoint,
        r: &AuthorizeRequest,
        status: StatusCode,
        message: Option<&str>,
        csrf: &str,
        email: &str,
    ) -> Response<Bytes> {
        let error = message
            .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
            .unwrap_or_default();
        let body = format!(
            "<p><strong>{client}</strong> asks to access your account at {issuer}.</p>{error}\
             <form method=\"post\" action=\"{LOGIN_PATH}\">{fields}{csrf_field}\
             <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{email}\">\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button id=\"login\" type=\"submit\">Log in</button></form>",
            client = esc(&r.client.id),
            issuer = esc(ep.minter.issuer()),
            fields = request_fields(r),
            csrf_field = hidden("csrf", csrf),
            email = esc(email),
        );
        page(status, "Log in", &body)
    }

    /// `GET /oauth/authorize`.
    pub(crate) fn authorize(&self, ep: &TokenEndpoint, query: Option<&str>) -> Response<Bytes> {
        let query = query.unwrap_or("");
        if query.len() > self.settings.max_request_bytes {
            return error_page(StatusCode::URI_TOO_LONG, "the request is too long");
        }
        let params = Params::parse(query.as_bytes());
        let r = match AuthorizeRequest::parse(
            &params,
            ep.clients.as_ref(),
            &self.settings.customer_grant,
        ) {
            Ok(r) => r,
            Err(refusal) => return self.refusal(ep, refusal),
        };
        let Ok(csrf) = random_secret() else {
            return error_page(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        };
        let mut res = self.login_page(ep, &r, StatusCode::OK, None, &csrf, "");
        if let Some(c) = csrf_cookie(&csrf, Self::secure(ep)) {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
        res
    }

    /// Parses a posted form, checking its size and the CSRF token.
    #[allow(clippy::result_large_err)] // the error is the page to answer with
    fn form(
        &self,
        ep: &TokenEndpoint,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Params, Response<Bytes>> {
        if body.len() > self.settings.max_request_bytes {
            return Err(error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is too large",
            ));
        }
        let params = Params::parse(body);
        let cookie = csrf_from_cookies(headers, Self::secure(ep));
        if !csrf_ok(cookie.as_deref(), params.get("csrf")) {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "This form has expired or was not sent from this site. Start the login again.",
            ));
        }
        Ok(params)
    }

    /// `POST /oauth/authorize/login`.
    pub(crate) async fn login(
        &self,
        ep: &TokenEndpoint,
        headers: &HeaderMap,
        body: &[u8],
        addr: &[u8; 16],
    ) -> Response<Bytes> {
        let params = match self.form(ep, headers, body) {
            Ok(p) => p,
            Err(res) => return res,
        };
        let r = match AuthorizeRequest::parse(
            &params,
            ep.clients.as_ref(),
            &self.settings.customer_grant,
        ) {
            Ok(r) => r,
            Err(refusal) => return self.refusal(ep, refusal),
        };
        let csrf = params.get("csrf").unwrap_or_default().to_owned();
        let email = params.get("email").unwrap_or("").trim();
        let password = params.get("password").unwrap_or("");
        if email.is_empty()
            || password.is_empty()
            || email.len() > MAX_FIELD
            || password.len() > MAX_FIELD
        {
            return self.login_page(
                ep,
                &r,
                StatusCode::BAD_REQUEST,
                Some("Enter your email and password."),
                &csrf,
                "",
            );
        }
        let s = &self.settings;
        let account = r.client.account.as_str();
        let email_key = email.to_lowercase();
        let pair_rule = ThrottleRule::new(s.max_failures, s.failure_window);
        let addr_rule = ThrottleRule::new(s.max_failures_per_address, s.failure_window);
        let pair_key = throttle_key(&[
            b"authz-login",
            account.as_bytes(),
            email_key.as_bytes(),
            addr,
        ]);
        let addr_key = throttle_key(&[b"authz-login-addr", addr]);
        // One attempt is spent before the password is checked (and given
        // back unless it fails), so concurrent guesses cannot all pass a
        // check made before any of them failed.
        let budgets: [(&[u8], ThrottleRule); 2] = [(&pair_key, pair_rule), (&addr_key, addr_rule)];
        let limited = s.throttle.spend_all(&budgets).await;
        if let Some(after) = limited {
            crate::telemetry::throttled("authorize_login");
            let mut res = self.login_page(
                ep,
                &r,
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many failed attempts. Try again later."),
                &csrf,
                email,
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                http::HeaderValue::from(after.as_secs().max(1)),
            );
            return res;
        }
        let customer = match self
            .directory
            .check_password(account, email, password)
            .await
        {
            Ok(Some(c)) => {
                s.throttle.refund_all(&budgets).await;
                c
            }
            Ok(None) => {
                // The same answer for an unknown email and a wrong password.
                return self.login_page(
                    ep,
                    &r,
                    StatusCode::UNAUTHORIZED,
                    Some("The email or password is wrong."),
                    &csrf,
                    email,
                );
            }
            Err(_) => {
                s.throttle.refund_all(&budgets).await;
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Logins are busy. Try again in a moment.",
                );
            }
        };
        let grant = CodeGrant {
            client_id: r.client.id.clone(),
            redirect_uri: r.redirect_uri.clone(),
            code_challenge: r.challenge.as_ref().map(|c| c.as_str().to_owned()),
            customer_id: customer,
            account: account.to_owned(),
            scope: r.scope.clone(),
            nonce: r.nonce.clone(),
            auth_time: grants_now(),
        };
        let ticket = match self.consents.issue(&grant, s.consent_lifetime).await {
            Ok(t) => t,
            Err(_) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment."),
        };
        let scopes: String = r
            .scope
            .split(' ')
            .map(|sc| format!("<li>{}</li>", esc(sc)))
            .collect();
        let mut fields = hidden("ticket", &ticket);
        fields.push_str(&hidden("csrf", &csrf));
        if let Some(st) = &r.state {
            fields.push_str(&hidden("state", st));
        }
        let body = format!(
            "<p><strong>{client}</strong> asks to:</p><ul>{scopes}</ul>\
             <form method=\"post\" action=\"{CONSENT_PATH}\">{fields}\
             <button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            client = esc(&r.client.id),
        );
        page(StatusCode::OK, "Allow access?", &body)
    }

    /// `POST /oauth/authorize/consent`.
    pub(crate) async fn consent(
        &self,
        ep: &TokenEndpoint,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Bytes> {
        let params = match self.form(ep, headers, body) {
            Ok(p) => p,
            Err(res) => return res,
        };
        let expired = || {
            error_page(
                StatusCode::BAD_REQUEST,
                "This login has expired or was already used. Start again from the app.",
            )
        };
        let Some(ticket) = params.get("ticket").filter(|t| t.len() <= 128) else {
            return expired();
        };
        let grant = match self.consents.redeem(ticket).await {
            Ok(Redeemed::Fresh { grant, .. }) => grant,
            Ok(_) => return expired(),
            Err(_) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment."),
        };
        // The client may have been deactivated or changed since the login.
        let still_ok = ep
            .clients
            .get(&grant.client_id)
            .is_some_and(|c| c.active && c.has_redirect_uri(&grant.redirect_uri));
        if !still_ok {
            return error_page(StatusCode::BAD_REQUEST, "unknown or inactive client");
        }
        let state = params
            .get("state")
            .filter(|s| !s.is_empty() && s.len() <= 1024);
        let issuer = ep.minter.issuer();
        let location = match params.get("decision") {
            Some("allow") => {
                let code = match self.codes.issue(&grant, self.settings.code_lifetime).await {
                    Ok(c) => c,
                    Err(_) => {
                        return error_page(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "Try again in a moment.",
                        );
                    }
                };
                let mut p = vec![("code", code.as_str())];
                if let Some(s) = state {
                    p.push(("state", s));
                }
                redirect_to(&grant.redirect_uri, &p, issuer)
            }
            _ => {
                let mut p = vec![
                    ("error", "access_denied"),
                    ("error_description", "the customer denied the request"),
                ];
                if let Some(s) = state {
                    p.push(("state", s));
                }
                redirect_to(&grant.redirect_uri, &p, issuer)
            }
        };
        see_other(&location)
    }
}
