//! Expansion of `#[require]` and `scopes!`.

use crate::requirement::{Req, ReqList, list_to_tokens};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, ItemFn, Token, Visibility};

fn krate() -> TokenStream {
    quote!(::tollgate)
}

/// Emits the original item plus the error, so IDEs keep working.
fn with_error(item: TokenStream, err: syn::Error) -> TokenStream {
    let err = err.into_compile_error();
    quote!(#item #err)
}

/// A hidden zero-sized type implementing `ScopeRequirement`.
fn requirement_type(vis: &Visibility, name: &Ident, body: TokenStream, doc: &str) -> TokenStream {
    let krate = krate();
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #name;

        impl #krate::__private::ScopeRequirement for #name {
            fn requirement() -> &'static #krate::__private::policy::Requirement {
                static REQUIREMENT: ::std::sync::OnceLock<#krate::__private::policy::Requirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| #body)
            }
        }
    }
}

pub(crate) fn require(args: TokenStream, item: TokenStream) -> TokenStream {
    let list: ReqList = match syn::parse2(args) {
        Ok(l) => l,
        Err(e) => return with_error(item, e),
    };
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_error(item, e),
    };
    if func.sig.asyncness.is_none() {
        let err = syn::Error::new_spanned(
            func.sig.fn_token,
            "`#[tollgate::require]` goes on an `async fn` handler",
        );
        return with_error(item, err);
    }
    let krate = krate();
    let ty = format_ident!("__TollgateRequire_{}", func.sig.ident);
    let body = list_to_tokens(&list.0, &krate);
    let doc = format!("Requirement of handler `{}`.", func.sig.ident);
    let def = requirement_type(&Visibility::Inherited, &ty, body, &doc);
    // A leading extractor: it runs before any body extractor (axum) and
    // rejects with 401/403 before the handler body.
    let arg: syn::FnArg = syn::parse_quote!(_: #krate::Require<#ty>);
    func.sig.inputs.insert(0, arg);
    quote! {
        #[allow(non_camel_case_types)]
        #def
        #func
    }
}

/// `[vis] Name = requirement;`
struct ScopeDecl {
    vis: Visibility,
    name: Ident,
    req: ReqList,
}

impl Parse for ScopeDecl {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let mut items = Vec::new();
        loop {
            items.push(input.parse::<Req>()?);
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
                continue;
            }
            break;
        }
        input.parse::<Token![;]>()?;
        Ok(Self {
            vis,
            name,
            req: ReqList(items),
        })
    }
}

struct ScopeDecls(Vec<ScopeDecl>);

impl Parse for ScopeDecls {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut out = Vec::new();
        while !input.is_empty() {
            out.push(input.parse()?);
        }
        Ok(Self(out))
    }
}

pub(crate) fn scopes(input: TokenStream) -> TokenStream {
    let decls: ScopeDecls = match syn::parse2(input) {
        Ok(d) => d,
        Err(e) => return e.into_compile_error(),
    };
    let krate = krate();
    let items = decls.0.iter().map(|d| {
        let body = list_to_tokens(&d.req.0, &krate);
        let doc = format!("A scope requirement, for `tollgate::Require<{}>`.", d.name);
        requirement_type(&d.vis, &d.name, body, &doc)
    });
    quote!(#(#items)*)
}
