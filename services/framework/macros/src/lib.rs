//! Herd's derive macros: `#[derive(Model)]` maps a struct to a table for `herd-db`,
//! `#[derive(Form)]` describes a form to `herd-forms`, and `#[derive(TemplateObject)]` lets
//! `herd-templates` read a struct's fields in place.
//!
//! The derive only describes the model (columns, types, keys); all behaviour lives in
//! `herd_db::Model`'s provided methods, so the generated code stays small and readable.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, LitInt, LitStr, PathArguments, Type,
    parse_macro_input,
};

mod form;
mod template_object;

/// Derives `herd_db::Model` for a struct with named fields.
///
/// Struct attributes: `#[model(app = "directory", table = "...", ordering = "name, -id")]`
/// (`table` defaults to `<app>_<struct name in lower case>`; `crate = "herd::db"` names the
/// path of `herd_db` when it is reached through the facade).
///
/// Field attributes: `#[model(primary_key)]`, `max_length = N`, `index`, `unique`,
/// `db_column = "..."`. A field named `id` of type `i64` is the auto-increment primary key
/// unless another field is marked `primary_key`. `ForeignKey<M>` fields are stored in
/// `<field>_id`.
///
/// Besides the trait, the derive adds one associated function per field returning a typed
/// `Column` for lookups: `Employee::name().icontains("ann")`.
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Derives `herd_forms::Form` for a struct with named fields (see `herd_forms` for the options).
#[proc_macro_derive(Form, attributes(form))]
pub fn derive_form(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match form::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Derives minijinja's `Object` for a struct with named fields (and `Debug`), so that a
/// template reads its fields in place instead of from a serde copy of the whole struct.
///
/// Templates see exactly what serde would give them: a map with one key per serialized field
/// (`#[serde(rename = "...")]` and `#[serde(skip)]` are followed), iterated in declaration order,
/// each value converted through serde when it is read. `#[template(crate = "herd::templates")]`
/// names the path of `herd_templates` when it is reached through the facade.
#[proc_macro_derive(TemplateObject, attributes(template))]
pub fn derive_template_object(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match template_object::expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// The struct-level `#[model(...)]` options.
struct ModelAttrs {
    app: Option<String>,
    table: Option<String>,
    ordering: Vec<String>,
    krate: syn::Path,
}

/// One field with its `#[model(...)]` options.
struct FieldInfo {
    ident: syn::Ident,
    ty: Type,
    primary_key: bool,
    max_length: Option<u32>,
    index: bool,
    unique: bool,
    db_column: Option<String>,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let named = named_fields(input, "Model")?;
    let attrs = model_attrs(input)?;
    let Some(app) = attrs.app.clone() else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "Model needs an app label: #[model(app = \"...\")]",
        ));
    };
    let fields = named
        .named
        .iter()
        .map(field_info)
        .collect::<syn::Result<Vec<_>>>()?;
    let pk_index = primary_key_index(&input.ident, &fields)?;

    let krate = &attrs.krate;
    let ident = &input.ident;
    let object_name = ident.to_string();
    let model_name = object_name.to_lowercase();
    let table = attrs
        .table
        .clone()
        .unwrap_or_else(|| format!("{app}_{model_name}"));
    let ordering = &attrs.ordering;
    let (field_metas, pk_is_set) = field_metas(krate, &fields, pk_index);
    let idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    let types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let indexes: Vec<_> = (0..fields.len()).collect();
    let pk_ident = &fields[pk_index].ident;
    let pk_ty = &fields[pk_index].ty;
    let checks = max_length_checks(krate, &fields);
    let vis = &input.vis;
    let accessors = fields.iter().enumerate().map(|(i, field)| {
        let name = &field.ident;
        let ty = &field.ty;
        let doc = format!("The `{name}` column, for lookups in `filter`, `exclude` and `update`.");
        quote! {
            #[doc = #doc]
            #vis fn #name() -> #krate::Column<Self, #ty> {
                #krate::Column::new(&<Self as #krate::Model>::meta().fields[#i])
            }
        }
    });
    Ok(quote! {
        #( #checks )*

        #[automatically_derived]
        #[allow(clippy::all, clippy::pedantic)]
        impl #krate::Model for #ident {
            fn meta() -> &'static #krate::ModelMeta {
                static META: #krate::ModelMeta = #krate::ModelMeta {
                    app: #app,
                    object_name: #object_name,
                    name: #model_name,
                    table: #table,
                    fields: &[ #( #field_metas ),* ],
                    ordering: &[ #( #ordering ),* ],
                    pk: #pk_index,
                };
                &META
            }

            fn from_row_at(row: &#krate::Row, offset: usize) -> #krate::Result<Self> {
                ::core::result::Result::Ok(Self {
                    #( #idents: <#types as #krate::FieldType>::from_sql(row, offset + #indexes)?, )*
                })
            }

            fn to_values(&self) -> ::std::vec::Vec<#krate::Value> {
                ::std::vec![ #( <#types as #krate::FieldType>::to_value(&self.#idents) ),* ]
            }

            fn pk(&self) -> #krate::Value {
                <#pk_ty as #krate::FieldType>::to_value(&self.#pk_ident)
            }

            fn pk_is_set(&self) -> bool {
                #pk_is_set
            }

            fn set_pk_from_row(&mut self, row: &#krate::Row, idx: usize) -> #krate::Result<()> {
                self.#pk_ident = <#pk_ty as #krate::FieldType>::from_sql(row, idx)?;
                ::core::result::Result::Ok(())
            }

            fn attach_related(&mut self, field: usize, row: &#krate::Row, offset: usize) -> #krate::Result<()> {
                match field {
                    #( #indexes => <#types as #krate::FieldType>::attach_related(&mut self.#idents, row, offset), )*
                    _ => ::core::result::Result::Ok(()),
                }
            }
        }

        #[automatically_derived]
        #[allow(clippy::all, clippy::pedantic)]
        impl #ident {
            #( #accessors )*
        }
    })
}

