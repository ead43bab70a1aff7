//! The WebAssembly proposals beyond wasm 1.0: the one table of what hecaton's engine runs, what
//! it enables but refuses at load, and what it leaves off, each with its reason; which of them a
//! module uses (`hecaton inspect`); and the refusal that names the proposal a module needs when
//! the engine does not run it.
//!
//! [`PROPOSALS`] is the list [`engine`](crate::engine)'s `config` applies to wasmtime: every
//! proposal wasmtime 48 enables by default is on (an upgrade of wasmtime changes nothing
//! unseen, because each is set explicitly), and those it implements but leaves off stay off.
//!
//! Which proposals a module uses is what validation says: a proposal is used when the module
//! fails to validate with that proposal (and those that build on it) turned off, everything else
//! on. That is exact by construction (it is the validator's own judgement) and costs one
//! validation per proposal, done on as many threads as there are cores: milliseconds for a small
//! module, about a second for a 60 MB one. It runs for `inspect` and when a compilation fails,
//! never on the path of a module that loads.

use wasmparser::{Validator, WasmFeatures};

/// A WebAssembly proposal, and what hecaton does with it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Proposal {
    /// The proposal's name, as its repository under github.com/WebAssembly spells it.
    pub(crate) name: &'static str,
    /// wasmparser's (and wasmtime's) feature flag for it.
    flag: WasmFeatures,
    /// Whether the engine enables it, and why.
    pub(crate) stance: Stance,
}

/// What hecaton does with a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stance {
    /// Enabled in the engine: modules that use it run. The reason: who emits it.
    Runs(&'static str),
    /// Enabled in the engine (it is one of wasmtime's defaults), but a module that uses it is
    /// refused when it is loaded ([`crate::layout`] checks); why.
    Refused(&'static str),
    /// Left off in the engine: a module that uses it fails to load, naming it; why.
    Off(&'static str),
}

impl Stance {
    /// Whether the engine enables the proposal.
    pub(crate) fn enabled(self) -> bool {
        !matches!(self, Self::Off(_))
    }

    /// The reason given for the stance.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Runs(reason) | Self::Refused(reason) | Self::Off(reason) => reason,
        }
    }
}

const fn proposal(name: &'static str, flag: WasmFeatures, stance: Stance) -> Proposal {
    Proposal { name, flag, stance }
}

