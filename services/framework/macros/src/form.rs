//! `#[derive(Form)]`: describes a struct's fields to `herd_forms::Form`.
//!
//! Like the Model derive, this only emits data (a static table of `FieldSpec`s) and the
//! conversions between the struct and cleaned values; binding, cleaning and rendering are
//! `herd_forms` code, so the expansion stays small.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{DeriveInput, LitBool, LitInt, LitStr, Type};

/// One field with its `#[form(...)]` options.
struct FieldInfo {
    ident: syn::Ident,
    ty: Type,
    label: Option<String>,
    required: Option<bool>,
    max_length: Option<usize>,
    min_length: Option<usize>,
    min_value: Option<i64>,
    max_value: Option<i64>,
    email: bool,
    password: bool,
    choices: Option<Vec<(String, String)>>,
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields_named = crate::named_fields(input, "Form")?;
    let StructOptions { krate, model } = struct_options(input)?;
    let fields = fields_named
        .named
        .iter()
        .map(field_info)
        .collect::<syn::Result<Vec<_>>>()?;
    let ident = &input.ident;
    let count = fields.len();
    let specs = fields.iter().map(|f| field_spec(&krate, f));
    let checks = fields.iter().filter_map(|f| optional_check(&krate, f));
    let idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    let names: Vec<_> = fields.iter().map(|f| f.ident.to_string()).collect();
    let types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let model_form = model.map(|model| {
        quote! {
            impl #krate::ModelForm for #ident {
                type Model = #model;

                fn from_instance(instance: &#model) -> Self {
                    Self {
                        #( #idents: ::core::clone::Clone::clone(&instance.#idents), )*
                    }
                }

                fn apply_to(&self, instance: &mut #model) {
                    #( instance.#idents = ::core::clone::Clone::clone(&self.#idents); )*
                }
            }
        }
    });
    Ok(quote! {
        #model_form

        #( #checks )*

        impl #krate::Form for #ident {
            fn fields() -> &'static [#krate::FieldSpec] {
                static FIELDS: [#krate::FieldSpec; #count] = [ #( #specs ),* ];
                &FIELDS
            }

            fn from_cleaned(data: &#krate::CleanedData) -> ::core::option::Option<Self> {
                ::core::option::Option::Some(Self {
                    #( #idents: <#types as #krate::FormField>::from_value(data.get(#names)?)?, )*
                })
            }

            fn to_initial(&self) -> ::std::vec::Vec<(&'static str, ::std::string::String)> {
                let mut initial = ::std::vec::Vec::new();
                #(
                    if let ::core::option::Option::Some(raw) =
                        <#types as #krate::FormField>::to_raw(&self.#idents)
                    {
                        initial.push((#names, raw));
                    }
                )*
                initial
            }
        }
    })
}

