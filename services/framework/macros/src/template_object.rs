//! `#[derive(TemplateObject)]`: lets templates read a struct's fields in place.
//!
//! The derive emits a minijinja `Object` impl whose attributes are the struct's fields, each
//! converted only when a template reads it: text, booleans and integers directly, anything
//! else through serde. Templates see what they would see
//! after serde (a map with the same keys, in declaration order, and the same field values),
//! without the up-front copy of every field into a map: a year archive reads two of an
//! employee's four fields, and its date is never formatted at all.
//!
//! To stay equal to the serde map, the derive reads the struct's `#[serde(...)]` attributes:
//! `rename = "..."` and `skip`/`skip_serializing` are followed, the attributes that only
//! affect deserialization are ignored, and any other one (`flatten`, `serialize_with`,
//! `rename_all`, ...) is a compile error rather than a silent difference.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{DeriveInput, LitStr};

/// Container-level serde attributes that do not change what serialization of a struct with
/// named fields produces, so the object can ignore them.
const IGNORED_CONTAINER: &[&str] = &[
    "bound",
    "crate",
    "default",
    "deny_unknown_fields",
    "expecting",
    "from",
    "rename",
    "try_from",
];

/// Field-level serde attributes that only affect deserialization.
const IGNORED_FIELD: &[&str] = &["alias", "borrow", "bound", "default", "deserialize_with"];

/// One field as templates see it.
struct Exposed {
    ident: syn::Ident,
    name: String,
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let struct_fields = crate::named_fields(input, "TemplateObject")?;
    let krate = crate_path(input)?;
    check_container_serde(input)?;
    let mut fields = Vec::new();
    for field in &struct_fields.named {
        if let Some(exposed) = exposed(field)? {
            fields.push(exposed);
        }
    }
    let ident = &input.ident;
    let idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    // minijinja keeps a serialized struct's fields in declaration order, and so do the keys.
    let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
    let count = names.len();
    let private = quote!(#krate::__private);
    Ok(quote! {
        #[automatically_derived]
        impl #private::Object for #ident {
            fn repr(self: &#private::Arc<Self>) -> #private::ObjectRepr {
                #private::ObjectRepr::Map
            }

            fn get_value(self: &#private::Arc<Self>, key: &#krate::Value) -> ::core::option::Option<#krate::Value> {
                <Self as #private::Object>::get_value_by_str(self, key.as_str()?)
            }

            fn get_value_by_str(self: &#private::Arc<Self>, key: &str) -> ::core::option::Option<#krate::Value> {
                use #private::{ViaDirect as _, ViaSerde as _};
                match key {
                    #( #names => ::core::option::Option::Some((&#private::Field(&self.#idents)).to_value()), )*
                    _ => ::core::option::Option::None,
                }
            }

            fn enumerate(self: &#private::Arc<Self>) -> #private::Enumerator {
                static KEYS: [&str; #count] = [ #( #names ),* ];
                #private::Enumerator::Str(&KEYS)
            }

            fn enumerator_len(self: &#private::Arc<Self>) -> ::core::option::Option<usize> {
                ::core::option::Option::Some(#count)
            }
        }
    })
}

fn crate_path(input: &DeriveInput) -> syn::Result<syn::Path> {
    let mut krate = syn::parse_quote!(::herd_templates);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("template")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = meta.value()?.parse::<LitStr>()?.parse()?;
                Ok(())
            } else {
                Err(meta.error("unknown template option; expected crate"))
            }
        })?;
    }
    Ok(krate)
}

/// Refuses container-level serde attributes that change the serialized map.
fn check_container_serde(input: &DeriveInput) -> syn::Result<()> {
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if IGNORED_CONTAINER.iter().any(|name| meta.path.is_ident(name)) {
                skip_meta_value(&meta)
            } else {
                Err(meta.error(
                    "TemplateObject cannot mirror this #[serde] attribute; pass the value through serde instead",
                ))
            }
        })?;
    }
    Ok(())
}

/// The field's name in the serialized map, or `None` when serde skips it.
fn exposed(field: &syn::Field) -> syn::Result<Option<Exposed>> {
    let Some(ident) = field.ident.clone() else {
        return Err(syn::Error::new_spanned(
            field,
            "TemplateObject needs named fields",
        ));
    };
    // Raw identifiers (`r#type`) serialize without the prefix.
    let mut name = ident.to_string().trim_start_matches("r#").to_owned();
    let mut skipped = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                // `rename(serialize = "..")` is refused: the plain form is enough here.
                name = meta.value()?.parse::<LitStr>()?.value();
                Ok(())
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                skipped = true;
                Ok(())
            } else if meta.path.is_ident("skip_deserializing")
                || IGNORED_FIELD.iter().any(|name| meta.path.is_ident(name))
            {
                skip_meta_value(&meta)
            } else {
                Err(meta.error(
                    "TemplateObject cannot mirror this #[serde] attribute; pass the value through serde instead",
                ))
            }
        })?;
    }
    Ok((!skipped).then_some(Exposed { ident, name }))
}

/// Consumes `= value` or `(...)` after an ignored attribute, whichever follows it.
fn skip_meta_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_meta_value(&inner))?;
    }
    Ok(())
}