/// Every proposal beyond wasm 1.0 that wasmparser knows for core modules, in the order of the
/// specification's versions (2.0's, then 3.0's, then those still in progress).
pub(crate) const PROPOSALS: [Proposal; 21] = [
    // WebAssembly 2.0: every current toolchain (LLVM 16+, Go 1.21+, Zig, AssemblyScript) emits
    // these by default.
    proposal(
        "sign-extension-ops",
        WasmFeatures::SIGN_EXTENSION,
        Stance::Runs("wasm 2.0; LLVM emits it by default"),
    ),
    proposal(
        "nontrapping-float-to-int-conversions",
        WasmFeatures::SATURATING_FLOAT_TO_INT,
        Stance::Runs("wasm 2.0; LLVM emits it by default"),
    ),
    proposal(
        "multi-value",
        WasmFeatures::MULTI_VALUE,
        Stance::Runs("wasm 2.0; LLVM emits it by default"),
    ),
    proposal(
        "reference-types",
        WasmFeatures::REFERENCE_TYPES,
        Stance::Runs("wasm 2.0; LLVM 19+ emits it by default"),
    ),
    proposal(
        "bulk-memory",
        WasmFeatures::BULK_MEMORY,
        Stance::Runs("wasm 2.0; LLVM 19+ emits it by default (memory.copy, memory.fill)"),
    ),
    proposal(
        "simd",
        WasmFeatures::SIMD,
        Stance::Runs("wasm 2.0; `-msimd128`, Rust's `+simd128`"),
    ),
    // WebAssembly 3.0: on by default in wasmtime 48.
    proposal(
        "exception-handling",
        WasmFeatures::EXCEPTIONS,
        Stance::Runs(
            "wasm 3.0; C++ built with `-fwasm-exceptions` (exnref), e.g. YoWASP's tools; its \
             exception objects live in a GC heap, counted in --max-memory",
        ),
    ),
    proposal(
        "tail-call",
        WasmFeatures::TAIL_CALL,
        Stance::Runs("wasm 3.0; `-mtail-call`, functional-language compilers"),
    ),
    proposal(
        "extended-const",
        WasmFeatures::EXTENDED_CONST,
        Stance::Runs("wasm 3.0; LLVM's `-mextended-const`"),
    ),
    proposal(
        "relaxed-simd",
        WasmFeatures::RELAXED_SIMD,
        Stance::Runs("wasm 3.0; `-mrelaxed-simd`"),
    ),
    proposal(
        "multi-memory",
        WasmFeatures::MULTI_MEMORY,
        Stance::Runs("wasm 3.0; --max-memory caps all of a task's memories together"),
    ),
    proposal(
        "function-references",
        WasmFeatures::FUNCTION_REFERENCES,
        Stance::Runs("wasm 3.0; typed function references, needed by gc"),
    ),
    proposal(
        "gc",
        WasmFeatures::GC,
        Stance::Runs(
            "wasm 3.0; Kotlin/Wasm, dart2wasm, OCaml's wasm_of_ocaml; the GC heap counts in \
             --max-memory",
        ),
    ),
    proposal(
        "threads",
        WasmFeatures::THREADS,
        Stance::Runs(
            "wasm 3.0's atomic instructions run (on a memory of one thread); a shared memory is \
             refused at load",
        ),
    ),
    proposal(
        "memory64",
        WasmFeatures::MEMORY64,
        Stance::Refused(
            "a task module is wasm32 (guest/abi/ABI.md) and WASI preview 1 passes 32-bit \
             pointers",
        ),
    ),
    // Implemented by wasmtime 48 but not on by default there, or not implemented at all.
    proposal(
        "legacy-exception-handling",
        WasmFeatures::LEGACY_EXCEPTIONS,
        Stance::Off(
            "wasmtime 48 does not run try/catch/delegate; rebuild with \
             `-mllvm -wasm-use-legacy-eh=false` (exnref, the standard encoding)",
        ),
    ),
    proposal(
        "custom-page-sizes",
        WasmFeatures::CUSTOM_PAGE_SIZES,
        Stance::Off("not on by default in wasmtime 48 (a phase 3 proposal)"),
    ),
    proposal(
        "wide-arithmetic",
        WasmFeatures::WIDE_ARITHMETIC,
        Stance::Off("not on by default in wasmtime 48 (a phase 3 proposal)"),
    ),
    proposal(
        "stack-switching",
        WasmFeatures::STACK_SWITCHING,
        Stance::Off("not on by default in wasmtime 48 (a phase 3 proposal)"),
    ),
    proposal(
        "shared-everything-threads",
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        Stance::Off("not implemented by wasmtime 48"),
    ),
    proposal(
        "memory-control",
        WasmFeatures::MEMORY_CONTROL,
        Stance::Off("not implemented by wasmtime 48"),
    ),
];

/// Proposals whose instructions or types build on another's: a module using one of them is
/// judged to use the other too, so turning the other off turns these off with it (wasmparser
/// lets gc stand in for function references, for one).
const BUILDS_ON: [(WasmFeatures, WasmFeatures); 4] = [
    (
        WasmFeatures::REFERENCE_TYPES,
        WasmFeatures::FUNCTION_REFERENCES
            .union(WasmFeatures::GC)
            .union(WasmFeatures::STACK_SWITCHING),
    ),
    (
        WasmFeatures::FUNCTION_REFERENCES,
        WasmFeatures::GC.union(WasmFeatures::STACK_SWITCHING),
    ),
    (WasmFeatures::SIMD, WasmFeatures::RELAXED_SIMD),
    (
        WasmFeatures::THREADS,
        WasmFeatures::SHARED_EVERYTHING_THREADS,
    ),
];

/// wasm 1.0 and the pseudo-features every validation here keeps (floats; GC types, which the
/// reference-typed proposals need).
const BASE: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::GC_TYPES);

/// The flags wasmtime is configured with: `(flag, enabled)` for each proposal.
pub(crate) fn engine_flags() -> impl Iterator<Item = (WasmFeatures, bool)> {
    PROPOSALS
        .iter()
        .map(|proposal| (proposal.flag, proposal.stance.enabled()))
}

/// Every proposal on, with the base.
fn all() -> WasmFeatures {
    PROPOSALS
        .iter()
        .fold(BASE, |features, proposal| features | proposal.flag)
}

/// `flag` and every proposal that builds on it.
fn with_dependents(flag: WasmFeatures) -> WasmFeatures {
    BUILDS_ON
        .iter()
        .filter(|(base, _)| *base == flag)
        .fold(flag, |features, (_, dependents)| features | *dependents)
}

