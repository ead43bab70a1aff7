//! The guest half of the ABI: every pointer the SDK touches is handled here.

/// The allocator the host calls to place a task's input (`hecaton_alloc`). Returns null when the
/// memory cannot be had.
#[unsafe(no_mangle)]
pub extern "C" fn hecaton_alloc(len: usize) -> *mut u8 {
    let Ok(layout) = std::alloc::Layout::array::<u8>(len) else {
        return std::ptr::null_mut();
    };
    if layout.size() == 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: the layout's size is not zero, as `alloc` requires.
    unsafe { std::alloc::alloc(layout) }
}

/// The input bytes the host wrote at `ptr..ptr + len`.
///
/// # Safety
/// Unless `len` is 0, `ptr` must point to `len` initialized bytes that nothing writes or frees
/// for `'a`: what the host hands a task export (guest/abi/ABI.md), memory it allocated through
/// `hecaton_alloc` (never freed) and wrote the input into before the call.
pub(crate) unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees `len` initialized bytes at `ptr`, unchanged for `'a`.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Leaks `payload` and a result record pointing at it; returns the record's address. The
/// instance ends with the task, so nothing needs freeing.
pub(crate) fn result(status: u32, payload: Vec<u8>) -> *const u32 {
    let payload = payload.leak();
    let record = Box::leak(Box::new([
        status,
        payload.as_ptr() as usize as u32,
        payload.len() as u32,
    ]));
    record.as_ptr()
}

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "hecaton")]
    unsafe extern "C" {
        #[link_name = "task_id"]
        pub(super) safe fn task_id() -> i64;
        #[link_name = "attempt"]
        pub(super) safe fn attempt() -> i32;
        #[link_name = "panic"]
        pub(super) fn panic(ptr: *const u8, len: usize);
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn task_id() -> u64 {
    host::task_id() as u64
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn attempt() -> u32 {
    host::attempt() as u32
}

/// Makes a panic end the task as a guest error carrying the panic's message and location.
#[cfg(target_arch = "wasm32")]
pub(crate) fn install_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
            let message = match info.location() {
                Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
                None => message.to_owned(),
            };
            // SAFETY: the host reads `message.len()` bytes at its address, which are valid for
            // the call; `panic` never returns, so the string is never dropped under it.
            unsafe { host::panic(message.as_ptr(), message.len()) }
        }));
    });
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn task_id() -> u64 {
    u64::from(std::process::id())
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn attempt() -> u32 {
    1
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn install_panic_hook() {}