fn field_spec(krate: &syn::Path, field: &FieldInfo) -> TokenStream2 {
    let ty = &field.ty;
    let name = field.ident.to_string();
    let label = field.label.clone().unwrap_or_else(|| pretty_name(&name));
    let kind = if field.email {
        quote!(#krate::FieldKind::Email)
    } else if field.password {
        quote!(#krate::FieldKind::Password)
    } else if let Some(choices) = &field.choices {
        let pairs = choices.iter().map(|(k, v)| quote!((#k, #v)));
        quote!(#krate::FieldKind::Choice(&[ #( #pairs ),* ]))
    } else {
        quote!(<#ty as #krate::FormField>::KIND)
    };
    let required = field.required.map_or_else(
        || quote!(<#ty as #krate::FormField>::REQUIRED),
        |required| quote!(#required),
    );
    let max_length = option_tokens(field.max_length);
    let min_length = option_tokens(field.min_length);
    let min_value = option_tokens(field.min_value);
    let max_value = option_tokens(field.max_value);
    quote! {
        #krate::FieldSpec {
            name: #name,
            label: #label,
            kind: #kind,
            required: #required,
            max_length: #max_length,
            min_length: #min_length,
            min_value: #min_value,
            max_value: #max_value,
        }
    }
}

/// `required = false` on a type that cannot hold "nothing" (an `i64`) fails to compile.
fn optional_check(krate: &syn::Path, field: &FieldInfo) -> Option<TokenStream2> {
    if field.required != Some(false) {
        return None;
    }
    let ty = &field.ty;
    let message = format!(
        "`required = false` on `{}` needs a String, a bool or an Option<T>",
        field.ident
    );
    Some(quote! {
        const _: () = ::core::assert!(<#ty as #krate::FormField>::ALLOWS_EMPTY, #message);
    })
}

fn option_tokens<T: quote::ToTokens>(value: Option<T>) -> TokenStream2 {
    value.map_or_else(
        || quote!(::core::option::Option::None),
        |v| quote!(::core::option::Option::Some(#v)),
    )
}

/// Django's `pretty_name`: `hire_date` becomes `Hire date`.
fn pretty_name(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The struct's `#[form(...)]` options.
struct StructOptions {
    /// The path of `herd_forms` (`crate = "herd::forms"`).
    krate: syn::Path,
    /// The model of a model form (`model = "Employee"`).
    model: Option<syn::Path>,
}

fn struct_options(input: &DeriveInput) -> syn::Result<StructOptions> {
    let mut options = StructOptions {
        krate: syn::parse_quote!(::herd_forms),
        model: None,
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("form")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                options.krate = meta.value()?.parse::<LitStr>()?.parse()?;
            } else if meta.path.is_ident("model") {
                options.model = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            } else {
                return Err(meta.error("unknown form option; expected crate or model"));
            }
            Ok(())
        })?;
    }
    Ok(options)
}

fn field_info(field: &syn::Field) -> syn::Result<FieldInfo> {
    let Some(ident) = field.ident.clone() else {
        return Err(syn::Error::new_spanned(field, "Form needs named fields"));
    };
    let mut info = FieldInfo {
        ident,
        ty: field.ty.clone(),
        label: None,
        required: None,
        max_length: None,
        min_length: None,
        min_value: None,
        max_value: None,
        email: false,
        password: false,
        choices: None,
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("form")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("email") {
                info.email = true;
            } else if meta.path.is_ident("password") {
                info.password = true;
            } else if meta.path.is_ident("required") {
                info.required = Some(meta.value()?.parse::<LitBool>()?.value);
            } else if meta.path.is_ident("label") {
                info.label = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("max_length") {
                info.max_length = Some(meta.value()?.parse::<LitInt>()?.base10_parse()?);
            } else if meta.path.is_ident("min_length") {
                info.min_length = Some(meta.value()?.parse::<LitInt>()?.base10_parse()?);
            } else if meta.path.is_ident("min_value") {
                info.min_value = Some(parse_signed(&meta)?);
            } else if meta.path.is_ident("max_value") {
                info.max_value = Some(parse_signed(&meta)?);
            } else if meta.path.is_ident("choices") {
                let lit = meta.value()?.parse::<LitStr>()?;
                info.choices = Some(parse_choices(&lit)?);
            } else {
                return Err(meta.error(
                    "unknown field option; expected required, label, max_length, min_length, \
                     min_value, max_value, email, password or choices",
                ));
            }
            Ok(())
        })?;
    }
    if [info.email, info.password, info.choices.is_some()]
        .iter()
        .filter(|&&set| set)
        .count()
        > 1
    {
        return Err(syn::Error::new_spanned(
            &info.ident,
            "a field is at most one of `email`, `password` and `choices`",
        ));
    }
    Ok(info)
}

/// An integer literal, optionally negative (`min_value = -5`).
fn parse_signed(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<i64> {
    let value = meta.value()?;
    let negative = value.peek(syn::Token![-]);
    if negative {
        value.parse::<syn::Token![-]>()?;
    }
    let n: i64 = value.parse::<LitInt>()?.base10_parse()?;
    Ok(if negative { -n } else { n })
}

/// `"a:Apple,b:Banana"`; a pair without `:` uses the value as its label.
fn parse_choices(lit: &LitStr) -> syn::Result<Vec<(String, String)>> {
    let choices: Vec<(String, String)> = lit
        .value()
        .split(',')
        .map(|pair| match pair.split_once(':') {
            Some((value, label)) => (value.trim().to_owned(), label.trim().to_owned()),
            None => (pair.trim().to_owned(), pair.trim().to_owned()),
        })
        .collect();
    if choices.iter().all(|(value, _)| value.is_empty()) {
        return Err(syn::Error::new_spanned(
            lit,
            "choices need at least one value",
        ));
    }
    Ok(choices)
}
