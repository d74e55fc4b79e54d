//! [`RequestParts`]: how the engine reads a request, implemented for the
//! `http` types (adapters implement it for their frameworks' requests).

/// Read access to the parts of a request the engine needs.
///
/// Implemented for [`http::HeaderMap`], [`http::request::Parts`] and
/// [`http::Request`]; adapters for other frameworks implement it for their
/// own request types.
pub trait RequestParts {
    /// Calls `visit` with the raw bytes of every value of header `name`
    /// (given in lowercase), in order.
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8]));

    /// [`visit_header`](Self::visit_header) with a name parsed once, ahead
    /// of time (the configured customer-token, session and attribution
    /// headers). `http` requests look it up without parsing it again (a
    /// `&str` name is parsed and validated by `http` on every lookup: ~250
    /// instructions for `x-customer-token`); the default passes its text to
    /// `visit_header`.
    fn visit_header_name<'a>(&'a self, name: &http::HeaderName, visit: &mut dyn FnMut(&'a [u8])) {
        self.visit_header(name.as_str(), visit);
    }

    /// The request method (`GET`, `OPTIONS`, …).
    fn method(&self) -> &str {
        "GET"
    }

    /// The raw query string, without `?`.
    fn query(&self) -> Option<&str> {
        None
    }

    /// The request path as received (percent-encoded, without the query);
    /// needed to check DPoP proofs (`htu`). `None` when unknown.
    fn path(&self) -> Option<&str> {
        None
    }

    /// The authority of the request URI (HTTP/2 `:authority`, or an
    /// absolute-form target), used for DPoP's `htu` when there is no `Host`
    /// header.
    fn authority(&self) -> Option<&str> {
        None
    }

    /// The client certificate of the request's TLS connection, when the app
    /// terminates TLS itself (see [`crate::mtls`]); needed for
    /// certificate-bound tokens. `http` requests read a
    /// [`ClientCertificate`](crate::mtls::ClientCertificate) from their
    /// extensions; actix-web requests from their connection data (set it with
    /// `HttpServer::on_connect`).
    fn client_certificate(&self) -> Option<&crate::mtls::ClientCertificate> {
        None
    }
}

impl RequestParts for http::HeaderMap {
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
        // The headers read on every request by their constants: a `&str`
        // name is parsed and validated by `http` on each lookup.
        let values = match name {
            "authorization" => self.get_all(http::header::AUTHORIZATION),
            "cookie" => self.get_all(http::header::COOKIE),
            _ => self.get_all(name),
        };
        for v in values {
            visit(v.as_bytes());
        }
    }
    fn visit_header_name<'a>(&'a self, name: &http::HeaderName, visit: &mut dyn FnMut(&'a [u8])) {
        for v in self.get_all(name) {
            visit(v.as_bytes());
        }
    }
}

impl RequestParts for http::request::Parts {
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
        self.headers.visit_header(name, visit);
    }
    fn visit_header_name<'a>(&'a self, name: &http::HeaderName, visit: &mut dyn FnMut(&'a [u8])) {
        self.headers.visit_header_name(name, visit);
    }
    fn method(&self) -> &str {
        self.method.as_str()
    }
    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
    fn path(&self) -> Option<&str> {
        Some(self.uri.path())
    }
    fn authority(&self) -> Option<&str> {
        self.uri.authority().map(|a| a.as_str())
    }
    fn client_certificate(&self) -> Option<&crate::mtls::ClientCertificate> {
        self.extensions.get()
    }
}

impl<B> RequestParts for http::Request<B> {
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
        self.headers().visit_header(name, visit);
    }
    fn visit_header_name<'a>(&'a self, name: &http::HeaderName, visit: &mut dyn FnMut(&'a [u8])) {
        self.headers().visit_header_name(name, visit);
    }
    fn method(&self) -> &str {
        self.method().as_str()
    }
    fn query(&self) -> Option<&str> {
        self.uri().query()
    }
    fn path(&self) -> Option<&str> {
        Some(self.uri().path())
    }
    fn authority(&self) -> Option<&str> {
        self.uri().authority().map(|a| a.as_str())
    }
    fn client_certificate(&self) -> Option<&crate::mtls::ClientCertificate> {
        self.extensions().get()
    }
}

/// Any [`RequestParts`] as a sized value, so that a generic request can be
/// handed to a [`CustomSource`](super::CustomSource) as `&dyn RequestParts`.
pub(crate) struct AsDyn<'r, R: ?Sized>(pub(crate) &'r R);

impl<R: RequestParts + ?Sized> RequestParts for AsDyn<'_, R> {
    fn visit_header<'a>(&'a self, name: &str, visit: &mut dyn FnMut(&'a [u8])) {
        self.0.visit_header(name, visit);
    }
    fn visit_header_name<'a>(&'a self, name: &http::HeaderName, visit: &mut dyn FnMut(&'a [u8])) {
        self.0.visit_header_name(name, visit);
    }
    fn method(&self) -> &str {
        self.0.method()
    }
    fn query(&self) -> Option<&str> {
        self.0.query()
    }
    fn path(&self) -> Option<&str> {
        self.0.path()
    }
    fn authority(&self) -> Option<&str> {
        self.0.authority()
    }
}
