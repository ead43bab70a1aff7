//! The benchmark's component guest (`wit/world.wit`, world `square-world`): `square` alone, the
//! same function as `bench-tasks`' core `square`, for section 11a's comparison of a component's
//! task with a core module's.
//!
//! `no_std`, and wit-bindgen without its `std` feature: the component imports nothing, and a
//! panic (none can happen) is a trap, not a message to print. The same crate on `std` imports
//! nothing while it calls nothing of `std` (the linker drops what is unused), but one panic path
//! (`checked_mul(x).unwrap()`) links `std`'s panic message to stderr, and with it 13 WASI 0.2
//! interfaces. The whole component is 807 bytes: one core module of three functions, no data
//! segment, no element segment.

#![no_std]

wit_bindgen::generate!({ world: "square-world" });

/// The component: implements the world's one export.
struct Component;

export!(Component);

impl Guest for Component {
    fn square(x: i64) -> i64 {
        x.wrapping_mul(x)
    }
}

/// wit-bindgen links `alloc` (its runtime's helpers for lists and strings), which a `no_std`
/// cdylib must give an allocator: one that has no memory, as nothing here allocates (`square`
/// takes and returns a number, in wasm locals). An allocation would fail, and trap.
#[derive(Debug)]
struct NoAlloc;

// SAFETY: `alloc` returns null, which `GlobalAlloc` allows (the allocation failed); `dealloc` is
// never reached, as no pointer was ever handed out.
unsafe impl core::alloc::GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _: *mut u8, _: core::alloc::Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAlloc = NoAlloc;

/// Nothing here panics (`wrapping_mul` cannot), but a `no_std` crate names its handler: a trap.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
