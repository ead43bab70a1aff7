//! `#[task]`: export a Rust function as a hecaton function task (see `hecaton-guest`).

#![deny(missing_docs)]

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, Item, ItemFn, ReturnType, Type, parse_macro_input};

/// Exports the function as function task `NAME` (the export `hecaton:v1:NAME`): its arguments are
/// decoded from the JSON input, its return value encoded as the JSON output, an `Err` of a
/// `Result` return is a guest error.
///
/// # Compile errors
/// What cannot be a task is a compile error spanned on the misuse, never a panic: arguments to
/// the attribute, an item that is not a `fn`, a method (`self`), an `async`, generic or variadic
/// function, an argument taken by reference. `tests/ui` holds one case of each, with its message.
#[proc_macro_attribute]
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new_spanned(
            attr,
            "`#[task]` takes no arguments; the export is named after the function",
        )
        .to_compile_error()
        .into();
    }
    let function = match parse_macro_input!(item as Item) {
        Item::Fn(function) => function,
        other => {
            return syn::Error::new_spanned(
                other,
                "`#[task]` exports a function: put it on a `fn`",
            )
            .to_compile_error()
            .into();
        }
    };
    match expand(&function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(function: &ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    check_signature(function)?;
    let name = &function.sig.ident;
    let export_name = format!("{}{name}", hecaton_abi::TASK_EXPORT_PREFIX);
    let wrapper = format_ident!("__hecaton_task_{name}");
    let mut types = Vec::new();
    for input in &function.sig.inputs {
        match input {
            FnArg::Typed(arg) => {
                if let Type::Reference(reference) = &*arg.ty {
                    return Err(syn::Error::new_spanned(
                        reference,
                        "a task argument is decoded from JSON and owned by the task: take `String` or `Vec<T>` instead of a reference",
                    ));
                }
                types.push(&*arg.ty);
            }
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new_spanned(
                    receiver,
                    "a task is a free function, not a method",
                ));
            }
        }
    }
    let args: Vec<_> = (0..types.len())
        .map(|i| format_ident!("__arg{i}"))
        .collect();
    let (pattern, input_type) = match types.as_slice() {
        [single] => (quote!(#(#args)*), quote!(#single)),
        _ => (quote!((#(#args,)*)), quote!((#(#types,)*))),
    };
    let signature = signature_text(function);
    let record = format!("{name}\t{}\n", source_signature(function));
    let record_len = record.len();
    let record = proc_macro2::Literal::byte_string(record.as_bytes());
    let record_static = format_ident!("__HECATON_SIGNATURE_{name}");
    let section = hecaton_abi::SIGNATURES_SECTION;
    let runner = if returns_result(&function.sig.output) {
        quote!(run_fallible)
    } else {
        quote!(run)
    };
    Ok(quote! {
        #function

        // The task's source signature, for `hecaton inspect` (ABI.md, "Signatures").
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #[cfg(target_family = "wasm")]
        #[used]
        #[unsafe(link_section = #section)]
        static #record_static: [u8; #record_len] = *#record;

        #[doc(hidden)]
        #[unsafe(export_name = #export_name)]
        /// The task's export, called by the host only, with the input it wrote at `ptr`.
        ///
        /// # Safety
        /// `ptr` and `len` must be as the host passes them (guest/abi/ABI.md): `len` bytes at
        /// `ptr`, allocated through `hecaton_alloc` and written before the call.
        pub unsafe extern "C" fn #wrapper(ptr: *const u8, len: usize) -> *const u32 {
            // SAFETY: this function's contract is `run`'s, and the host keeps it.
            unsafe {
                ::hecaton_guest::__private::#runner(ptr, len, #signature, |#pattern: #input_type| #name(#(#args),*))
            }
        }
    })
}

fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "a task cannot be `async`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a task cannot be generic: its input type must be known",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "a task cannot be variadic",
        ));
    }
    Ok(())
}

/// Whether the return type is spelled `Result<…>` (any path ending in `Result`).
fn returns_result(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::Path(path) = &**ty else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "Result")
}

/// `square(x: i64) -> i64`: the function's name, parameters and return type as written.
fn source_signature(function: &ItemFn) -> String {
    let sig = &function.sig;
    let inputs = &sig.inputs;
    let tidy = |text: String| {
        text.replace(" :", ":")
            .replace(" ,", ",")
            .replace(" <", "<")
            .replace("< ", "<")
            .replace(" >", ">")
            .replace("& ", "&")
    };
    let args = tidy(quote!(#inputs).to_string());
    let output = match &sig.output {
        ReturnType::Default => String::new(),
        ReturnType::Type(_, ty) => format!(" -> {}", tidy(quote!(#ty).to_string())),
    };
    format!("{}({args}){output}", sig.ident)
}

/// `` `square(x: i64)` ``, for the guest's message when an input does not fit; a task of several
/// arguments says how many it expects and how to give them.
fn signature_text(function: &ItemFn) -> String {
    let inputs = &function.sig.inputs;
    let args = quote!(#inputs)
        .to_string()
        .replace(" :", ":")
        .replace(" ,", ",");
    let signature = format!("`{}({args})`", function.sig.ident);
    let names: Vec<String> = inputs
        .iter()
        .map(|arg| match arg {
            FnArg::Typed(arg) => {
                let pat = &arg.pat;
                quote!(#pat).to_string()
            }
            FnArg::Receiver(_) => "self".to_owned(),
        })
        .collect();
    if names.len() < 2 {
        return signature;
    }
    format!(
        "{signature}, which expects {} arguments as one JSON array `[{}]`",
        names.len(),
        names.join(", ")
    )
}
