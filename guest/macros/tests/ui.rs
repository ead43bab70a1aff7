//! The `#[task]` macro's errors: every misuse it reports is a `tests/ui/*.rs` that must fail to
//! compile with exactly the message of its `.stderr`, spanned where the misuse is; and the
//! signatures it takes, `tests/pass/*.rs`, must compile. Built for the host by trybuild
//! (`TRYBUILD=overwrite cargo test -p hecaton-guest-macros` writes the `.stderr` files anew).

#[test]
fn task_macro_errors_and_accepted_signatures() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