/// The `FieldMeta` of each field, and the expression telling whether the primary key is set.
fn field_metas(
    krate: &syn::Path,
    fields: &[FieldInfo],
    pk_index: usize,
) -> (Vec<TokenStream2>, TokenStream2) {
    let mut pk_is_set = quote!(true);
    let mut field_metas = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let ty = &field.ty;
        let name = field.ident.to_string();
        let column = field.db_column.clone().unwrap_or_else(|| {
            if is_foreign_key(ty) {
                format!("{name}_id")
            } else {
                name.clone()
            }
        });
        let is_pk = i == pk_index;
        let auto = is_pk && is_i64(ty);
        if auto {
            let pk = &field.ident;
            pk_is_set = quote!(self.#pk != 0);
        }
        let sql_type = if auto {
            quote!(#krate::schema::SqlType::BigAuto)
        } else if let Some(n) = field.max_length {
            quote!(#krate::schema::SqlType::Varchar(#n))
        } else {
            quote!(<#ty as #krate::FieldType>::SQL_TYPE)
        };
        let unique = field.unique;
        let index = field.index;
        field_metas.push(quote! {
            #krate::FieldMeta {
                name: #name,
                column: #column,
                sql_type: #sql_type,
                nullable: <#ty as #krate::FieldType>::NULLABLE,
                primary_key: #is_pk,
                auto: #auto,
                unique: #unique,
                index: #index || <#ty as #krate::FieldType>::RELATED.is_some(),
                related: <#ty as #krate::FieldType>::RELATED,
            }
        });
    }
    (field_metas, pk_is_set)
}

/// A const assertion per `max_length` field, so that one on a non-text field fails to compile.
fn max_length_checks(krate: &syn::Path, fields: &[FieldInfo]) -> Vec<TokenStream2> {
    fields
        .iter()
        .filter(|f| f.max_length.is_some())
        .map(|f| {
            let ty = &f.ty;
            let message = format!("`max_length` on `{}` needs a String field", f.ident);
            quote! {
                const _: () = ::core::assert!(
                    ::core::matches!(<#ty as #krate::FieldType>::SQL_TYPE, #krate::schema::SqlType::Text),
                    #message
                );
            }
        })
        .collect()
}

fn model_attrs(input: &DeriveInput) -> syn::Result<ModelAttrs> {
    let mut attrs = ModelAttrs {
        app: None,
        table: None,
        ordering: Vec::new(),
        krate: syn::parse_quote!(::herd_db),
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("model")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("app") {
                attrs.app = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("table") {
                attrs.table = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("ordering") {
                let lit = meta.value()?.parse::<LitStr>()?;
                attrs.ordering = lit
                    .value()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            } else if meta.path.is_ident("crate") {
                attrs.krate = meta.value()?.parse::<LitStr>()?.parse()?;
            } else {
                return Err(
                    meta.error("unknown model option; expected app, table, ordering or crate")
                );
            }
            Ok(())
        })?;
    }
    Ok(attrs)
}

fn field_info(field: &syn::Field) -> syn::Result<FieldInfo> {
    let Some(ident) = field.ident.clone() else {
        return Err(syn::Error::new_spanned(field, "Model needs named fields"));
    };
    let mut info = FieldInfo {
        ident,
        ty: field.ty.clone(),
        primary_key: false,
        max_length: None,
        index: false,
        unique: false,
        db_column: None,
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("model")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("primary_key") {
                info.primary_key = true;
            } else if meta.path.is_ident("index") {
                info.index = true;
            } else if meta.path.is_ident("unique") {
                info.unique = true;
            } else if meta.path.is_ident("max_length") {
                info.max_length = Some(meta.value()?.parse::<LitInt>()?.base10_parse()?);
            } else if meta.path.is_ident("db_column") {
                info.db_column = Some(meta.value()?.parse::<LitStr>()?.value());
            } else {
                return Err(meta.error(
                    "unknown field option; expected primary_key, max_length, index, unique or db_column",
                ));
            }
            Ok(())
        })?;
    }
    Ok(info)
}

fn primary_key_index(ident: &syn::Ident, fields: &[FieldInfo]) -> syn::Result<usize> {
    let marked: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.primary_key)
        .map(|(i, _)| i)
        .collect();
    match marked.as_slice() {
        [one] => Ok(*one),
        [] => fields.iter().position(|f| f.ident == "id" && is_i64(&f.ty)).ok_or_else(|| {
            syn::Error::new_spanned(
                ident,
                "a Model needs a primary key: add `id: i64` or mark a field #[model(primary_key)]",
            )
        }),
        [_, second, ..] => Err(syn::Error::new(
            fields[*second].ident.span(),
            "a Model has one primary key",
        )),
    }
}

/// The last path segment of a type, with its generic arguments.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn is_i64(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "i64" && s.arguments.is_none())
}

/// `ForeignKey<M>` or `Option<ForeignKey<M>>`, recognised by name: the column becomes `<field>_id`.
fn is_foreign_key(ty: &Type) -> bool {
    let Some(segment) = last_segment(ty) else {
        return false;
    };
    if segment.ident == "ForeignKey" {
        return true;
    }
    if segment.ident == "Option"
        && let PathArguments::AngleBracketed(args) = &segment.arguments
        && let Some(GenericArgument::Type(inner)) = args.args.first()
    {
        return is_foreign_key(inner);
    }
    false
}

/// The named fields of the plain (non-generic) struct `derive` is applied to, or the error
/// that says why `derive` does not apply.
pub(crate) fn named_fields<'a>(
    input: &'a DeriveInput,
    derive: &str,
) -> syn::Result<&'a syn::FieldsNamed> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            format!("a {derive} cannot be generic"),
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format!("{derive} can only be derived for a struct"),
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format!("{derive} needs a struct with named fields"),
        ));
    };
    Ok(named)
}
