//! Parsing requirement expressions: `"entity:access"`, `any(..)`, `all(..)`,
//! `customer`, with scope strings checked at compile time.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

/// One requirement expression.
pub(crate) enum Req {
    Scope(LitStr),
    All(Vec<Req>),
    Any(Vec<Req>),
    Customer,
}

/// The longest scope accepted (same limit as the runtime parser).
const MAX_SCOPE_LEN: usize = 128;

/// The scope grammar of `tollgate::scope` (default `:` separator): an atom,
/// or `entity:access`, segments of `A-Z a-z 0-9 _ - . /`, a wildcard only as
/// a whole segment. Kept in step with the runtime parser by a test in
/// tollgate (`tests/macro_scope_grammar.rs`).
pub(crate) fn check_scope(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("scope is empty");
    }
    if s.len() > MAX_SCOPE_LEN {
        return Err("scope is longer than 128 bytes");
    }
    let ok_byte =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'*' | b'/');
    if !s.bytes().all(ok_byte) {
        return Err("scope contains a character that is not allowed (use A-Z a-z 0-9 _ - . / : *)");
    }
    match s.rsplit_once(':') {
        None => {
            if s.contains('*') {
                return Err("a wildcard must be a whole segment");
            }
        }
        Some((entity, access)) => {
            if entity.is_empty() || access.is_empty() {
                return Err("scope must be `entity:access` with non-empty segments");
            }
            if entity.contains(':') {
                return Err("scope must be `entity:access` with non-empty segments");
            }
            for seg in [entity, access] {
                if seg.contains('*') && seg != "*" {
                    return Err("a wildcard must be a whole segment");
                }
            }
        }
    }
    Ok(())
}

impl Parse for Req {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            if let Err(msg) = check_scope(&lit.value()) {
                return Err(syn::Error::new(
                    lit.span(),
                    format!("invalid scope {:?}: {msg}", lit.value()),
                ));
            }
            return Ok(Req::Scope(lit));
        }
        let ident: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a scope string, `any(...)`, `all(...)` or `customer`",
            )
        })?;
        match ident.to_string().as_str() {
            "customer" => Ok(Req::Customer),
            name @ ("any" | "all") => {
                let content;
                syn::parenthesized!(content in input);
                let items: Punctuated<Req, Token![,]> = Punctuated::parse_terminated(&content)?;
                if items.is_empty() {
                    return Err(syn::Error::new(
                        ident.span(),
                        format!("`{name}(...)` needs at least one requirement"),
                    ));
                }
                let items = items.into_iter().collect();
                Ok(if name == "any" {
                    Req::Any(items)
                } else {
                    Req::All(items)
                })
            }
            other => Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown requirement `{other}`: expected a scope string, `any(...)`, `all(...)` or `customer`"
                ),
            )),
        }
    }
}

/// Comma-separated requirements that must all hold.
pub(crate) struct ReqList(pub(crate) Vec<Req>);

impl Parse for ReqList {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let items: Punctuated<Req, Token![,]> = Punctuated::parse_terminated(input)?;
        if items.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`require` needs at least one requirement, e.g. #[require(\"orders:write\")]",
            ));
        }
        Ok(ReqList(items.into_iter().collect()))
    }
}

impl Req {
    /// Code building a `tollgate::policy::Requirement` at run time.
    pub(crate) fn to_tokens(&self, krate: &TokenStream) -> TokenStream {
        match self {
            Req::Scope(lit) => quote!(#krate::__private::policy::scope(#lit)),
            Req::Customer => quote!(#krate::__private::policy::customer()),
            Req::All(items) => {
                let items = items.iter().map(|r| r.to_tokens(krate));
                quote!(#krate::__private::policy::all([#(#items),*]))
            }
            Req::Any(items) => {
                let items = items.iter().map(|r| r.to_tokens(krate));
                quote!(#krate::__private::policy::any([#(#items),*]))
            }
        }
    }
}

pub(crate) fn list_to_tokens(list: &[Req], krate: &TokenStream) -> TokenStream {
    match list {
        [one] => one.to_tokens(krate),
        many => {
            let items = many.iter().map(|r| r.to_tokens(krate));
            quote!(#krate::__private::policy::all([#(#items),*]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_scope;

    #[test]
    fn compile_time_check_matches_the_shared_cases() {
        let mut n = 0;
        for line in include_str!("../../tests/scope_grammar_cases.txt").lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (want, scope) = line.split_once('\t').unwrap();
            assert_eq!(check_scope(scope).is_ok(), want == "ok", "{scope:?}");
            n += 1;
        }
        assert!(n >= 20);
        assert!(check_scope(&"a".repeat(129)).is_err());
    }
}
