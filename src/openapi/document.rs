//! Writing a route table into a document: each route's operation (created
//! with its path parameters if absent), its `security` and responses, and
//! the schemes in the components.

use super::alternatives::alternatives;
use super::{OpenApiError, SecuritySchemes};
use crate::policy::Requirement;
use http::Method;
use std::collections::BTreeSet;
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterIn, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Components, OpenApi, Required};

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