fn validates(binary: &[u8], features: WasmFeatures) -> bool {
    Validator::new_with_features(features)
        .validate_all(binary)
        .is_ok()
}

/// The proposals `binary` uses, in [`PROPOSALS`]' order; `None` when it is not a valid module
/// even with every proposal on.
pub(crate) fn used(binary: &[u8]) -> Option<Vec<&'static Proposal>> {
    let all = all();
    if !validates(binary, all) {
        return None;
    }
    // A module valid under wasm 1.0 uses nothing more: one validation instead of one per
    // proposal.
    if validates(binary, BASE) {
        return Some(Vec::new());
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = PROPOSALS.len().div_ceil(threads);
    let used: Vec<bool> = std::thread::scope(|scope| {
        let workers: Vec<_> = PROPOSALS
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|proposal| !validates(binary, all - with_dependents(proposal.flag)))
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        workers
            .into_iter()
            // A validation that panicked counts as a proposal not found.
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    Some(
        PROPOSALS
            .iter()
            .zip(used)
            .filter_map(|(proposal, used)| used.then_some(proposal))
            .collect(),
    )
}

/// For a module that failed to compile: the proposals it uses that the engine leaves off, if
/// that is why (it validates with every proposal on).
pub(crate) fn missing(binary: &[u8]) -> Vec<&'static Proposal> {
    used(binary)
        .unwrap_or_default()
        .into_iter()
        .filter(|proposal| !proposal.stance.enabled())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(wat: &str) -> Vec<&'static str> {
        let binary = wat::parse_str(wat).unwrap();
        used(&binary)
            .unwrap()
            .iter()
            .map(|proposal| proposal.name)
            .collect()
    }

    #[test]
    fn a_wasm_1_module_uses_no_proposal() {
        assert!(names("(module (func (export \"f\") (result i32) i32.const 1))").is_empty());
    }

    #[test]
    fn each_proposal_is_found_by_what_it_adds() {
        let cases = [
            (
                "(module (func (param i32) (result i32) local.get 0 i32.extend8_s))",
                "sign-extension-ops",
            ),
            (
                "(module (memory 1) (func (param i32) local.get 0 i32.const 0 i32.const 1 memory.fill))",
                "bulk-memory",
            ),
            (
                "(module (func (result i32 i32) i32.const 1 i32.const 2))",
                "multi-value",
            ),
            ("(module (func (result v128) v128.const i64x2 0 0))", "simd"),
            ("(module (tag $e) (func throw $e))", "exception-handling"),
            ("(module (func $f return_call $f))", "tail-call"),
            ("(module (memory 1) (memory 1))", "multi-memory"),
            (
                "(module (type $s (struct (field i32))) (func (result (ref null $s)) ref.null $s))",
                "gc",
            ),
            (
                "(module (memory 1) (func (result i32) i32.const 0 i32.atomic.load))",
                "threads",
            ),
            ("(module (memory i64 1))", "memory64"),
            (
                "(module (tag $e) (func try catch $e end))",
                "legacy-exception-handling",
            ),
        ];
        for (wat, expected) in cases {
            let found = names(wat);
            assert!(found.contains(&expected), "{wat}: {found:?}");
        }
    }

    #[test]
    fn only_the_proposals_used_are_named() {
        assert_eq!(
            names("(module (func (result i32 i32) i32.const 1 i32.const 2))"),
            ["multi-value"]
        );
    }

    #[test]
    fn missing_names_a_proposal_the_engine_leaves_off() {
        let binary = wat::parse_str("(module (tag $e) (func try catch $e end))").unwrap();
        let missing: Vec<_> = missing(&binary).iter().map(|p| p.name).collect();
        assert_eq!(missing, ["legacy-exception-handling"]);
        let runs = wat::parse_str("(module (tag $e) (func throw $e))").unwrap();
        assert!(super::missing(&runs).is_empty());
    }

    #[test]
    fn every_wasmtime_default_is_enabled() {
        // wasmtime 48's default set (`Config::features`): wasm 3.0 with GC types, exceptions
        // and threads, the cargo features hecaton builds it with.
        let engine: WasmFeatures = engine_flags()
            .filter(|(_, enabled)| *enabled)
            .fold(BASE, |features, (flag, _)| features | flag);
        let missing = (WasmFeatures::WASM3 | WasmFeatures::GC_TYPES) - engine;
        assert!(missing.is_empty(), "{missing:?}");
    }
}
